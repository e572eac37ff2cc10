"""State changes of referrals. Each service: keyword-only arguments, one transaction, row lock and
status check, a history event, and the notifications it causes written to the outbox."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, ProgrammingError, connection, models, transaction
from django.db.models import F
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from agencies.actor import actor_of
from agencies.directory import coordination_office_of
from agencies.models import POLICE_ROLES, Agency, AgencyKind, Role
from agencies.routing import TriageReason, route_address
from core.errors import StaleVersion
from core.text import normalize_name

from . import followthrough
from . import notifications as referral_notifications
from .access import ReferralAccess, referral_access
from .assessment_children import assessment_parts_save, overall_outcome, parts_build, professionals_check
from .clocks import acknowledgement_due, is_overdue, triage_due
from .models import (
    URGENCY_RANK,
    Assessment,
    Attachment,
    Child,
    ChildFingerprint,
    FollowUp,
    Note,
    Person,
    ReferenceCounter,
    Referral,
    ReferralEvent,
    Status,
    Urgency,
)
from .notifications import AlertCause, PoliceChange
from .retention_outcome import retention_outcome_store
from .task_models import SignOffSubject
from .transitions import Action, latest_assessment, transition_check

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

M = TypeVar("M", bound=models.Model)

REFERRAL_FIELDS = (
    "police_case_number", "callback_phone", "urgency", "incident_at", "incident_location", "callout_reason",
    "concerns", "facts_observed", "facts_reported", "children_present", "injuries", "home_condition",
    "police_measures", "residence_ban_until", "risk_factors", "risk_notes", "parents_informed",
    "parents_not_informed_reason",
    "household_street", "household_house_number", "household_postcode", "household_city",
)  # fmt: skip
CHILD_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "whereabouts",
    "school_or_kita",
    "address_if_different",
)
PERSON_FIELDS = (
    "role", "first_name", "last_name", "date_of_birth", "phone", "address", "relation_to_child",
    "has_custody", "is_suspect",
)  # fmt: skip


def filing_agency_for(user: User) -> Agency:
    """The police agency a person files for: their station (officer) or authority (coordinator).
    The station is always taken from the membership, never from the request."""
    police = actor_of(user).in_roles(*POLICE_ROLES)
    for membership in sorted(police, key=lambda m: (m.role != Role.POLICE_OFFICER, m.agency_id)):
        return membership.agency
    raise PermissionDenied(_("Only police officers and police coordinators file referrals."))


def submission_errors(*, referral: Referral, children: list[Child], persons: list[Person]) -> dict[str, list[str]]:
    """What a referral still lacks before it can be submitted, keyed by field path
    (``children.0.last_name``). Field formats are checked by the model validators; this adds what a
    draft may leave open but a submitted referral must have."""
    required = _("This field is required.")
    errors: dict[str, list[str]] = {}

    def need(path: str, value: object) -> None:
        if value in (None, "", []):
            errors.setdefault(path, []).append(required)

    for name in (
        "police_case_number", "incident_at", "incident_location", "urgency", "children_present",
        "household_street", "household_postcode", "household_city", "callback_phone",
    ):  # fmt: skip
        need(name, getattr(referral, name))
    if not referral.concerns:
        errors.setdefault("concerns", []).append(_("Choose at least one concern."))
    if not (referral.facts_observed.strip() or referral.facts_reported.strip()):
        errors.setdefault("facts_observed", []).append(_("Describe what police observed or what was reported."))
    if referral.parents_informed is None:
        errors.setdefault("parents_informed", []).append(_("Say whether the parents were informed."))
    elif referral.parents_informed is False and not referral.parents_not_informed_reason.strip():
        errors.setdefault("parents_not_informed_reason", []).append(
            _("Give the reason why the parents were not informed.")
        )
    if not children:
        errors.setdefault("children", []).append(_("Add at least one child."))
    for index, child in enumerate(children):
        need(f"children.{index}.first_name", child.first_name.strip())
        need(f"children.{index}.last_name", child.last_name.strip())
    for index, person in enumerate(persons):
        need(f"persons.{index}.role", person.role)
        need(f"persons.{index}.last_name", person.last_name.strip())
    return errors


def _next_reference(authority: Agency) -> str:
    """The next reference of ``authority`` in the current year, e.g. KPB-ME-2026-00042.

    On PostgreSQL the number comes from a sequence per authority and year (``nextval`` takes no row
    lock, so concurrent filings of one authority do not wait for each other's commit); a number
    drawn by a filing that is rolled back is not reused, so references can have gaps. On SQLite,
    where writes are serialised anyway, a counter row (``ReferenceCounter``) hands out the numbers
    without gaps."""
    year = timezone.localdate().year
    if connection.vendor == "postgresql":
        value = _next_reference_value_from_sequence(authority, year)
    else:
        value = _next_reference_value_from_counter(authority, year)
    return f"{authority.code}-{year}-{value:05d}"


def _next_reference_value_from_sequence(authority: Agency, year: int) -> int:
    name = f"referral_reference_{int(authority.pk)}_{int(year)}"
    with connection.cursor() as cursor:
        for _attempt in range(3):
            try:
                with transaction.atomic():  # a savepoint: the error must not abort the filing
                    cursor.execute("SELECT nextval(%s)", [name])
                    return int(cursor.fetchone()[0])
            except ProgrammingError:  # the sequence does not exist yet (first filing of the year)
                pass
            # A counter row from before the sequences existed: continue after its last number.
            counter = ReferenceCounter.objects.filter(prefix=authority.code, year=year).first()
            start = counter.last_value + 1 if counter else 1
            try:
                with transaction.atomic():  # a concurrent creation fails here, not the whole filing
                    cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {int(start)}")
            except IntegrityError:
                continue  # created at the same moment by another filing: draw from it
    raise RuntimeError("reference sequence could not be created")


def _next_reference_value_from_counter(authority: Agency, year: int) -> int:
    for _attempt in range(3):
        updated = ReferenceCounter.objects.filter(prefix=authority.code, year=year).update(
            last_value=F("last_value") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    ReferenceCounter.objects.create(prefix=authority.code, year=year, last_value=1)
            except IntegrityError:
                continue  # created by a concurrent request: increment instead
        return ReferenceCounter.objects.get(prefix=authority.code, year=year).last_value
    raise RuntimeError("reference counter contention")


def _apply(referral: Referral, fields: dict[str, Any]) -> None:
    for name in REFERRAL_FIELDS:
        if name in fields:
            value = fields[name]
            if value is None and name not in ("incident_at", "parents_informed", "residence_ban_until"):
                value = [] if name in ("concerns", "police_measures", "risk_factors") else ""
            setattr(referral, name, value)
    referral.urgency_rank = URGENCY_RANK.get(Urgency(referral.urgency), 9) if referral.urgency else 9


def _build(model: type[M], field_names: tuple[str, ...], rows: list[dict[str, Any]]) -> list[M]:
    objects = []
    for row in rows:
        obj = model(**{k: row[k] for k in field_names if k in row and row[k] is not None})
        objects.append(obj)
    return objects


def _check_fields(referral: Referral, children: list[Child], persons: list[Person]) -> None:
    """Run the model validators on every object (formats, lengths, dates not in the future)."""
    errors: dict[str, list[str]] = {}
    exclude = ["reference", "police_authority", "station", "created_by", "referral", "youth_office"]
    for prefix, objs in (("", [referral]), ("children", children), ("persons", persons)):
        for index, obj in enumerate(objs):
            try:
                obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    path = f"{prefix}.{index}.{field}" if prefix else field
                    errors.setdefault(path, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _save_parts(referral: Referral, children: list[Child], persons: list[Person]) -> None:
    referral.children.all().delete()
    referral.persons.all().delete()
    for child in children:
        child.referral = referral
    for person in persons:
        person.referral = referral
    Child.objects.bulk_create(children)
    Person.objects.bulk_create(persons)


@transaction.atomic
def referral_save(
    *,
    user: User,
    fields: dict[str, Any],
    children: list[dict[str, Any]],
    persons: list[dict[str, Any]],
    submit: bool,
    referral: Referral | None = None,
) -> Referral:
    """Create a new referral or update a draft of ``user``'s, and submit it when ``submit``.

    Either everything is saved or nothing: a submission with gaps raises ``ValidationError`` keyed
    by field path and leaves the database as it was.
    """
    if referral is not None:
        # The draft rule before the filing agency's: a caseworker changing a submitted referral was told
        # that only police "file referrals" (QA of 2026-12-05).
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.status != Status.DRAFT or referral.created_by_id != user.pk:
            raise PermissionDenied(_("Only the author can change a draft, and only before it is submitted."))
    station = filing_agency_for(user)
    if referral is None:
        referral = Referral(
            created_by=user, station=station, police_authority=station.police_authority, status=Status.DRAFT
        )
    _apply(referral, fields)
    child_objs = _build(Child, CHILD_FIELDS, children)
    person_objs = _build(Person, PERSON_FIELDS, persons)
    _check_fields(referral, child_objs, person_objs)
    if submit:
        errors = submission_errors(referral=referral, children=child_objs, persons=person_objs)
        if errors:
            raise ValidationError(errors)

    created = referral.pk is None
    if created:
        referral.reference = _next_reference(referral.police_authority)
    else:
        referral.version += 1
    referral.save()
    _save_parts(referral, child_objs, person_objs)
    ReferralEvent.objects.create(
        referral=referral, actor=user, kind=ReferralEvent.Kind.CREATED if created else ReferralEvent.Kind.UPDATED
    )
    if submit:
        _route_and_submit(referral, user)
    return referral


def _route_and_submit(referral: Referral, user: User) -> None:
    # The whole instance: the child's address decides the office, whichever district the filing
    # police belong to (docs/jurisdiction.md); what cannot be resolved goes to the triage queue of
    # the filing police's district (``_triage_clock``, ``Referral.objects.visible_to``).
    result = route_address(postcode=referral.household_postcode, city=referral.household_city)
    referral.submitted_at = timezone.now()
    if result.office is not None:
        referral.status = Status.SUBMITTED
        referral.youth_office = result.office
        referral.triage_reason = referral.triage_detail = ""
        _start_clock(referral, received_at=referral.submitted_at or timezone.now())
    else:
        referral.status = Status.TRIAGE
        referral.youth_office = None
        referral.triage_reason = result.reason
        referral.triage_detail = result.detail[:300]
        coordination = _triage_clock(referral)
    referral.save(
        update_fields=[
            "status", "youth_office", "triage_reason", "triage_detail", "submitted_at", "received_at", "due_at",
            "updated_at",
        ]
    )  # fmt: skip
    if result.office is not None:
        ReferralEvent.objects.create(
            referral=referral, actor=user, kind=ReferralEvent.Kind.SUBMITTED, data={"youth_office": result.office.pk}
        )
        _repeat_check(referral, user)
        referral_notifications.notify_office_of_new_referral(referral)
        if referral.urgency == Urgency.IMMEDIATE:
            referral_notifications.alert_oncall(referral, result.office, cause=AlertCause.RECEIVED, actor=user)
    else:
        ReferralEvent.objects.create(
            referral=referral, actor=user, kind=ReferralEvent.Kind.TRIAGED, data={"reason": result.reason}
        )
        referral_notifications.notify_coordination_of_triage(referral)
        if referral.urgency == Urgency.IMMEDIATE and coordination is not None:
            referral_notifications.alert_oncall(referral, coordination, cause=AlertCause.TRIAGE, actor=user)


def _triage_clock(referral: Referral) -> Agency | None:
    """An immediate referral in the triage queue carries the coordination office's triage clock
    (``due_at``, default 1 hour round the clock); the others wait without one. Returns the
    district's coordination office (None if the district has none)."""

    coordination = coordination_office_of(referral.police_authority.district_id)
    referral.received_at = None
    referral.due_at = None
    if referral.urgency == Urgency.IMMEDIATE:
        referral.due_at = triage_due(coordination=coordination, received_at=referral.submitted_at or timezone.now())
    return coordination


CASE_NUMBER_REFERENCES_SHOWN = 5


def referral_case_number_warnings(*, referral: Referral, user: User) -> list[str]:
    """A warning — not a refusal — when the police authority already filed another referral under the
    same police case number (compared ignoring case and surrounding spaces): one operation can concern
    two households, so it is for the officer to check. Names the earlier references ``user`` may see
    and only counts the others."""
    number = (referral.police_case_number or "").strip()
    if not number:
        return []
    earlier = (
        Referral.objects.filter(police_authority_id=referral.police_authority_id, police_case_number__iexact=number)
        .exclude(pk=referral.pk)
        .exclude(status=Status.DRAFT)
    )
    count = earlier.count()
    if not count:
        return []
    shown = list(
        Referral.objects.visible_to(user)
        .filter(pk__in=earlier.values("pk"))
        .order_by("-created_at", "-id")
        .values_list("reference", flat=True)[:CASE_NUMBER_REFERENCES_SHOWN]
    )
    references = ", ".join(shown)
    if count > len(shown):
        hidden = count - len(shown)
        more = ngettext("%(count)d more", "%(count)d more", hidden) % {"count": hidden}
        references = f"{references}, {more}" if references else more
    return [
        ngettext(
            "Your authority already filed a referral under the police case number %(number)s (%(references)s). "
            "Please check that this one concerns another household.",
            "Your authority already filed %(count)d referrals under the police case number %(number)s "
            "(%(references)s). Please check that this one concerns another household.",
            count,
        )
        % {"count": count, "number": number, "references": references}
    ]


@transaction.atomic
def referral_assign_office(*, referral: Referral, user: User, office: Agency) -> Referral:
    """The district coordinator hands a referral from the triage queue to a youth office."""
    locked: Referral = (
        Referral.objects.select_for_update(of=("self",)).select_related("police_authority").get(pk=referral.pk)
    )
    _check(user, locked, Action.ASSIGN_OFFICE)
    if office.kind != AgencyKind.YOUTH_OFFICE or not office.is_active:
        raise ValidationError({"youth_office": [_("Choose an active youth office.")]})
    locked.status = Status.SUBMITTED
    locked.youth_office = office
    locked.version += 1
    _start_clock(locked, received_at=timezone.now())
    locked.save(update_fields=["status", "youth_office", "version", "received_at", "due_at", "updated_at"])
    ReferralEvent.objects.create(
        referral=locked,
        actor=user,
        kind=ReferralEvent.Kind.OFFICE_ASSIGNED,
        data={"youth_office": office.pk, "triage_reason": locked.triage_reason},
    )
    _repeat_check(locked, user)
    referral_notifications.notify_office_of_new_referral(locked)
    if locked.urgency == Urgency.IMMEDIATE:  # the office's on-call, as for a directly routed one
        referral_notifications.alert_oncall(locked, office, cause=AlertCause.ASSIGNED, actor=user)
    return locked


__all__ = [
    "TriageReason",
    "filing_agency_for",
    "referral_assign_office",
    "referral_save",
    "submission_errors",
]


# --- Casework (§ 8a SGB VIII) ----------------------------------------------------------------------


class Conflict(StaleVersion):
    """Someone else changed the referral since the caller loaded it (``expected_version`` differs).
    Nothing was written; the caller reloads and decides again (the API answers 409 or 412)."""

    def __init__(self, current_version: int):
        super().__init__(
            _("This referral was changed by someone else in the meantime. Reload it and try again."), current_version
        )


def _start_clock(referral: Referral, *, received_at: datetime.datetime) -> None:
    """The office's acknowledgement clock starts when the referral reaches it."""
    office = referral.youth_office
    if office is None:  # routing and forwarding set the office before the clock starts
        raise ValueError("an acknowledgement clock runs only at a youth office")
    referral.received_at = received_at
    referral.due_at = acknowledgement_due(office=office, urgency=referral.urgency, received_at=received_at)


def _lock(referral: Referral, expected_version: int | None) -> Referral:
    """Lock the referral's row and compare the caller's ``expected_version`` at once, before any
    rights or status check: when the caller's version is stale, the competing change may be exactly
    what makes the action impossible now (acknowledged, assigned, forwarded), and only a conflict
    tells the client to reload and decide again — a 400 or 403 about a state it never saw would
    not (issue 10 § 9). This discloses nothing: callers reach a service only through the referral's
    scope (out of scope stays 404), and in scope the version is readable anyway (``ETag``)."""
    locked: Referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("youth_office", "forwarded_to")
        .get(pk=referral.pk)
    )
    if expected_version is not None and int(expected_version) != locked.version:
        raise Conflict(locked.version)
    return locked


