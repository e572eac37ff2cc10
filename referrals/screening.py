"""The screening (Ersteinschätzung) services (issue 13 §1; docs/domain.md, "Ersteinschätzung").

Like every casework service: keyword-only arguments, one transaction, the referral's row lock and
version check, the transition table's check, a history event, the police feedback through the
outbox. A screening "yes" moves the case to the full § 8a assessment; a "no" waits for the sign-off
of a second professional of the office, which closes the case without an assessment. The police
learn only the coded status ("in progress", "closed"), never the screening.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import followthrough
from . import notifications as referral_notifications
from .models import Referral, ReferralEvent, Status
from .retention_outcome import retention_outcome_store
from .screening_models import NextStep, Screening
from .services import _check, _event, _lock, _save
from .task_models import SignOffSubject
from .transitions import Action

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The code a case closed by a screening carries in its "closed" event (not an assessment outcome).
SCREENED_OUT = "screened_out"


def screening_errors(*, weighty_indications: bool | None, reason: str, next_step: str) -> dict[str, list[str]]:
    """What is missing or contradictory in a screening, by field (pages and API show them at the field)."""
    errors: dict[str, list[str]] = {}
    if weighty_indications is None:
        errors["weighty_indications"] = [_("Say whether there are weighty indications of a risk.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Give a reason.")]
    if weighty_indications is False and next_step not in NextStep.values:
        errors["next_step"] = [_("Without weighty indications, choose the next step.")]
    if weighty_indications and next_step:
        errors["next_step"] = [
            _("With weighty indications the next step is the risk assessment; leave the next step empty.")
        ]
    return errors


@transaction.atomic
def screening_save(
    *,
    referral: Referral,
    user: User,
    weighty_indications: bool | None,
    reason: str,
    next_step: str = "",
    expected_version: int | None = None,
) -> Screening:
    """Record the screening of an acknowledged case. "Yes" opens the § 8a assessment (status "in
    assessment"); "no" waits for a second professional's sign-off. Recording again replaces an
    unsigned "no" (the earlier one stays in the history)."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.SCREENING)
    errors = screening_errors(weighty_indications=weighty_indications, reason=reason, next_step=next_step or "")
    if errors:
        raise ValidationError(errors)
    screening = Screening(
        referral=locked,
        author=user,
        weighty_indications=bool(weighty_indications),
        reason=reason.strip(),
        next_step="" if weighty_indications else next_step,
    )
    screening.full_clean(exclude=["referral", "author", "signed_off_by"])
    screening.save()
    _event(
        locked,
        user,
        ReferralEvent.Kind.SCREENED,
        screening=screening.pk,
        weighty_indications=screening.weighty_indications,
        next_step=screening.next_step,
    )
    if screening.weighty_indications:
        locked.status = Status.IN_ASSESSMENT
        _save(locked, "status")
        referral_notifications.notify_police_of_status(locked)
    else:
        _save(locked)
    followthrough.signoff_requests_settle(locked)  # a request to sign the replaced decision ends
    return screening


@transaction.atomic
def screening_sign_off(*, referral: Referral, user: User, expected_version: int | None = None) -> Screening:
    """Four eyes: a second professional of the office signs the screening "no" off; the case is closed
    without a § 8a assessment (and produces no statistics record). Police learn "closed"."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.SCREENING_SIGN_OFF)
    screening = locked.screenings.select_for_update().order_by("-created_at", "-id").first()
    assert screening is not None  # the transition's precondition: a "no" waits for sign-off
    now = timezone.now()
    screening.signed_off_by, screening.signed_off_at = user, now
    screening.save(update_fields=["signed_off_by", "signed_off_at"])
    locked.status, locked.closed_at = Status.CLOSED, now
    _save(locked, "status", "closed_at")
    _event(locked, user, ReferralEvent.Kind.SCREENING_SIGNED_OFF, screening=screening.pk)
    followthrough.signoff_requests_resolve(locked, user, subject=SignOffSubject.SCREENING, object_id=screening.pk)
    _event(locked, user, ReferralEvent.Kind.CLOSED, outcome=SCREENED_OUT, next_step=screening.next_step)
    retention_outcome_store(locked)
    referral_notifications.notify_police_of_status(locked)
    return screening
