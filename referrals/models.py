"""The police referral (Mitteilung an das Jugendamt), its children and persons, and who may see it.

Field contents follow docs/domain.md "Inhalt einer Mitteilung" and § 5 KKG: police pass on only
what the youth office needs for its risk assessment.
"""

import contextlib
import contextvars
import datetime
import functools
import operator
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.backends.signals import connection_created
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from agencies.actor import actor_of
from agencies.models import Agency, postcode_validator
from agencies.routing import TriageReason
from core.storage import private_storage as configured_private_storage


def private_storage():
    """Attachments' storage, ``STORAGES["private"]`` (core.storage): a folder outside the web root or a
    private object store (a callable, so migrations do not freeze the configuration)."""
    return configured_private_storage()


TEXT_LIMIT = 10_000  # characters per free-text field: a long report, not a file dump
# Empty or a number: the fields are optional (blank=True), and the pattern says so in the API's schema too.
phone_validator = RegexValidator(r"^([0-9 +()/\-]{3,40})?$", _("Enter a phone number (digits, spaces, + ( ) / -)."))


def not_in_future(value):
    if value and value > timezone.localdate():
        raise ValidationError(_("The date lies in the future."))


def not_in_future_dt(value):
    if value and value > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError(_("The date and time lie in the future."))


def long_text(verbose_name, **kwargs):
    return models.TextField(verbose_name, blank=True, validators=[MaxLengthValidator(TEXT_LIMIT)], **kwargs)


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    TRIAGE = "triage", _("Triage")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_ASSESSMENT = "in_assessment", _("In assessment")
    FORWARDED = "forwarded", _("Forwarded")
    CLOSED = "closed", _("Closed")


# Referrals the office still has to work on; the inbox shows them first.
# Stands in for "no deadline" so that sorting by deadline never meets NULL (keyset pagination).
NO_DEADLINE = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)

OPEN_STATUSES = (Status.SUBMITTED, Status.ACKNOWLEDGED, Status.IN_ASSESSMENT, Status.FORWARDED)


