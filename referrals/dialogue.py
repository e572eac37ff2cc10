"""The dialogue with the police (issue 14 §3; rules in docs/domain.md, "Rückfragen an die Polizei und
Anhänge der Polizei"): the office asks the filing station a question, the station answers it, and
police attach their own files to their referral or to one of its follow-ups.

Each service: keyword-only arguments, one transaction, the referral's row locked, the transition
table asked (``referrals.transitions``: QUESTION, ANSWER, POLICE_ATTACHMENT), a history event and the
notifications written to the outbox. Notifications name the reference and the agency that acted —
never the question, the answer, a file name or anyone of the family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import Membership, Role

from .access import ReferralAccess, Relation
from .dialogue_models import EVENT_LABELS, QUESTION_ANSWERED, QUESTION_ASKED, Question, event_label
from .models import Attachment, FollowUp, Referral, ReferralEvent
from .notifications import _office_people, _send
from .services import _check, _event, _lock, checked_upload_type
from .transitions import Action

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

__all__ = [
    "EVENT_LABELS",
    "QUESTION_ANSWERED",
    "QUESTION_ASKED",
    "event_label",
    "open_question_counts",
    "police_agency_ids",
    "police_attachment_add",
    "question_answer",
    "question_ask",
    "questions_for",
    "station_open_questions",
]


def police_agency_ids(referral: Referral) -> set[int]:
    """The police agencies of a referral: its filing station and its authority. What they attached is
    what police read of the attachments (``selectors.attachments_for``)."""
    return {referral.station_id, referral.police_authority_id}


def questions_for(access: ReferralAccess):
    """The questions of the referral to whom the dialogue belongs: its offices (responsible,
    receiving, and the sender of a pending hand-over) and its police (filing station, authority).
    Everyone else — the district coordinator, an individual grant — reads none."""
    if not (access.case_office_ids or access.is_police):
        return Question.objects.none()
    return access.referral.questions.select_related("asked_by", "answered_by", "office", "station")


def open_question_counts(referral_ids) -> dict[int, int]:
    """Open questions per referral, for the police list's badge: one query for one page of referrals
    (the partial index ``question_open_station`` holds only the open ones)."""
    if not referral_ids:
        return {}
    rows = (
        Question.objects.filter(referral_id__in=list(referral_ids), answered_at__isnull=True)
        .values_list("referral_id")
        .order_by()
    )
    counts: dict[int, int] = {}
    for (referral_id,) in rows:
        counts[referral_id] = counts.get(referral_id, 0) + 1
    return counts


def _text(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: [_("This field is required.")]})
    return text


@transaction.atomic
def question_ask(*, referral: Referral, user: User, text: str) -> Question:
    """The responsible office puts a question to the station that filed the referral; the station's
    officers (and the filing officer) are told in the application, the station's functional mailbox
    by e-mail."""
    locked = _lock(referral, None)
    _check(user, locked, Action.QUESTION)
    question = Question(
        referral=locked, office=locked.youth_office, station=locked.station, asked_by=user, text=_text(text, "text")
    )
    question.full_clean(exclude=["referral", "office", "station", "asked_by", "answered_by"])
    question.save()
    _event(locked, user, QUESTION_ASKED, question=question.pk)
    _notify_station_of_question(locked, question)
    return question


@transaction.atomic
def question_answer(*, question: Question, user: User, text: str) -> Question:
    """Police of the filing station (or authority) answer an open question; whoever asked and the
    assigned caseworker are told in the application, the asking office's mailbox by e-mail. A
    question is answered once."""
    locked = _lock(question.referral, None)
    _check(user, locked, Action.ANSWER)
    current = Question.objects.select_for_update().select_related("office").get(pk=question.pk)
    if current.answered_at is not None:
        raise ValidationError({"answer": [_("This question has already been answered.")]})
    current.answer, current.answered_by, current.answered_at = _text(text, "answer"), user, timezone.now()
    current.full_clean(exclude=["referral", "office", "station", "asked_by", "answered_by"])
    current.save(update_fields=["answer", "answered_by", "answered_at"])
    _event(locked, user, QUESTION_ANSWERED, question=current.pk)
    _notify_office_of_answer(locked, current)
    return current


@transaction.atomic
def police_attachment_add(
    *, referral: Referral, user: User, uploaded_file: UploadedFile, followup: FollowUp | None = None
) -> Attachment:
    """Police attach a PDF or image (e.g. their report) to their referral, or to one of its follow-ups:
    the same content sniffing, size limit and private storage as the office's attachments
    (``services.checked_upload_type``, ``Attachment.file``). The attachment belongs to the station
    (or, from the police coordinator, the authority); the office reads it, police read only what
    police attached."""
    locked = _lock(referral, None)
    access = _check(user, locked, Action.POLICE_ATTACHMENT)
    if followup is not None and followup.referral_id != locked.pk:
        raise ValidationError({"followup": [_("Choose a follow-up of this referral.")]})
    content_type = checked_upload_type(uploaded_file)
    agency = locked.station if access.has(Relation.FILING_STATION) else locked.police_authority
    attachment = Attachment(
        referral=locked, office=agency, uploaded_by=user, original_name=(uploaded_file.name or "")[:200],
        content_type=content_type, size=uploaded_file.size or 0, confidential=False, followup=followup,
    )  # fmt: skip
    attachment.file.save("upload", uploaded_file, save=False)
    attachment.save()
    _event(
        locked, user, ReferralEvent.Kind.ATTACHMENT, attachment=attachment.pk, police=True,
        followup=followup.pk if followup else None,
    )  # fmt: skip
    if locked.youth_office_id:
        _notify_office_of_police_attachment(locked)
    return attachment


# --- notifications: a reference, an agency and a link; never the text, a file name or a name -------


def _station_people(referral: Referral) -> list:
    """The active officers of the filing station, and the filing officer wherever they work now."""
    officers = [
        m.user
        for m in Membership.objects.active()
        .filter(agency_id=referral.station_id, role=Role.POLICE_OFFICER)
        .select_related("user")
        .order_by("user_id")
    ]
    return [*officers, referral.created_by] if referral.created_by.is_active else officers


def _notify_station_of_question(referral: Referral, question: Question) -> None:
    with translation.override("de"):
        values = {"reference": referral.reference, "office": question.office.name}
        subject = _("Referral %(reference)s: question from %(office)s") % values
        body = (
            _(
                "%(office)s has a question about referral %(reference)s. Please answer it in "
                "Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    station = referral.station
    _send(referral, "police_question", subject, body, users=_station_people(referral), emails=[station.email])


def _notify_office_of_answer(referral: Referral, question: Question) -> None:
    office = question.office
    with translation.override("de"):
        values = {"reference": referral.reference, "station": question.station.name}
        subject = _("Referral %(reference)s: answer from %(station)s") % values
        body = (
            _(
                "%(station)s has answered your question about referral %(reference)s. Read it in "
                "Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    users = [question.asked_by]
    if referral.assignee_id and referral.youth_office_id == office.pk:
        users.append(referral.assignee)
    _send(referral, "police_answer", subject, body, users=[u for u in users if u.is_active], emails=[office.email])


def _notify_office_of_police_attachment(referral: Referral) -> None:
    """The assigned caseworker, or the office's people if nobody is assigned (as for a follow-up)."""
    users = [referral.assignee] if referral.assignee_id else _office_people(referral.youth_office)
    with translation.override("de"):
        subject = _("Referral %(reference)s: new file from police") % {"reference": referral.reference}
        body = _("Referral %(reference)s has news for you. Open it in Kinderschutz-Kooperation (login required):") % {
            "reference": referral.reference
        }
    _send(referral, "police_attachment", subject, body, users=users, emails=[])


def station_open_questions(user) -> int:
    """How many questions wait for an answer of the person's stations and authorities: one count on
    the partial index of open questions (a handful per station at any time)."""
    actor = actor_of(user)
    stations, authorities = sorted(actor.station_ids), sorted(actor.authority_ids)
    if not (stations or authorities):
        return 0
    scope = Q(station_id__in=stations) | Q(referral__police_authority_id__in=authorities)
    return Question.objects.filter(scope, answered_at__isnull=True).count()