def _check(user: User, referral: Referral, action: Action, **latest: Any) -> ReferralAccess:
    """Refuse ``action`` unless the transition table allows it to ``user`` on the locked referral
    now (``referrals.transitions``: relation and role 403, status and precondition 400)."""
    access = referral_access(user, referral)
    transition_check(access, action, **latest)
    return access


def _save(referral: Referral, *fields: str) -> None:
    """Write the locked referral with a new version (the caller's version was checked by ``_lock``,
    and the row lock keeps it current until commit)."""
    referral.version += 1
    referral.save(update_fields=[*fields, "version", "updated_at"])


def _event(referral: Referral, user: User | None, kind: str, **data: Any) -> None:
    ReferralEvent.objects.create(referral=referral, actor=user, kind=kind, data=data)


def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    return reason


@transaction.atomic
def referral_acknowledge(*, referral: Referral, user: User, expected_version: int | None = None) -> Referral:
    """The office confirms receipt; police learn which office and contact person are responsible."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.ACKNOWLEDGE)
    locked.status = Status.ACKNOWLEDGED
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = user
    _save(locked, "status", "acknowledged_at", "acknowledged_by")
    _event(locked, user, ReferralEvent.Kind.ACKNOWLEDGED)
    followthrough.tasks_suggest_on_acknowledge(locked, user)
    referral_notifications.notify_police_of_status(locked, PoliceChange.ACKNOWLEDGED)
    return locked


@transaction.atomic
def referral_assign(*, referral: Referral, user: User, assignee: User, expected_version: int | None = None) -> Referral:
    """The office lead assigns (or reassigns) a caseworker of the office; a caseworker may take an
    unassigned case for themselves. Assigning a case not yet acknowledged acknowledges it."""
    locked = _lock(referral, expected_version)
    if referral_access(user, locked).is_lead:
        _check(user, locked, Action.ASSIGN)
    else:
        _check(user, locked, Action.TAKE_OVER)
        if assignee.pk != user.pk:
            raise PermissionDenied(_("Only the office lead assigns cases; a caseworker may take an unassigned case."))
    if locked.youth_office_id not in actor_of(assignee).office_ids:
        raise ValidationError({"assignee": [_("Choose a person of the responsible youth office.")]})
    locked.assignee = assignee
    acknowledges = locked.status == Status.SUBMITTED  # taking the case on is its receipt: the clock stops
    if acknowledges:
        locked.status, locked.acknowledged_at, locked.acknowledged_by = Status.ACKNOWLEDGED, timezone.now(), user
        _event(locked, user, ReferralEvent.Kind.ACKNOWLEDGED)
    _save(locked, "assignee", "status", "acknowledged_at", "acknowledged_by")
    _event(locked, user, ReferralEvent.Kind.ASSIGNED, assignee=assignee.pk)
    if acknowledges:
        followthrough.tasks_suggest_on_acknowledge(locked, user)
    if assignee.pk != user.pk:
        referral_notifications.notify_assignee(locked, "assigned")
    referral_notifications.notify_police_of_status(locked, PoliceChange.ASSIGNED)
    return locked


@transaction.atomic
def referral_rerate(
    *, referral: Referral, user: User, urgency: str, reason: str, expected_version: int | None = None
) -> Referral:
    """Re-rate the urgency with a written reason; an unacknowledged referral's clock is recomputed."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.RERATE)
    reason = _need_reason(reason)
    if urgency not in Urgency.values:
        raise ValidationError({"urgency": [_("Choose immediate, urgent or routine.")]})
    previous = locked.urgency
    if urgency == previous:  # nothing to re-rate: no new version, no history entry
        raise ValidationError(
            {"urgency": [_("The urgency is already “%(urgency)s”.") % {"urgency": Urgency(urgency).label}]}
        )
    locked.urgency, locked.urgency_rank = urgency, URGENCY_RANK[Urgency(urgency)]
    # Re-rated to immediate before anyone acknowledged it: the clock restarts from now, and the
    # office's on-call is alerted at once (docs/domain.md "Sofort-Fälle").
    now_immediate = urgency == Urgency.IMMEDIATE and previous != Urgency.IMMEDIATE and locked.acknowledged_at is None
    if locked.acknowledged_at is None:
        _start_clock(locked, received_at=timezone.now() if now_immediate else locked.received_at or timezone.now())
    _save(locked, "urgency", "urgency_rank", "received_at", "due_at")
    _event(locked, user, ReferralEvent.Kind.RERATED, previous=previous, urgency=urgency, reason=reason)
    if now_immediate:
        referral_notifications.alert_oncall(locked, locked.youth_office, cause=AlertCause.RERATED, actor=user)
    return locked


