"""State changes of referrals. Each service: keyword-only arguments, one transaction, row lock and
status check, a history event, and the notifications it causes written to the outbox."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import POLICE_ROLES, Agency, AgencyKind, Role, memberships_of
from agencies.routing import TriageReason, route_address

from . import notifications as referral_notifications
from .models import URGENCY_RANK, Child, Person, ReferenceCounter, Referral, ReferralEvent, Status

REFERRAL_FIELDS = (
    "police_case_number", "callback_phone", "urgency", "incident_at", "incident_location", "callout_reason",
    "concerns", "facts_observed", "facts_reported", "children_present", "injuries", "home_condition",
    "police_measures", "risk_factors", "risk_notes", "parents_informed", "parents_not_informed_reason",
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


def filing_agency_for(user) -> Agency:
    """The police agency a person files for: their station (officer) or authority (coordinator).
    The station is always taken from the membership, never from the request."""
    for membership in sorted(memberships_of(user), key=lambda m: (m.role != Role.POLICE_OFFICER, m.agency_id)):
        if membership.role in POLICE_ROLES:
            return membership.agency
    raise PermissionDenied(_("Only police officers and police coordinators file referrals."))


def submission_errors(*, referral: Referral, children: list[Child], persons: list[Person]) -> dict[str, list[str]]:
    """What a referral still lacks before it can be submitted, keyed by field path
    (``children.0.last_name``). Field formats are checked by the model validators; this adds what a
    draft may leave open but a submitted referral must have."""
    required = _("This field is required.")
    errors: dict[str, list[str]] = {}

    def need(path, value):
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
    year = timezone.localdate().year
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
        value = ReferenceCounter.objects.get(prefix=authority.code, year=year).last_value
        return f"{authority.code}-{year}-{value:05d}"
    raise RuntimeError("reference counter contention")


def _apply(referral: Referral, fields: dict) -> None:
    for name in REFERRAL_FIELDS:
        if name in fields:
            value = fields[name]
            if value is None and name not in ("incident_at", "parents_informed"):
                value = [] if name in ("concerns", "police_measures", "risk_factors") else ""
            setattr(referral, name, value)
    referral.urgency_rank = URGENCY_RANK.get(referral.urgency, 9)


def _build(model, field_names, rows):
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
    for obj in (*children, *persons):
        obj.referral = referral
    Child.objects.bulk_create(children)
    Person.objects.bulk_create(persons)


@transaction.atomic
def referral_save(
    *, user, fields: dict, children: list[dict], persons: list[dict], submit: bool, referral: Referral | None = None
) -> Referral:
    """Create a new referral or update a draft of ``user``'s, and submit it when ``submit``.

    Either everything is saved or nothing: a submission with gaps raises ``ValidationError`` keyed
    by field path and leaves the database as it was.
    """
    station = filing_agency_for(user)
    if referral is None:
        referral = Referral(
            created_by=user, station=station, police_authority=station.police_authority, status=Status.DRAFT
        )
    else:
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.status != Status.DRAFT or referral.created_by_id != user.pk:
            raise PermissionDenied(_("Only the author can change a draft, and only before it is submitted."))
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


def _route_and_submit(referral: Referral, user) -> None:
    result = route_address(
        postcode=referral.household_postcode, city=referral.household_city, district=referral.police_authority.district
    )
    referral.submitted_at = timezone.now()
    if result.office is not None:
        referral.status = Status.SUBMITTED
        referral.youth_office = result.office
        referral.triage_reason = referral.triage_detail = ""
    else:
        referral.status = Status.TRIAGE
        referral.youth_office = None
        referral.triage_reason = result.reason
        referral.triage_detail = result.detail[:300]
    referral.save(
        update_fields=["status", "youth_office", "triage_reason", "triage_detail", "submitted_at", "updated_at"]
    )
    if result.office is not None:
        ReferralEvent.objects.create(
            referral=referral, actor=user, kind=ReferralEvent.Kind.SUBMITTED, data={"youth_office": result.office.pk}
        )
        referral_notifications.notify_office_of_new_referral(referral)
    else:
        ReferralEvent.objects.create(
            referral=referral, actor=user, kind=ReferralEvent.Kind.TRIAGED, data={"reason": result.reason}
        )
        referral_notifications.notify_coordination_of_triage(referral)


@transaction.atomic
def referral_submit(*, referral: Referral, user) -> Referral:
    """Submit a saved draft as it stands (checks completeness, routes, notifies)."""
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if locked.status != Status.DRAFT or locked.created_by_id != user.pk:
        raise PermissionDenied(_("Only the author can submit a draft, and only once."))
    errors = submission_errors(
        referral=locked, children=list(locked.children.all()), persons=list(locked.persons.all())
    )
    if errors:
        raise ValidationError(errors)
    _route_and_submit(locked, user)
    return locked


@transaction.atomic
def referral_assign_office(*, referral: Referral, user, office: Agency) -> Referral:
    """The district coordinator hands a referral from the triage queue to a youth office."""
    locked = Referral.objects.select_for_update().select_related("police_authority").get(pk=referral.pk)
    coordinator_districts = {m.agency.district_id for m in memberships_of(user) if m.role == Role.DISTRICT_COORDINATOR}
    if locked.police_authority.district_id not in coordinator_districts:
        raise PermissionDenied(_("Only the district coordinator assigns referrals from the triage queue."))
    if locked.status != Status.TRIAGE:
        raise ValidationError({"status": [_("This referral is no longer in the triage queue.")]})
    if office.kind != AgencyKind.YOUTH_OFFICE or not office.is_active:
        raise ValidationError({"youth_office": [_("Choose an active youth office.")]})
    locked.status = Status.SUBMITTED
    locked.youth_office = office
    locked.version += 1
    locked.save(update_fields=["status", "youth_office", "version", "updated_at"])
    ReferralEvent.objects.create(
        referral=locked,
        actor=user,
        kind=ReferralEvent.Kind.OFFICE_ASSIGNED,
        data={"youth_office": office.pk, "triage_reason": locked.triage_reason},
    )
    referral_notifications.notify_office_of_new_referral(locked)
    return locked


__all__ = [
    "TriageReason",
    "filing_agency_for",
    "referral_assign_office",
    "referral_save",
    "referral_submit",
    "submission_errors",
]