class Urgency(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediate")
    URGENT = "urgent", _("Urgent")
    ROUTINE = "routine", _("Routine")


URGENCY_RANK = {Urgency.IMMEDIATE: 0, Urgency.URGENT: 1, Urgency.ROUTINE: 2}


class Concern(models.TextChoices):
    NEGLECT = "neglect", _("Neglect")
    SEXUAL_ABUSE_INDICATION = "sexual_abuse_indication", _("Signs of sexual offences against children")
    DOMESTIC_VIOLENCE = "domestic_violence", _("Domestic violence")
    GUARDIAN_ALCOHOL_ABUSE = "guardian_alcohol_abuse", _("Alcohol abuse of the guardians")
    GUARDIAN_DRUG_USE = "guardian_drug_use", _("Drug use of the guardians")
    OTHER = "other", _("Other")


class PoliceMeasure(models.TextChoices):
    RESIDENCE_BAN = "residence_ban", _("Eviction with ban on return (§ 34a PolG NRW)")
    CRIMINAL_COMPLAINT = "criminal_complaint", _("Criminal complaint")
    CUSTODY = "custody", _("Custody")
    CHILD_HANDOVER = "child_handover", _("Hand-over of a child")


class RiskFactor(models.TextChoices):
    ALCOHOL = "alcohol", _("Alcohol")
    DRUGS = "drugs", _("Drugs")
    WEAPONS = "weapons", _("Weapons")
    PSYCHIATRIC_CRISIS = "psychiatric_crisis", _("Psychiatric crisis")
    EARLIER_INCIDENTS = "earlier_incidents", _("Earlier incidents known to police")


class ChildrenPresence(models.TextChoices):
    WITNESSED = "witnessed", _("Present and witnessed it")
    PRESENT = "present", _("Present, did not witness it")
    NOT_PRESENT = "not_present", _("Not present")
    UNKNOWN = "unknown", _("Unknown")


class Sex(models.TextChoices):
    FEMALE = "female", _("female")
    MALE = "male", _("male")
    DIVERSE = "diverse", _("diverse")
    UNKNOWN = "unknown", _("unknown")


class PersonRole(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    GUARDIAN = "guardian", _("Guardian")
    PARTNER = "partner", _("Partner of a parent")
    HOUSEHOLD_MEMBER = "household_member", _("Other household member")
    SUSPECT = "suspect", _("Suspect")
    OTHER = "other", _("Other")


@deconstructible
class ChoicesListValidator:
    """Validate a JSON list field: a list of distinct values of the named choices class."""

    def __init__(self, choices_name: str):
        self.choices_name = choices_name

    def __call__(self, value):
        allowed = set(globals()[self.choices_name].values)
        if not isinstance(value, list) or any(v not in allowed for v in value):
            raise ValidationError(_("Unknown value. Allowed: %(allowed)s") % {"allowed": ", ".join(sorted(allowed))})
        if len(set(value)) != len(value):
            raise ValidationError(_("A value is listed twice."))

    def __eq__(self, other):
        return isinstance(other, ChoicesListValidator) and other.choices_name == self.choices_name


def granted_referral_ids(user) -> list[int]:
    """Ids of the referrals opened to ``user`` by an individual guardian grant (``view_referral``),
    directly or through a group: one query on the direct-foreign-key permission tables."""
    direct = ReferralUserObjectPermission.objects.filter(user_id=user.pk, permission__codename="view_referral")
    via_group = ReferralGroupObjectPermission.objects.filter(group__user=user.pk, permission__codename="view_referral")
    ids = direct.values_list("content_object_id", flat=True).union(
        via_group.values_list("content_object_id", flat=True)
    )
    return list(ids)


def office_branches(office_ids: list[int]) -> list[Q]:
    """The office branches of the scope: the responsible office; during a hand-over also the office
    it was forwarded to. Together (minus drafts) they are the office inbox."""
    if not office_ids:
        return []
    return [Q(youth_office_id__in=office_ids), Q(forwarded_to_id__in=office_ids)]


def scope_branches(user) -> list[Q]:
    """The rule of ``ReferralQuerySet.visible_to`` as its branches, each one condition on one indexed
    column (office, receiving office, station, authority, triage, grants, own drafts); the scope is
    their OR. Lists read them apart as well (``core.pagination.keyset_page``): one ordered index scan
    per branch, merged in order, where the OR across columns made PostgreSQL read and sort every
    referral of the office (issue 12). Each branch only narrows the scope, never widens it."""
    actor = actor_of(user)
    office_ids = sorted(actor.office_ids)
    station_ids = sorted(actor.station_ids)
    authority_ids = sorted(actor.authority_ids)
    district_ids = sorted(actor.coordinator_district_ids)

    filed = office_branches(office_ids)
    if station_ids:
        filed.append(Q(station_id__in=station_ids))
    if authority_ids:
        filed.append(Q(police_authority_id__in=authority_ids))
    if district_ids:
        filed.append(Q(status=Status.TRIAGE, police_authority__district_id__in=district_ids))
    granted = granted_referral_ids(user)
    if granted:
        filed.append(Q(pk__in=granted))
    return [branch & ~Q(status=Status.DRAFT) for branch in filed] + [Q(status=Status.DRAFT, created_by_id=user.pk)]


class ReferralQuerySet(models.QuerySet["Referral"]):
    def visible_to(self, user: Any) -> "ReferralQuerySet":
        """The referrals ``user`` may see — the only way user-facing code reaches referrals.

        Rules (docs/domain.md, "Wer sieht was"): caseworkers and leads see their office's referrals once
        submitted; police officers see what their station filed, police coordinators what their
        authority filed; the district coordinator sees the triage queue of the district; a filing
        officer sees their own drafts; an office that has been offered a forwarded case sees it until it
        accepts or returns it; a guardian grant (``view_referral`` on one referral, to a
        person or a group) opens that single case. Drafts are never visible to anyone but their
        author. Everything else is invisible and answers 404.

        Fast because every branch is an indexed comparison against ids loaded beforehand: the
        memberships once per request (``agencies.actor.actor_of``), the guardian grants in one query on the
        direct-foreign-key permission tables (``granted_referral_ids``) — never the generic guardian
        tables, never per row. Plain ids rather than ``IN (subquery)`` let PostgreSQL combine the
        branches as index scans; a subquery inside the OR forced a sequential scan (benchmarks/).
        """
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        branches = scope_branches(user)
        return self.filter(functools.reduce(operator.or_, branches)) if branches else self.none()

    def visible_branches(self, user: Any) -> list["ReferralQuerySet"]:
        """``visible_to`` as one queryset per branch of ``scope_branches`` (their union is the
        scope; a row may be in several). Each reads one indexed column in the index's order — the
        lists page them apart and merge (``core.pagination.keyset_page``), where one query with the
        scope's OR across columns reads and sorts every referral of the office (issue 12)."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return []
        return [self.filter(branch) for branch in scope_branches(user)]

    def inbox_branches(self, user: Any) -> list["ReferralQuerySet"]:
        """The office inbox as one queryset per office branch of the scope (``office_branches``),
        disjoint: each is a branch of ``visible_to`` itself, so it needs no further scoping — and
        carries no OR the planner would have to guess through."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return []
        office_ids = sorted(actor_of(user).office_ids)
        if not office_ids:
            return []
        # Disjoint, so that counts may add up: a case handed over between two offices of the same
        # person belongs to the first branch only.
        responsible, receiving = office_branches(office_ids)
        return [
            self.filter(responsible).exclude(status=Status.DRAFT),
            self.filter(receiving).exclude(responsible).exclude(status=Status.DRAFT),
        ]

    def inbox_order(self):
        """Most urgent first, then oldest first; ``id`` makes the order total (keyset pagination)."""
        return self.order_by("urgency_rank", "submitted_at", "id")


class Referral(models.Model):
    """A police referral to a youth office.

    Drafts may be incomplete; ``referral_save(submit=True)`` checks completeness and routes the referral to the
    responsible youth office (``youth_office``) or, with ``triage_reason``, to the district
    coordination office. ``youth_office`` is the indexed key every office query filters on.
    """

    reference = models.CharField(_("reference"), max_length=32, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    # Case metadata
    police_authority = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("police authority")
    )
    station = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="filed_referrals", verbose_name=_("station")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="filed_referrals",
        verbose_name=_("filing officer"),
    )
    police_case_number = models.CharField(_("police case number"), max_length=40, blank=True)
    callback_phone = models.CharField(_("call-back number"), max_length=40, blank=True, validators=[phone_validator])
    urgency = models.CharField(_("urgency"), max_length=20, choices=Urgency.choices, blank=True)
    urgency_rank = models.PositiveSmallIntegerField(default=9, editable=False)

    # Incident
    incident_at = models.DateTimeField(
        _("date and time of the operation"), null=True, blank=True, validators=[not_in_future_dt]
    )
    incident_location = models.CharField(_("place of the operation"), max_length=300, blank=True)
    callout_reason = long_text(_("reason for the call-out"))
    concerns = models.JSONField(_("concerns"), default=list, blank=True, validators=[ChoicesListValidator("Concern")])
    facts_observed = long_text(_("facts observed by police"))
    facts_reported = long_text(_("facts reported to police"))
    children_present = models.CharField(
        _("children present"), max_length=20, choices=ChildrenPresence.choices, blank=True
    )
    injuries = long_text(_("injuries"))
    home_condition = long_text(_("condition of the home"))
    police_measures = models.JSONField(
        _("police measures"), default=list, blank=True, validators=[ChoicesListValidator("PoliceMeasure")]
    )
    # The end of the ban on return (§ 34a PolG NRW, at most 10 days): the office's home visit is due
    # before it (referrals.followthrough). Without a date: 10 days from the incident.
    residence_ban_until = models.DateField(_("ban on return until"), null=True, blank=True)
    risk_factors = models.JSONField(
        _("risk factors"), default=list, blank=True, validators=[ChoicesListValidator("RiskFactor")]
    )
    risk_notes = long_text(_("notes on risk factors"))
    parents_informed = models.BooleanField(_("parents informed of the referral"), null=True, blank=True)
    parents_not_informed_reason = long_text(_("reason the parents were not informed"))

    # Household address (decides the responsible youth office)
    household_street = models.CharField(_("street"), max_length=200, blank=True)
    household_house_number = models.CharField(_("house number"), max_length=20, blank=True)
    household_postcode = models.CharField(_("postcode"), max_length=5, blank=True, validators=[postcode_validator])
    household_city = models.CharField(_("city"), max_length=100, blank=True)

    # Routing
    youth_office = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("youth office"),
    )
    triage_reason = models.CharField(_("triage reason"), max_length=32, blank=True)
    triage_detail = models.CharField(_("triage detail"), max_length=300, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)

    # Casework (§ 8a SGB VIII) in the responsible office
    received_at = models.DateTimeField(_("received by the office"), null=True, blank=True)
    due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_referrals",
        verbose_name=_("assigned caseworker"),
    )
    forwarded_to = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incoming_forwards",
        verbose_name=_("forwarded to"),
        help_text=_("Office that has been offered the case and has not yet accepted or returned it."),
    )
    status_before_forward = models.CharField(max_length=20, choices=Status.choices, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopened_at = models.DateTimeField(_("reopened"), null=True, blank=True)
    # The outcome that decides the retention of a closed referral (a ``RetentionOutcome`` value),
    # stored by the closing services in the closing transaction (``referrals.retention_outcome``);
    # empty while the referral is open. The dry run and the daily job read it through the index
    # ``referral_retention`` instead of computing it per referral (issue 12).
    retention_outcome = models.CharField(_("retention outcome"), max_length=20, blank=True, default="")

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["youth_office", "urgency_rank", "submitted_at", "id"], name="referral_inbox"),
            models.Index(fields=["station", "created_at", "id"], name="referral_station"),
            models.Index(fields=["police_authority", "status"], name="referral_authority_status"),
            # The police coordinator's list (``selectors.STATION_ORDERING``), per authority.
            models.Index(fields=["police_authority", "created_at", "id"], name="referral_authority_created"),
            models.Index(fields=["status", "urgency_rank", "submitted_at", "id"], name="referral_status_queue"),
            # The open inbox tabs and their counts read only the office's open referrals (a few
            # thousand at most), not the closed ones that make up most of the table (issue 12).
            models.Index(
                fields=["youth_office", "urgency_rank", "submitted_at", "id"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="referral_inbox_open",
            ),
            # The tabs "mine", "unassigned" and "overdue" each read only their own rows, in the inbox
            # order, from a partial index of their own — not every open referral of the office
            # (issue 12; ``selectors.inbox_tab_q``, plans in tests/test_query_plans.py).
            models.Index(
                fields=["youth_office", "assignee", "urgency_rank", "submitted_at", "id"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="referral_inbox_mine",
            ),
            models.Index(
                fields=["youth_office", "urgency_rank", "submitted_at", "id"],
                condition=models.Q(status__in=OPEN_STATUSES, assignee__isnull=True),
                name="referral_inbox_unassigned",
            ),
            models.Index(
                fields=["youth_office", "urgency_rank", "submitted_at", "id"],
                condition=models.Q(status__in=OPEN_STATUSES, acknowledged_at__isnull=True, due_at__isnull=False),
                name="referral_inbox_overdue",
            ),
            # The API list's order, per office (its office branch is one range of this index).
            models.Index(fields=["youth_office", "created_at", "id"], name="referral_office_created"),
            # The inbox's other two orders (``referrals.forms.INBOX_SORTS``), the same expressions as
            # the annotations ``inbox_due`` and ``inbox_received`` (``selectors.inbox_filtered``).
            models.Index(
                F("youth_office"),
                Coalesce("due_at", Value(NO_DEADLINE, output_field=models.DateTimeField())),
                F("id"),
                name="referral_office_due",
            ),
            models.Index(
                F("youth_office"),
                Coalesce("received_at", "submitted_at", "created_at"),
                F("id"),
                name="referral_office_received",
            ),
            # The dashboards (issue 15, referrals.dashboard): an office's receipts and an authority's
            # filings of a period, each one index range.
            models.Index(fields=["youth_office", "received_at"], name="referral_office_received_at"),
            models.Index(fields=["police_authority", "submitted_at"], name="referral_authority_submitted"),
            # Retention (referrals.retention): an office's closed referrals of one outcome, oldest
            # closing first — the dry run of a rule and the daily job are one range of it each.
            models.Index(
                fields=["youth_office", "retention_outcome", "closed_at", "id"],
                condition=models.Q(status=Status.CLOSED),
                name="referral_retention",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT

    # Asked by agencies.directory (which must not import referrals) about a referral it is given.
    @property
    def in_triage(self) -> bool:
        return self.status == Status.TRIAGE

    @property
    def awaiting_office(self) -> bool:
        """Submitted to its office and not yet acknowledged."""
        return self.status == Status.SUBMITTED

    @property
    def is_immediate(self) -> bool:
        return self.urgency == Urgency.IMMEDIATE

    @property
    def is_urgent(self) -> bool:
        return self.urgency == Urgency.URGENT

    @property
    def household_address(self) -> str:
        street = " ".join(p for p in (self.household_street, self.household_house_number) if p)
        place = " ".join(p for p in (self.household_postcode, self.household_city) if p)
        return ", ".join(p for p in (street, place) if p)

    def clean(self):
        # § 34a PolG NRW: the ban on return lasts at most 10 days from the operation (docs/domain.md,
        # "Wiedervorlage und Aufgaben"); a date without the measure means nothing.
        until = self.residence_ban_until
        if until is None:
            return
        if PoliceMeasure.RESIDENCE_BAN not in (self.police_measures or []):
            raise ValidationError({"residence_ban_until": _("Give the end date only with a ban on return.")})
        if self.incident_at is not None:
            start = timezone.localtime(self.incident_at).date()
            if not start <= until <= start + datetime.timedelta(days=10):
                raise ValidationError(
                    {"residence_ban_until": _("A ban on return ends at most 10 days after the operation.")}
                )

    def get_concerns_display(self) -> list[str]:
        return [str(Concern(c).label) for c in self.concerns if c in Concern.values]

    def get_police_measures_display(self) -> list[str]:
        return [str(PoliceMeasure(c).label) for c in self.police_measures if c in PoliceMeasure.values]

    def get_risk_factors_display(self) -> list[str]:
        return [str(RiskFactor(c).label) for c in self.risk_factors if c in RiskFactor.values]

    def get_triage_reason_display(self) -> str:
        return str(TriageReason(self.triage_reason).label) if self.triage_reason in TriageReason.values else ""


class Child(models.Model):
    """A child concerned by the referral. Name and date of birth also feed the repeat-referral check."""

    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, related_name="children", verbose_name=_("referral")
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True, validators=[not_in_future])
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    whereabouts = models.CharField(_("current whereabouts"), max_length=300, blank=True)
    school_or_kita = models.CharField(_("school or Kita"), max_length=200, blank=True)
    address_if_different = models.CharField(_("home address, if not the household's"), max_length=300, blank=True)
    # The referral's responsible office, copied here so that the inbox search finds an office's
    # children in its own range of one trigram index instead of among every child of the district
    # (issue 12). PostgreSQL keeps it equal to ``referral.youth_office`` on every write, in the same
    # transaction — triggers on both tables (migration 0023), so no write path (routing, forwarding,
    # bulk loads, plain UPDATEs) can miss it; never set or read it from Python. On SQLite it stays
    # empty: the search there uses its EXISTS fallback (``selectors.search_q``).
    youth_office = models.ForeignKey(
        Agency, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, null=True, blank=True,
        editable=False, related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("child")
        verbose_name_plural = _("children")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Person(models.Model):
    """A parent, guardian, other household member or suspect named in the referral."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="persons", verbose_name=_("referral"))
    role = models.CharField(_("role"), max_length=20, choices=PersonRole.choices, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True, validators=[not_in_future])
    phone = models.CharField(_("phone"), max_length=40, blank=True, validators=[phone_validator])
    address = models.CharField(_("address, if not the household's"), max_length=300, blank=True)
    relation_to_child = models.CharField(_("relation to the child"), max_length=200, blank=True)
    has_custody = models.BooleanField(_("has custody"), default=False)
    is_suspect = models.BooleanField(_("suspect"), default=False)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ReferralEvent(models.Model):
    """One entry of a referral's history: who did what when. ``data`` holds codes and ids, no
    personal data."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Draft created")
        UPDATED = "updated", _("Draft updated")
        SUBMITTED = "submitted", _("Submitted and routed")
        TRIAGED = "triaged", _("Placed in the triage queue")
        OFFICE_ASSIGNED = "office_assigned", _("Assigned to a youth office")
        ACKNOWLEDGED = "acknowledged", _("Receipt acknowledged")
        ASSIGNED = "assigned", _("Caseworker assigned")
        RERATED = "rerated", _("Urgency re-rated")
        FORWARDED = "forwarded", _("Forwarded to another office")
        FORWARD_ACCEPTED = "forward_accepted", _("Forwarded case accepted")
        FORWARD_RETURNED = "forward_returned", _("Forwarded case returned")
        EXPORTED = "exported", _("Handed over outside the system")
        SCREENED = "screened", _("Screening recorded")
        SCREENING_SIGNED_OFF = "screening_signed_off", _("Screening signed off")
        ASSESSMENT_SAVED = "assessment_saved", _("Risk assessment recorded")
        SIGNED_OFF = "signed_off", _("Risk assessment signed off")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        FOLLOWUP = "followup", _("Follow-up from police")
        NOTE = "note", _("Internal note")
        ATTACHMENT = "attachment", _("Attachment added")
        ESCALATED = "escalated", _("Escalated")
        REPEAT = "repeat", _("Earlier referral of a child found")
        ALERTED = "alerted", _("On-call service alerted")
        GRANTED = "granted", _("Read access granted to a person")
        GRANT_ENDED = "grant_ended", _("Read access of a person ended")
        # Follow-through in the office (issue 14 §§ 1-2, referrals.followthrough)
        TASK_CREATED = "task_created", _("Task created")
        TASK_DONE = "task_done", _("Task done")
        TASK_UNDONE = "task_undone", _("Task marked not done")
        TASK_CHANGED = "task_changed", _("Task changed")
        SIGNOFF_REQUESTED = "signoff_requested", _("Sign-off requested")
        SIGNOFF_RETURNED = "signoff_returned", _("Sent back without sign-off")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        # The dashboards ask, for each referral of a period, whether it was a repeat notice or a
        # hand-over accepted elsewhere (docs/kennzahlen.md): two small partial indexes answer that
        # without reading the referral's whole history (seven events per referral on average).
        indexes = [
            models.Index(fields=["referral"], condition=Q(kind="repeat"), name="referralevent_repeat"),
            models.Index(fields=["referral"], condition=Q(kind="forward_accepted"), name="referralevent_fwd_accepted"),
        ]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.kind}"


class ReferenceCounter(models.Model):
    """Per prefix and year the last number handed out, for references like KPB-ME-2026-00042."""

    prefix = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="reference_counter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_value}"


class ReferralUserObjectPermission(UserObjectPermissionBase):
    """Individual grant on one referral (guardian, direct foreign key)."""

    content_object = models.ForeignKey(Referral, on_delete=models.CASCADE)


class ReferralGrant(models.Model):
    """An office lead's grant of read access to one case for a named person of another agency — e.g.
    a colleague of the family court assistance, or of a neighbouring office during a hand-over — with
    a reason and an expiry (``referrals.grants``). While it runs, the person holds the guardian
    permission ``view_referral`` on the referral (what ``visible_to`` honours); revoking it or its
    expiry removes the permission and keeps this row as the record of who was let in, by whom, why
    and for how long."""

    referral = models.ForeignKey("Referral", on_delete=models.CASCADE, related_name="grants")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referral_grants", verbose_name=_("person")
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("granted by")
    )
    reason = models.TextField(_("reason"), validators=[MaxLengthValidator(2_000)])
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("individual grant")
        verbose_name_plural = _("individual grants")
        ordering = ["-granted_at", "-id"]
        indexes = [models.Index(fields=["ended_at", "expires_at"], name="referralgrant_running")]

    def __str__(self) -> str:
        return f"{self.referral_id} → {self.person_id} ({self.expires_at:%Y-%m-%d})"

    @property
    def is_running(self) -> bool:
        return self.ended_at is None

    @property
    def last_day(self) -> datetime.date:
        """The last day of access, as the lead entered it (``expires_at`` is the start of the next day)."""
        return (timezone.localtime(self.expires_at) - datetime.timedelta(microseconds=1)).date()