@transaction.atomic
def referral_forward(
    *, referral: Referral, user: User, to_office: Agency, reason: str, expected_version: int | None = None
) -> Referral:
    """Offer the case to another office in the system (Abgabe). Until it accepts, both offices see
    it; the sender can no longer change it."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.FORWARD)
    reason = _need_reason(reason)
    if to_office.kind != AgencyKind.YOUTH_OFFICE or not to_office.is_active or to_office.pk == locked.youth_office_id:
        raise ValidationError({"to_office": [_("Choose another active youth office.")]})
    now = timezone.now()
    # The clock keeps running during a hand-over. An unacknowledged case keeps its deadline; an
    # acknowledged immediate case gets the receiving office's immediate clock for the hand-over, so a
    # pending hand-over escalates to both leads (escalation.FORWARD_PENDING). docs/domain.md.
    alert = locked.urgency == Urgency.IMMEDIATE or is_overdue(locked, now)
    if locked.acknowledged_at is not None and locked.urgency == Urgency.IMMEDIATE:
        locked.due_at = acknowledgement_due(office=to_office, urgency=locked.urgency, received_at=now)
    locked.status_before_forward, locked.status = locked.status, Status.FORWARDED
    locked.forwarded_to = to_office
    _save(locked, "status", "status_before_forward", "forwarded_to", "due_at")
    _event(locked, user, ReferralEvent.Kind.FORWARDED, to_office=to_office.pk, reason=reason)
    referral_notifications.notify_office_of_forward(locked)
    if alert:
        referral_notifications.alert_oncall(locked, to_office, cause=AlertCause.FORWARDED, actor=user)
    referral_notifications.notify_police_of_status(locked, PoliceChange.FORWARDED)
    return locked


@transaction.atomic
def referral_accept(*, referral: Referral, user: User, expected_version: int | None = None) -> Referral:
    """The receiving office takes the case over; access moves entirely to it, and accepting counts
    as its acknowledgement of receipt."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.ACCEPT)
    previous_office = locked.youth_office_id
    now = timezone.now()
    locked.youth_office, locked.forwarded_to = locked.forwarded_to, None
    locked.status, locked.status_before_forward = Status.ACKNOWLEDGED, ""
    locked.assignee = None
    locked.acknowledged_at, locked.acknowledged_by = now, user
    _start_clock(locked, received_at=now)
    _save(
        locked, "youth_office", "forwarded_to", "status", "status_before_forward", "assignee", "acknowledged_at",
        "acknowledged_by", "received_at", "due_at",
    )  # fmt: skip
    _event(locked, user, ReferralEvent.Kind.FORWARD_ACCEPTED, from_office=previous_office)
    followthrough.tasks_hand_over(locked, from_office_id=previous_office)
    followthrough.signoff_requests_settle(locked)  # the old office's requests end with its access
    followthrough.tasks_suggest_on_acknowledge(locked, user)
    _repeat_check(locked, user)
    referral_notifications.notify_office_of_acceptance(locked, Agency.objects.get(pk=previous_office or 0))
    referral_notifications.notify_police_of_status(locked, PoliceChange.FORWARD_ACCEPTED)
    return locked


