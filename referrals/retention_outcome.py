"""The outcome that decides a closed referral's retention (docs/domain.md "Aufbewahrung und Sitzungen").

One rule, in one place: the outcome of the last signed-off assessment; without one ``handed_over``
if the referral was exported (handed over outside the system), else ``none``. The closing services
(``services.referral_close``, ``services.referral_export``, ``screening.screening_sign_off``) store
it on the referral in the closing transaction with ``retention_outcome_store``; reopening empties it
(``services.referral_reopen``). Retention (``referrals.retention``) reads the stored column through
an index instead of computing it per referral (issue 12). Its own module because ``retention``
imports ``statistics``, which imports ``services``: the services could not import ``retention``.
"""

from django.db.models import Case, CharField, Exists, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

from .models import Assessment, Referral, ReferralEvent, RetentionOutcome


def retention_outcome_expression():
    """The outcome that decides a referral's retention, computed in the database: the outcome of the
    last signed-off assessment; without one ``handed_over`` if it was exported, else ``none``."""
    signed = (
        Assessment.objects.filter(referral=OuterRef("pk"), signed_off_at__isnull=False)
        .order_by("-signed_off_at", "-id")
        .values("outcome")[:1]
    )
    exported = ReferralEvent.objects.filter(referral=OuterRef("pk"), kind=ReferralEvent.Kind.EXPORTED)
    return Coalesce(
        Subquery(signed, output_field=CharField()),
        Case(
            When(Exists(exported), then=Value(RetentionOutcome.HANDED_OVER.value)),
            default=Value(RetentionOutcome.NONE.value),
            output_field=CharField(),
        ),
    )


def retention_outcome_store(referral: Referral) -> str:
    """Compute the outcome of ``referral`` (locked and being closed, its events and assessments
    written) and store it on the row and the instance; returns it."""
    outcome = (
        Referral.objects.filter(pk=referral.pk)
        .annotate(outcome=retention_outcome_expression())
        .values_list("outcome", flat=True)
        .get()
    )
    Referral.objects.filter(pk=referral.pk).update(retention_outcome=outcome)
    referral.retention_outcome = outcome
    return outcome