class ReferralGroupObjectPermission(GroupObjectPermissionBase):
    """Grant on one referral to a group (guardian, direct foreign key)."""

    content_object = models.ForeignKey(Referral, on_delete=models.CASCADE)


class Outcome(models.TextChoices):
    """The official outcome categories of a § 8a risk assessment."""

    ACUTE_RISK = "acute_risk", _("Acute risk to the child's welfare")
    LATENT_RISK = "latent_risk", _("Latent risk to the child's welfare")
    SUPPORT_NEED = "support_need", _("No risk, but need for support")
    NO_RISK_NO_NEED = "no_risk_no_need", _("Neither risk nor need for support")


class Measure(models.TextChoices):
    OFFER_OF_HELP = "offer_of_help", _("Offer of help")
    SAFETY_PLAN = "safety_plan", _("Safety plan")
    TAKING_INTO_CARE = "taking_into_care", _("Taking into care (§ 42 SGB VIII)")
    FAMILY_COURT = "family_court", _("Family court (§ 8a Abs. 2)")
    POLICE_INVOLVED = "police_involved", _("Police or others involved (§ 8a Abs. 3)")
    NONE = "none", _("No measure")


class Assessment(models.Model):
    """A § 8a risk assessment. It counts as complete only once a second professional of the same
    office — a different person than the author — has signed it off (four-eyes principle)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="assessments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    summary = models.TextField(_("summary"), validators=[MaxLengthValidator(TEXT_LIMIT)])
    home_visit_on = models.DateField(_("home visit on"), null=True, blank=True, validators=[not_in_future])
    child_seen = models.BooleanField(_("child seen"), default=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    measures = models.JSONField(_("measures"), default=list, validators=[ChoicesListValidator("Measure")])
    # Issue 13 §2 (referrals/assessment_models.py): the shared parts beside the children's parts — how
    # the office gained a direct impression of the child, which professionals (user ids, at least two)
    # took part — and the number of the version last saved (``AssessmentVersion``).
    impressions = models.JSONField(
        _("direct impression of the child"), default=list, blank=True, validators=[ChoicesListValidator("Impression")]
    )
    professionals = models.JSONField(_("professionals who took part"), default=list, blank=True)
    revision = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        # The office dashboard's assessments signed off in a period (issue 15, referrals.dashboard).
        indexes = [models.Index(fields=["signed_off_at"], name="assessment_signed_off")]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.outcome}"

    @property
    def home_visit(self) -> bool:
        return self.home_visit_on is not None

    @property
    def is_complete(self) -> bool:
        return self.signed_off_at is not None


class Note(models.Model):
    """An internal note of the office. Never shown to police; ``confidential`` marks data confided
    under § 65 SGB VIII, which is never forwarded or exported."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="notes")
    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("text"), validators=[MaxLengthValidator(TEXT_LIMIT)])
    confidential = models.BooleanField(_("confided under § 65 SGB VIII"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk}"


def attachment_path(instance, filename):
    # A random name: no personal data in paths; the original name is kept in the row.
    return f"attachments/{instance.referral_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A PDF or image of the office, stored outside the web root (``PRIVATE_MEDIA_ROOT``) and
    served only through a scoped view."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="attachments")
    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    confidential = models.BooleanField(_("confided under § 65 SGB VIII"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # A police attachment (``office`` is then the filing station or authority) may belong to one of
    # the referral's follow-ups (docs/domain.md "Rückfragen an die Polizei und Anhänge der Polizei").
    followup = models.ForeignKey(
        "FollowUp", on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"attachment {self.pk}"


class FollowUp(models.Model):
    """A police follow-up (Nachtrag) to its referral: a new incident or new facts."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="followups")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("text"), validators=[MaxLengthValidator(TEXT_LIMIT)])
    incident_at = models.DateTimeField(
        _("date and time of the new incident"), null=True, blank=True, validators=[not_in_future_dt]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"follow-up {self.pk}"


class Escalation(models.Model):
    """A missed clock that has been escalated; unique per referral, kind and deadline, so that a beat
    job running twice escalates once."""

    class Kind(models.TextChoices):
        OVERDUE = "overdue", _("Not acknowledged in time (to the office lead)")
        IMMEDIATE_UNACKNOWLEDGED = "immediate_unacknowledged", _("Immediate referral not acknowledged after one hour")
        TRIAGE_OVERDUE = "triage_overdue", _("Immediate referral not routed from triage in time")
        FORWARD_PENDING = "forward_pending", _("Hand-over neither accepted nor returned in time")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="escalations")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    due_at = models.DateTimeField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["referral", "kind", "due_at"], name="escalation_once")]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.kind}"


class ChildFingerprint(models.Model):
    """Keyed hash (HMAC) of a referred child's normalised name and date of birth, for the
    repeat-referral check across offices without sharing case data: it reveals only that an earlier
    referral exists, when and at which office — no name, no content, no access."""

    digest = models.CharField(max_length=64)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="fingerprints")
    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["received_at", "id"]
        # The repeat check reads the most recent receipts of a digest: one index serves the lookup,
        # the order and the count (services._repeat_check).
        indexes = [models.Index(fields=["digest", "received_at"], name="fingerprint_digest_received")]

    def __str__(self) -> str:
        return self.digest[:12]


# --- Retention (§ 9b SGB VIII, data minimisation) ---------------------------------------------------


class RetentionOutcome(models.TextChoices):
    """What decides how long a closed referral is kept: the outcome of its last signed-off risk
    assessment, or — closed without one — whether it was handed over outside the system."""

    ACUTE_RISK = Outcome.ACUTE_RISK.value, Outcome.ACUTE_RISK.label
    LATENT_RISK = Outcome.LATENT_RISK.value, Outcome.LATENT_RISK.label
    SUPPORT_NEED = Outcome.SUPPORT_NEED.value, Outcome.SUPPORT_NEED.label
    NO_RISK_NO_NEED = Outcome.NO_RISK_NO_NEED.value, Outcome.NO_RISK_NO_NEED.label
    HANDED_OVER = "handed_over", _("Handed over outside the system, no risk assessment")
    NONE = "none", _("Closed without a risk assessment")


# Default retention per outcome in days, created for every youth office by the district seed. The
# office decides (docs/domain.md "Aufbewahrung und Sitzungen"); these are a starting point:
# - acute and latent risk, support need: 10 years. Case files on risks and support measures must be
#   kept long (§ 9b SGB VIII); a later referral of the same child, a family court or the person
#   themselves may need them years later.
# - neither risk nor need: 2 years. Nothing was found; keeping it longer serves no purpose of the
#   office, but two years let a repeat referral within that time be seen in context.
# - handed over outside the system: 1 year. The receiving office keeps the case file; this office
#   keeps its copy only to answer questions about the hand-over.
# - closed without assessment: 2 years, as "neither risk nor need" — nothing documented a risk.
DEFAULT_RETENTION_DAYS = {
    RetentionOutcome.ACUTE_RISK: 3652,
    RetentionOutcome.LATENT_RISK: 3652,
    RetentionOutcome.SUPPORT_NEED: 3652,
    RetentionOutcome.NO_RISK_NO_NEED: 730,
    RetentionOutcome.HANDED_OVER: 365,
    RetentionOutcome.NONE: 730,
}
MAX_RETENTION_DAYS = 36_525  # 100 years: a typo, not a policy, beyond that
# Offices that keep closed referrals and so have retention rules (AgencyKind values).
RETENTION_OFFICE_KINDS = ["youth_office", "coordination"]


class RetentionRule(models.Model):
    """How long an office keeps its closed referrals of one outcome, from ``valid_from`` on.

    The office is a youth office (its lead sets the rules) or a district's coordination office (the
    district coordinator sets them) for the referrals it handed over from the triage queue to an
    office outside the system: those never reach a youth office, so their only outcome is
    ``handed_over``.

    Rules are never edited: a change is a new rule with a later ``valid_from``, so what applied on
    any day stays traceable and the lead sees before the first day which referrals the new rule
    will delete (the dry run of ``referrals.retention``). On a given day the rule in force for an
    office and outcome is the one with the latest ``valid_from`` not after that day. Defaults for
    every office come from ``DEFAULT_RETENTION_DAYS`` (see there for the reasons).
    """

    office = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="retention_rules",
        limit_choices_to={"kind__in": RETENTION_OFFICE_KINDS},
        verbose_name=_("youth office or coordination office"),
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=RetentionOutcome.choices)
    keep_days = models.PositiveIntegerField(
        _("keep for (days after closing)"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RETENTION_DAYS)],
    )
    valid_from = models.DateField(_("applies from"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["office", "outcome", "-valid_from", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["office", "outcome", "valid_from"], name="retention_rule_once_per_day"),
            models.CheckConstraint(condition=Q(keep_days__gte=1), name="retention_rule_keep_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.office_id}: {self.outcome} {self.keep_days}d from {self.valid_from}"

    def clean(self):
        if self.office_id is None:
            return
        if self.office.kind not in RETENTION_OFFICE_KINDS:
            raise ValidationError({"office": _("Retention rules belong to youth offices and coordination offices.")})
        if self.office.kind == "coordination" and self.outcome != RetentionOutcome.HANDED_OVER:
            raise ValidationError(
                {
                    "outcome": _(
                        "The coordination office keeps only the referrals it handed over outside the system: "
                        "choose “%(outcome)s”."
                    )
                    % {"outcome": RetentionOutcome.HANDED_OVER.label}
                }
            )


class RetentionStatistic(models.Model):
    """What remains of deleted referrals for statistics: counts per office, year of receipt,
    urgency, concern categories and outcome — no id, no reference, no name, no date finer than the
    year, so a row cannot be traced back to a case."""

    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year of receipt"))
    urgency = models.CharField(_("urgency"), max_length=20, blank=True)
    concerns = models.CharField(_("concerns"), max_length=300, blank=True, help_text="sorted codes, comma-separated")
    outcome = models.CharField(_("outcome"), max_length=20, choices=RetentionOutcome.choices)
    referrals = models.PositiveIntegerField(_("referrals"), default=0)
    children = models.PositiveIntegerField(_("children"), default=0)

    class Meta:
        verbose_name = _("retention statistic")
        verbose_name_plural = _("retention statistics")
        constraints = [
            models.UniqueConstraint(
                fields=["office", "year", "urgency", "concerns", "outcome"], name="retention_statistic_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.office_id} {self.year} {self.outcome}: {self.referrals}"


class DeletionRecord(models.Model):
    """Proof that a referral was deleted: its reference, the agency that held it, the rule and when —
    no content. One per reference, so a job that runs twice deletes once.

    A closed referral is deleted under a ``RetentionRule`` of its youth office or — handed over from
    the triage queue — of the district's coordination office. A draft that was never submitted is
    deleted after ``DRAFT_RETENTION_DAYS`` without a change: ``office`` is the police station that
    filed it and ``rule`` is empty."""

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(
        RetentionRule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deletions",
        help_text="Empty for a draft deleted after DRAFT_RETENTION_DAYS without a change.",
    )
    deleted_at = models.DateTimeField(_("deleted"))

    class Meta:
        verbose_name = _("deletion record")
        verbose_name_plural = _("deletion records")
        ordering = ["-deleted_at", "-id"]

    def __str__(self) -> str:
        return self.reference


# An access-log entry made by a member of ``agency`` about a referral of another office: the part
# of an office's log that ``office`` does not cover (``AccessLogEntry.office``).
OUTSIDE_OFFICE = models.Q(office__isnull=False) & ~models.Q(office=F("agency"))


class AccessLogEntry(models.Model):
    """One read of personal data — a referral (with its children and persons), its notes,
    attachments, timeline, assessment or export — or one refused attempt (404 by scope).

    Who (``person``, the ``agency`` and ``role`` they acted in), what (``obj_type``, ``obj_id``,
    ``referral_id``), how (``action``), when, ``request_id`` and ``address``: never names or content.
    ``referral_id`` is a plain integer, not a foreign key: a refused attempt names a referral the
    person may not see, and the log outlives a referral deleted under the retention rules.
    Append-only where it is stored: a database trigger refuses UPDATE and DELETE (migration 0004).
    Written only by ``referrals.access_log.access_log_record``.

    ``office`` is the office whose log shows the entry (issue 12): the youth office responsible for
    the referral at the time of the read (``Referral.youth_office``, also for a refused attempt on
    an existing referral); without one — a referral in the triage queue, a nonexistent id — the
    agency the person acted in. The lead's page reads one range of ``accesslog_office_at`` for it,
    plus one of ``accesslog_agency_outside`` for what the office's own members read elsewhere
    (``agency`` is theirs, ``office`` another). Entries written before the column existed were
    filled by migration 0021 with the referral's office at that moment (what the page showed then).
    A referral that moves later (the coordinator assigns it from triage) keeps its earlier entries
    with the office of their time.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        DOWNLOAD = "download", _("Downloaded")
        EXPORT = "export", _("Exported")
        DENIED = "denied", _("Refused")
        SEARCH = "search", _("Found by a search")

    class ObjectType(models.TextChoices):
        REFERRAL = "referral", _("Referral")
        NOTE = "note", _("Internal notes")
        ATTACHMENT = "attachment", _("Attachment")
        FOLLOWUP = "followup", _("Follow-ups")
        TIMELINE = "timeline", _("Case history")
        ASSESSMENT = "assessment", _("Risk assessment")
        EXPORT = "export", _("Export")
        TASK = "task", _("Tasks")  # read through the API (referrals/api/tasks.py)

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("person")
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("agency"))
    role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("kind of access"), max_length=10, choices=Action.choices)
    obj_type = models.CharField(_("object"), max_length=12, choices=ObjectType.choices)
    obj_id = models.PositiveBigIntegerField(_("object id"), null=True)
    referral_id = models.PositiveBigIntegerField(_("referral id"), null=True, db_index=True)
    request_id = models.UUIDField(_("request id"), null=True)
    address = models.GenericIPAddressField(_("network address"), null=True)
    office = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,  # served by accesslog_office_at
        verbose_name=_("responsible office"),
    )

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["agency", "at"], name="accesslog_agency_at"),
            # The lead's page and CSV (referrals.access_log): newest first per office, also per person.
            models.Index(fields=["office", "-at", "-id"], name="accesslog_office_at"),
            models.Index(fields=["office", "person", "-at", "-id"], name="accesslog_office_person"),
            models.Index(fields=["agency", "-at", "-id"], condition=OUTSIDE_OFFICE, name="accesslog_agency_outside"),
            models.Index(
                fields=["agency", "person", "-at", "-id"], condition=OUTSIDE_OFFICE, name="accesslog_outside_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.obj_type} {self.obj_id or ''}".strip()


_FLUSHING: contextvars.ContextVar[int] = contextvars.ContextVar("access_log_flushing", default=0)


@contextlib.contextmanager
def access_log_flushing():
    """While Django's ``flush`` empties the whole database (``referrals/management/commands/flush.py``,
    between live-server tests): the SQLite trigger of the access log lets its DELETE through."""
    token = _FLUSHING.set(1)
    try:
        yield
    finally:
        _FLUSHING.reset(token)


def _flush_in_progress() -> int:
    """1 while ``access_log_flushing`` is active, else 0. The SQLite trigger of the access log asks
    this (an application-defined SQL function); any other connection (the sqlite3 shell) lacks the
    function, so its DELETE fails too."""
    return _FLUSHING.get()


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("access_log_flushing", 0, _flush_in_progress, deterministic=False)


connection_created.connect(_register_sqlite_functions, dispatch_uid="referrals_access_log_sqlite")


from referrals.assessment_models import (  # noqa: E402,F401
    AssessmentChild,
    AssessmentVersion,
    Impression,
    StatisticRecord,
)
from referrals.dialogue_models import Question  # noqa: E402,F401
from referrals.handover_models import Handover  # noqa: E402,F401
from referrals.screening_models import NextStep, Screening  # noqa: E402,F401
from referrals.task_models import SignOffRequest, Task, TaskReminder  # noqa: E402,F401