@transaction.atomic
def referral_return(*, referral: Referral, user: User, reason: str, expected_version: int | None = None) -> Referral:
    """The receiving office declines the hand-over; the case goes back to the sender as it was."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.RETURN)
    reason = _need_reason(reason)
    returned_by = locked.forwarded_to
    locked.status, locked.status_before_forward = locked.status_before_forward or Status.SUBMITTED, ""
    locked.forwarded_to = None
    _save(locked, "status", "status_before_forward", "forwarded_to")
    _event(
        locked,
        user,
        ReferralEvent.Kind.FORWARD_RETURNED,
        by_office=returned_by.pk if returned_by else None,
        reason=reason,
    )
    referral_notifications.notify_office_of_return(locked, returned_by)
    referral_notifications.notify_police_of_status(locked, PoliceChange.FORWARD_RETURNED)
    return locked


@transaction.atomic
def assessment_save(
    *, referral: Referral, user: User, summary: str, outcome: str = "", measures: list[str],
    home_visit_on: datetime.date | None = None, child_seen: bool = False, expected_version: int | None = None,
    children: list[dict[str, Any]] | None = None, impressions: list[str] | None = None,
    professionals: list[int] | None = None,
) -> Assessment:  # fmt: skip
    """Record (or revise, while unsigned) the § 8a risk assessment. It is complete only after a
    second professional signs it off. ``children``: one part per child of the referral (issue 13 §2,
    ``referrals.assessment_children``); the assessment's ``outcome`` is then the most severe result.
    Every save is a new version (``AssessmentVersion``); after a sign-off a revision is a new
    assessment that needs a new sign-off."""
    locked = _lock(referral, expected_version)
    current = latest_assessment(locked)
    _check(user, locked, Action.ASSESSMENT, latest=current)
    if current is None or current.is_complete:
        current = Assessment(referral=locked, author=user)
    else:
        current.author = user  # whoever revises it is its author: the four-eyes check follows them
        current.revision += 1
    current.summary, current.outcome, current.measures = summary, outcome, list(measures or [])
    current.home_visit_on, current.child_seen = home_visit_on, bool(child_seen)
    _home_visit_check(locked, home_visit_on)
    current.impressions = list(impressions or [])
    parts = None
    if children is not None or professionals:  # the old way too, when it names them (not dropped)
        current.professionals = professionals_check(current, professionals or [])
    if children is not None:
        parts = parts_build(current, children)
        current.outcome = overall_outcome(parts)
    current.full_clean(exclude=["referral", "author", "signed_off_by"])
    current.save()
    assessment_parts_save(current, user, parts)
    if locked.status != Status.IN_ASSESSMENT:
        locked.status = Status.IN_ASSESSMENT
        _save(locked, "status")
        referral_notifications.notify_police_of_status(locked, PoliceChange.IN_ASSESSMENT)
    else:
        _save(locked)
    _event(locked, user, ReferralEvent.Kind.ASSESSMENT_SAVED, assessment=current.pk)
    followthrough.signoff_requests_settle(locked)  # revised by another person: the request to sign it ends
    return current


EARLIEST_HOME_VISIT = datetime.date(2000, 1, 1)


def _home_visit_check(referral: Referral, home_visit_on: datetime.date | None) -> None:
    """A plausible year: 0001-01-01 is a typing error, not a visit (the model refuses the future)."""
    if home_visit_on is not None and home_visit_on < EARLIEST_HOME_VISIT:
        raise ValidationError({"home_visit_on": [_("The home visit lies before 1 January 2000. Check the year.")]})


@transaction.atomic
def assessment_sign_off(*, referral: Referral, user: User, expected_version: int | None = None) -> Assessment:
    """Four eyes: a different professional of the same office signs the assessment off."""
    locked = _lock(referral, expected_version)
    current = locked.assessments.select_for_update().order_by("-created_at", "-id").first()
    _check(user, locked, Action.SIGN_OFF, latest=current)
    assert current is not None  # the transition's precondition: an assessment waits for sign-off
    current.signed_off_by, current.signed_off_at = user, timezone.now()
    current.save(update_fields=["signed_off_by", "signed_off_at", "updated_at"])
    _save(locked)
    _event(locked, user, ReferralEvent.Kind.SIGNED_OFF, assessment=current.pk)
    followthrough.signoff_requests_resolve(locked, user, subject=SignOffSubject.ASSESSMENT, object_id=current.pk)
    return current


@transaction.atomic
def referral_close(*, referral: Referral, user: User, expected_version: int | None = None) -> Referral:
    """Close a case whose (latest) assessment is complete — signed off after any reopening."""
    locked = _lock(referral, expected_version)
    current = latest_assessment(locked)
    _check(user, locked, Action.CLOSE, latest=current)
    assert current is not None  # the transition's precondition: a signed-off assessment
    locked.status, locked.closed_at = Status.CLOSED, timezone.now()
    _save(locked, "status", "closed_at")
    _event(locked, user, ReferralEvent.Kind.CLOSED, outcome=current.outcome)
    retention_outcome_store(locked)
    referral_notifications.notify_police_of_status(locked, PoliceChange.CLOSED)
    return locked


@transaction.atomic
def referral_reopen(*, referral: Referral, user: User, reason: str, expected_version: int | None = None) -> Referral:
    """The office lead reopens a closed case; it needs a new signed-off assessment to close again."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.REOPEN)
    reason = _need_reason(reason)
    locked.status, locked.closed_at, locked.reopened_at = Status.IN_ASSESSMENT, None, timezone.now()
    locked.retention_outcome = ""  # decided again at the next closing
    _save(locked, "status", "closed_at", "reopened_at", "retention_outcome")
    _event(locked, user, ReferralEvent.Kind.REOPENED, reason=reason)
    referral_notifications.notify_police_of_status(locked, PoliceChange.REOPENED)
    return locked


