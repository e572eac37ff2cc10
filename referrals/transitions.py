"""The casework state machine, declared once (issue 11 §2; rules in docs/domain.md, "Fallbearbeitung").

Each row says which action is possible in which statuses, for which relation to the referral
(``referrals.access.Relation``), whether only the lead of the responsible office may take it, and
which precondition must hold (a signed-off assessment, a pending one to sign off). The services call
``transition_check`` before they change anything; the pages and the API ask ``transitions_offered``
which actions to show — so a page offers exactly what the service accepts
(tests/test_transitions.py checks every status × relation).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .access import ReferralAccess, Relation
from .dialogue_models import Question
from .models import Status
from .screening_models import latest_screening
from .task_models import SignOffRequest, pending_sign_off

if TYPE_CHECKING:
    from .models import Assessment, Referral

__all__ = [
    "Action",
    "Transition",
    "TRANSITIONS",
    "latest_assessment",
    "transition_allowed",
    "transition_check",
    "transitions_offered",
]


class Action(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"  # the lead assigns anyone of the office
    TAKE_OVER = "take_over"  # a caseworker takes an unassigned case for themselves
    RERATE = "rerate"
    FORWARD = "forward"
    ACCEPT = "accept"
    RETURN = "return"
    SCREENING = "screening"  # issue 13 §1: Ersteinschätzung, weighty indications yes/no
    SCREENING_SIGN_OFF = "screening_sign_off"
    ASSESSMENT = "assessment"
    SIGN_OFF = "sign_off"
    CLOSE = "close"
    REOPEN = "reopen"
    EXPORT = "export"
    NOTE = "note"
    ATTACHMENT = "attachment"
    FOLLOWUP = "followup"
    ASSIGN_OFFICE = "assign_office"
    QUESTION = "question"  # issue 14 §3: the office asks the filing station (Rückfrage)
    ANSWER = "answer"  # the filing station answers an open question
    POLICE_ATTACHMENT = "police_attachment"  # police attach a file to their referral or a follow-up
    TASK = "task"  # issue 14 §1: a task with a due time on the case (referrals.followthrough)
    TASK_DONE = "task_done"  # marking an open task done: on a closed case too, where nothing else is allowed
    SIGN_OFF_REQUEST = "sign_off_request"  # issue 14 §2: the author asks a colleague to sign off
    SIGN_OFF_RETURN = "sign_off_return"  # the asked colleague sends it back with a comment


# Statuses in which the responsible office works on a case.
WORKING = (Status.SUBMITTED, Status.ACKNOWLEDGED, Status.IN_ASSESSMENT)
FILED = (Status.SUBMITTED, Status.TRIAGE, Status.ACKNOWLEDGED, Status.IN_ASSESSMENT, Status.FORWARDED, Status.CLOSED)
OFFICE = frozenset({Relation.OWN_OFFICE})
RECEIVING = frozenset({Relation.RECEIVING_OFFICE})
POLICE = frozenset({Relation.FILING_STATION, Relation.AUTHORITY})
COORDINATOR = frozenset({Relation.COORDINATOR})


def latest_assessment(referral: Referral) -> Assessment | None:
    return referral.assessments.order_by("-created_at", "-id").first()


def is_closeable(referral: Referral, latest: Assessment | None) -> bool:
    """The close rule: the latest assessment is signed off — after the last reopening, if any."""
    return (
        latest is not None
        and latest.is_complete
        and not (
            referral.reopened_at is not None
            and latest.signed_off_at is not None
            and latest.signed_off_at < referral.reopened_at
        )
    )


Precondition = Callable[[ReferralAccess, "Assessment | None"], Exception | None]


def _unassigned(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    if access.referral.assignee_id is not None:
        return PermissionDenied(_("Only the office lead assigns cases; a caseworker may take an unassigned case."))
    return None


def _not_signed_off(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    # A signed-off assessment stands: the case is closed on it, or reopened to assess again.
    if is_closeable(access.referral, latest):
        return ValidationError({"assessment": [_("The risk assessment is signed off; close the case.")]})
    return None


def _pending_of_another(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    if latest is None or latest.is_complete:
        return ValidationError({"assessment": [_("There is no assessment waiting for sign-off.")]})
    if latest.author_id == access.actor.pk:
        return PermissionDenied(_("A second professional must sign the assessment off, not its author."))
    return None


def _closeable(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    if not is_closeable(access.referral, latest):
        return ValidationError({"assessment": [_("Close only after a signed-off risk assessment.")]})
    return None


def _screening_pending_of_another(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    """A screening "no" waits for the sign-off of a second professional (docs/domain.md, "Ersteinschätzung")."""
    screening = latest_screening(access.referral)
    if screening is None or not screening.awaits_sign_off:
        return ValidationError({"screening": [_("There is no screening without weighty indications to sign off.")]})
    if screening.author_id == access.actor.pk:
        return PermissionDenied(_("A second professional must sign the screening off, not its author."))
    return None


def _open_question(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    """An answer needs a question of the office that is still open (referrals.dialogue)."""
    if not Question.objects.filter(referral=access.referral, answered_at__isnull=True).exists():
        return ValidationError({"answer": [_("There is no open question of the youth office.")]})
    return None


def _own_pending_sign_off(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    """Only the author asks for a sign-off of what waits for one (docs/domain.md "Bitte um Gegenzeichnung")."""
    pending = pending_sign_off(access.referral, latest)
    if pending is None:
        return ValidationError({"to": [_("Nothing on this case waits for a sign-off.")]})
    if pending[1].author_id != access.actor.pk:
        return PermissionDenied(_("Only its author asks for a sign-off."))
    return None


def _asked_to_sign_off(access: ReferralAccess, latest: Assessment | None) -> Exception | None:
    """Sending back needs an open request to this person (named, or to any colleague), not their own."""
    pending = pending_sign_off(access.referral, latest)
    request = None
    if pending is not None:
        request = SignOffRequest.objects.filter(
            referral=access.referral, subject=pending[0], object_id=pending[1].pk, state=SignOffRequest.State.OPEN
        ).first()
    if request is None:
        return ValidationError({"comment": [_("Nobody has asked for a sign-off here.")]})
    if request.requested_by_id == access.actor.pk or request.requested_to_id not in (None, access.actor.pk):
        return PermissionDenied(_("Only the colleague asked for the sign-off sends it back."))
    return None


@dataclass(frozen=True)
class Transition:
    action: Action
    statuses: tuple[str, ...]
    relations: frozenset[Relation]
    denied: Any  # (lazy) text: why someone without the relation (or role) is refused: PermissionDenied
    lead_only: bool = False  # only the lead of the responsible office
    not_lead: bool = False  # only people who are not its lead (they have ``lead_only`` rows instead)
    precondition: Precondition | None = None
    wrong_status: Any = ""  # (lazy) text: what to say in another status (default: "not possible while …")
    uses_assessment: bool = False  # the precondition reads the latest assessment


_OFFICE_ONLY = gettext_lazy("Only the responsible youth office may do this.")
_RECEIVING_ONLY = _OFFICE_ONLY

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.ACKNOWLEDGE, (Status.SUBMITTED,), OFFICE, _OFFICE_ONLY),
    Transition(Action.ASSIGN, WORKING, OFFICE, _OFFICE_ONLY, lead_only=True),
    Transition(
        Action.TAKE_OVER,
        WORKING,
        OFFICE,
        gettext_lazy("Only the office lead assigns cases; a caseworker may take an unassigned case."),
        not_lead=True,
        precondition=_unassigned,
    ),
    Transition(Action.RERATE, WORKING, OFFICE, _OFFICE_ONLY),
    Transition(Action.FORWARD, WORKING, OFFICE, _OFFICE_ONLY),
    Transition(Action.ACCEPT, (Status.FORWARDED,), RECEIVING, _RECEIVING_ONLY),
    Transition(Action.RETURN, (Status.FORWARDED,), RECEIVING, _RECEIVING_ONLY),
    Transition(Action.SCREENING, (Status.ACKNOWLEDGED,), OFFICE, _OFFICE_ONLY),
    Transition(
        Action.SCREENING_SIGN_OFF,
        (Status.ACKNOWLEDGED,),
        OFFICE,
        _OFFICE_ONLY,
        precondition=_screening_pending_of_another,
    ),
    Transition(
        Action.ASSESSMENT,
        (Status.ACKNOWLEDGED, Status.IN_ASSESSMENT),
        OFFICE,
        _OFFICE_ONLY,
        precondition=_not_signed_off,
        uses_assessment=True,
    ),
    Transition(
        Action.SIGN_OFF,
        (Status.IN_ASSESSMENT,),
        OFFICE,
        _OFFICE_ONLY,
        precondition=_pending_of_another,
        uses_assessment=True,
    ),
    Transition(
        Action.CLOSE, (Status.IN_ASSESSMENT,), OFFICE, _OFFICE_ONLY, precondition=_closeable, uses_assessment=True
    ),
    Transition(Action.REOPEN, (Status.CLOSED,), OFFICE, _OFFICE_ONLY, lead_only=True),
    Transition(
        Action.EXPORT,
        (Status.TRIAGE,),
        COORDINATOR,
        gettext_lazy("Only the district coordinator hands over referrals from the triage queue."),
    ),
    Transition(Action.EXPORT, WORKING, OFFICE, _OFFICE_ONLY, lead_only=True),
    Transition(Action.NOTE, (*WORKING, Status.CLOSED), OFFICE, _OFFICE_ONLY),
    Transition(Action.ATTACHMENT, (*WORKING, Status.CLOSED), OFFICE, _OFFICE_ONLY),
    Transition(
        Action.FOLLOWUP,
        FILED,
        POLICE,
        gettext_lazy("Only police of the filing station add follow-ups."),
        wrong_status=gettext_lazy("Submit the referral first; a draft can simply be edited."),
    ),
    Transition(
        Action.ASSIGN_OFFICE,
        (Status.TRIAGE,),
        COORDINATOR,
        gettext_lazy("Only the district coordinator assigns referrals from the triage queue."),
        wrong_status=gettext_lazy("This referral is no longer in the triage queue."),
    ),
    # The dialogue with the police (docs/domain.md "Rückfragen an die Polizei und Anhänge der Polizei").
    Transition(Action.QUESTION, WORKING, OFFICE, _OFFICE_ONLY),
    Transition(
        Action.ANSWER,
        FILED,
        POLICE,
        gettext_lazy("Only police of the filing station answer questions of the youth office."),
        precondition=_open_question,
    ),
    Transition(
        Action.POLICE_ATTACHMENT,
        FILED,
        POLICE,
        gettext_lazy("Only police of the filing station attach files to their referral."),
        wrong_status=gettext_lazy("Submit the referral first; a draft can simply be edited."),
    ),
    # Follow-through in the office (docs/domain.md "Wiedervorlage und Aufgaben", "Bitte um Gegenzeichnung").
    Transition(Action.TASK, WORKING, OFFICE, _OFFICE_ONLY),
    # An open task of a closed case may still be ticked off: it would otherwise stay overdue in "Meine
    # Aufgaben" for good (the reminders skip closed cases). Nothing else about it changes.
    Transition(Action.TASK_DONE, (*WORKING, Status.CLOSED), OFFICE, _OFFICE_ONLY),
    Transition(
        Action.SIGN_OFF_REQUEST,
        (Status.ACKNOWLEDGED, Status.IN_ASSESSMENT),
        OFFICE,
        _OFFICE_ONLY,
        precondition=_own_pending_sign_off,
        uses_assessment=True,
    ),
    Transition(
        Action.SIGN_OFF_RETURN,
        (Status.ACKNOWLEDGED, Status.IN_ASSESSMENT),
        OFFICE,
        _OFFICE_ONLY,
        precondition=_asked_to_sign_off,
        uses_assessment=True,
    ),
)

_BY_ACTION: dict[Action, tuple[Transition, ...]] = {
    action: tuple(t for t in TRANSITIONS if t.action == action) for action in Action
}


def _acts_in(access: ReferralAccess, transition: Transition) -> bool:
    """Whether the person holds the relation (and role) the row asks for. The responsible office of
    a case forwarded elsewhere does not act on it: it is read-only there until the other office
    accepts or returns it."""
    relations = set(access.relations) & transition.relations
    if access.case_role == "sender":
        relations.discard(Relation.OWN_OFFICE)
    if not relations:
        return False
    if transition.lead_only and not access.is_lead:
        return False
    return not (transition.not_lead and access.is_lead)


def _refusal(access: ReferralAccess, action: Action, latest: Assessment | None) -> Exception | None:
    """Why ``action`` is not possible now, as the exception the service raises; None if it is.
    Order: the relation (403), the status (400), the precondition."""
    rows = _BY_ACTION[Action(action)]
    mine = [t for t in rows if _acts_in(access, t)]
    if not mine:
        if access.case_role == "sender" and any(Relation.OWN_OFFICE in t.relations for t in rows):
            return PermissionDenied(
                _("The case has been forwarded; until the other office accepts or returns it, it is read-only here.")
            )
        # The relation is there and only the lead's role is missing: say so (the row, lead role lifted).
        if any(_acts_in(access, replace(t, lead_only=False)) for t in rows if t.lead_only):
            return PermissionDenied(_("Only the lead of the responsible youth office may do this."))
        return PermissionDenied(str(rows[0].denied))
    status = access.referral.status
    now = [t for t in mine if status in t.statuses]
    if not now:
        message = mine[0].wrong_status
        if message:
            return ValidationError({"status": [str(message)]})
        return ValidationError(
            {
                "status": [
                    _("Not possible while the referral’s status is “%(status)s”.")
                    % {"status": access.referral.get_status_display()}
                ]
            }
        )
    transition = now[0]
    if transition.precondition is not None:
        return transition.precondition(access, latest)
    return None


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET = _Unset.UNSET  # "the caller did not say": the latest assessment is read when needed
Latest: TypeAlias = "Assessment | None | _Unset"


def transition_check(access: ReferralAccess, action: Action, *, latest: Latest = _UNSET) -> None:
    """Raise what the service answers when ``action`` is not possible for ``access`` now:
    PermissionDenied for the wrong relation or role, ValidationError for the status or a failed
    precondition. ``latest``: the latest assessment, if the caller has it (else read when needed)."""
    refusal = _refusal(access, action, _latest(access, action, latest))
    if refusal is not None:
        raise refusal


def transition_allowed(access: ReferralAccess, action: Action, *, latest: Latest = _UNSET) -> bool:
    return _refusal(access, action, _latest(access, action, latest)) is None


def transitions_offered(access: ReferralAccess, *, latest: Latest = _UNSET) -> set[Action]:
    """Every action ``access`` may take on its referral now: what pages and API offer."""
    if latest is _UNSET and any(t.uses_assessment for t in TRANSITIONS if t.relations & set(access.relations)):
        latest = latest_assessment(access.referral)
    return {action for action in Action if transition_allowed(access, action, latest=latest)}


def transitions_of(access: ReferralAccess) -> set[Action]:
    """The actions whose relation and role ``access`` holds, whatever the status: a page refuses
    (403) a form for any other action before parsing it."""
    return {t.action for t in TRANSITIONS if _acts_in(access, t)}


def _latest(access: ReferralAccess, action: Action, latest: Latest) -> Assessment | None:
    if not isinstance(latest, _Unset):
        return latest
    if any(t.uses_assessment for t in _BY_ACTION[Action(action)]):
        return latest_assessment(access.referral)
    return None