@transaction.atomic
def followup_add(
    *, referral: Referral, user: User, text: str, incident_at: datetime.datetime | None = None
) -> FollowUp:
    """Police add a follow-up (Nachtrag) to a referral of theirs; the assignee is told."""
    locked = _lock(referral, None)
    _check(user, locked, Action.FOLLOWUP)
    followup = FollowUp(referral=locked, author=user, text=(text or "").strip(), incident_at=incident_at)
    if not followup.text:
        raise ValidationError({"text": [_("This field is required.")]})
    followup.full_clean(exclude=["referral", "author"])
    followup.save()
    _event(locked, user, ReferralEvent.Kind.FOLLOWUP, followup=followup.pk)
    if locked.youth_office_id:
        referral_notifications.notify_assignee(locked, "followup")
    return followup


@transaction.atomic
def note_add(*, referral: Referral, user: User, text: str, confidential: bool = False) -> Note:
    """An internal note of the responsible office (never shown to police or other offices when
    confided under § 65 SGB VIII)."""
    locked = _lock(referral, None)
    _check(user, locked, Action.NOTE)
    note = Note(
        referral=locked, office=locked.youth_office, author=user, text=(text or "").strip(), confidential=confidential
    )
    if not note.text:
        raise ValidationError({"text": [_("This field is required.")]})
    note.full_clean(exclude=["referral", "author", "office"])
    note.save()
    _event(locked, user, ReferralEvent.Kind.NOTE, note=note.pk)
    return note


# First bytes of the file types an office may attach (checked on the content, not the name).
SIGNATURES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def sniff_content_type(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return None


def checked_upload_type(uploaded_file: UploadedFile) -> str:
    """The content type of an upload from its first bytes (PDF, PNG, JPEG), refused above the size
    limit: the one check for office and police attachments alike."""
    if uploaded_file.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {"file": [_("The file is larger than %(mb)d MB.") % {"mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)}]}
        )
    head = uploaded_file.read(16)
    uploaded_file.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError({"file": [_("Only PDF, PNG and JPEG files can be attached.")]})
    return content_type


@transaction.atomic
def attachment_add(
    *, referral: Referral, user: User, uploaded_file: UploadedFile, confidential: bool = False
) -> Attachment:
    """Store a PDF or image of the office outside the web root; type from the content, size limited."""

    locked = _lock(referral, None)
    _check(user, locked, Action.ATTACHMENT)
    content_type = checked_upload_type(uploaded_file)
    attachment = Attachment(
        referral=locked, office=locked.youth_office, uploaded_by=user, original_name=(uploaded_file.name or "")[:200],
        content_type=content_type, size=uploaded_file.size or 0, confidential=confidential,
    )  # fmt: skip
    attachment.file.save("upload", uploaded_file, save=False)
    attachment.save()
    _event(locked, user, ReferralEvent.Kind.ATTACHMENT, attachment=attachment.pk)
    return attachment


def child_digest(*, first_name: str, last_name: str, date_of_birth: datetime.date | None) -> str | None:
    """Keyed hash (HMAC-SHA256) of a child's normalised names and date of birth, or None when the
    child cannot be fingerprinted: no date of birth, or a name with no letters left after
    normalisation. Refusing is the rule, not a fallback: an empty name would make every such child
    born on the same day "the same child" and tell one office of another office's unrelated case.
    Names of every script count; the rules are ``core.text.normalize_name`` (docs/domain.md,
    "Wiederholte Mitteilungen (Fingerabdruck)")."""

    first, last = normalize_name(first_name), normalize_name(last_name)
    if not date_of_birth or not first or not last:
        return None
    key = (settings.FINGERPRINT_KEY or f"fingerprint:{settings.SECRET_KEY}").encode()
    text = f"{first}|{last}|{date_of_birth.isoformat()}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _repeat_check(referral: Referral, user: User) -> None:
    """On receipt: record the children's fingerprints for this office and tell the office of earlier
    referrals of the same child — in its own office with the referral id, elsewhere only date and
    office. No content of another office is read.

    The event keeps the ``REPEAT_MATCHES_SHOWN`` most recent earlier receipts (one per referral,
    office and day of receipt, however many of its children match) and their total ``count``: a
    child referred hundreds of times must not make every new receipt slower and its event larger.
    Both lookups use the (digest, received_at) index; the count is asked only when the list is full.
    """

    digests = {
        d
        for c in referral.children.all()
        if (d := child_digest(first_name=c.first_name, last_name=c.last_name, date_of_birth=c.date_of_birth))
    }
    if not digests:
        return
    shown = settings.REPEAT_MATCHES_SHOWN
    earlier = (
        ChildFingerprint.objects.filter(digest__in=digests)
        .exclude(referral=referral)
        .values("referral_id", "office_id", "office__name", "received_at")
        .distinct()
        .order_by("-received_at", "-referral_id", "office_id")
    )
    recent = list(earlier[:shown])
    count = earlier.count() if len(recent) == shown else len(recent)
    received = referral.received_at or timezone.now()
    ChildFingerprint.objects.bulk_create(
        [
            ChildFingerprint(digest=d, referral=referral, office=referral.youth_office, received_at=received)
            for d in sorted(digests)
        ]
    )
    if recent:
        matches = [
            {
                "office": row["office__name"],
                "date": timezone.localtime(row["received_at"]).date().isoformat(),
                "referral": row["referral_id"] if row["office_id"] == referral.youth_office_id else None,
            }
            for row in recent
        ]
        _event(referral, user, ReferralEvent.Kind.REPEAT, earlier=matches, count=count)


@transaction.atomic
def referral_export(
    *, referral: Referral, user: User, recipient: str, expected_version: int | None = None
) -> dict[str, Any]:
    """Hand a referral over to an office outside the system (e.g. the youth office of another
    district): returns the structured export and records who handed it to whom and when; the case
    is closed here. The lead of the responsible office exports its cases; the district coordinator
    exports referrals from the triage queue. Data confided under § 65 SGB VIII is never exported."""
    locked = _lock(referral, expected_version)
    _check(user, locked, Action.EXPORT)
    recipient = (recipient or "").strip()
    if not recipient:
        raise ValidationError({"recipient": [_("Name the office the referral is handed over to.")]})
    if len(recipient) > 300:
        raise ValidationError({"recipient": [_("At most 300 characters.")]})
    document = referral_export_document(locked)
    locked.status, locked.closed_at = Status.CLOSED, timezone.now()
    _save(locked, "status", "closed_at")
    _event(locked, user, ReferralEvent.Kind.EXPORTED, recipient=recipient)
    followthrough.signoff_requests_settle(locked)
    retention_outcome_store(locked)
    referral_notifications.notify_police_of_status(locked, PoliceChange.EXPORTED)
    document["handover"] = {"recipient": recipient, "by": user.get_username(), "at": locked.closed_at.isoformat()}
    return document


def referral_export_document(referral: Referral) -> dict[str, Any]:
    """The referral as police filed it, plus the office's notes and attachment list — without
    anything confided under § 65 SGB VIII."""
    fields = model_to_dict(referral, fields=[*REFERRAL_FIELDS, "reference"])
    fields["reference"] = referral.reference
    if fields.get("incident_at"):
        fields["incident_at"] = fields["incident_at"].isoformat()
    return {
        "format": "kinderschutz-kooperation/referral-export/1",
        "referral": fields,
        "children": [
            {**model_to_dict(c, fields=CHILD_FIELDS), "date_of_birth": c.date_of_birth and c.date_of_birth.isoformat()}
            for c in referral.children.all()
        ],
        "persons": [
            {**model_to_dict(p, fields=PERSON_FIELDS), "date_of_birth": p.date_of_birth and p.date_of_birth.isoformat()}
            for p in referral.persons.all()
        ],
        "notes": [{"text": n.text, "at": n.created_at.isoformat()} for n in referral.notes.filter(confidential=False)],
        "attachments": [
            {"name": a.original_name, "content_type": a.content_type, "size": a.size}
            for a in referral.attachments.filter(confidential=False)
        ],
    }
