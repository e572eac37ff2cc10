"""The cooperation programme of the agreement: liaison meetings (in series), hospitations (mutual
job shadowing) and information events. No referral data ever appears here: cases are discussed
anonymised.

Visibility (one scoping function per model, ``visible_to``): participants (invitees, requester and
host person, registrants and the event's audience), the leads of the agencies involved (office
lead, police coordinator) and the district coordinator of the district.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.actor import actor_of
from agencies.models import Agency, Role

TEXT_LIMIT = 10_000
LEAD_ROLES = (Role.OFFICE_LEAD, Role.POLICE_COORDINATOR)


def _lead_agency_ids(user) -> list[int]:
    """Agencies whose programme ``user`` oversees: their own as office lead or police coordinator;
    a police coordinator also oversees the stations of their authority."""
    ids = []
    for m in actor_of(user).in_roles(*LEAD_ROLES):
        ids.append(m.agency_id)
        if m.role == Role.POLICE_COORDINATOR:
            ids.extend(child.pk for child in m.agency.children.all())
    return ids


def _coordinated_district_ids(user) -> list[int]:
    return sorted(actor_of(user).coordinator_district_ids)


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


class MeetingSeriesQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Series a person is invited to, whose agencies they lead, or of their district (coordinator)."""
        if not _active(user):
            return self.none()
        return self.filter(
            Q(invitees=user)
            | Q(agencies__in=_lead_agency_ids(user))
            | Q(district_id__in=_coordinated_district_ids(user))
        ).distinct()


class MeetingSeries(models.Model):
    """A regular liaison meeting at caseworker level, e.g. "Polizei – Jugendamt Velbert,
    Sachbearbeiter-Ebene", with a cadence as an RFC 5545 recurrence rule."""

    district = models.ForeignKey("agencies.District", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    agencies = models.ManyToManyField(Agency, related_name="meeting_series", verbose_name=_("participating agencies"))
    invitees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="meeting_series", verbose_name=_("invited people")
    )
    rrule = models.CharField(
        _("cadence (RFC 5545 RRULE)"), max_length=300, help_text=_("e.g. FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU")
    )
    first_start = models.DateTimeField(_("first meeting"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=90, validators=[MinValueValidator(15)]
    )
    location = models.CharField(_("place"), max_length=300, blank=True)
    video_link = models.URLField(_("video link"), blank=True)
    horizon_days = models.PositiveSmallIntegerField(_("plan ahead (days)"), default=183)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MeetingSeriesQuerySet.as_manager()

    class Meta:
        verbose_name = _("meeting series")
        verbose_name_plural = _("meeting series")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class MeetingStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    HELD = "held", _("Held")


class MeetingQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Meetings of the series a person may see (same rule as ``MeetingSeries.visible_to``)."""
        if not _active(user):
            return self.none()
        return self.filter(series__in=MeetingSeries.objects.visible_to(user).values("pk"))


class Meeting(models.Model):
    """One occurrence of a series. ``uid`` is the stable iCalendar UID; ``sequence`` rises with every
    change that invitees are told about (RFC 5545 SEQUENCE)."""

    series = models.ForeignKey(MeetingSeries, on_delete=models.CASCADE, related_name="meetings")
    occurrence = models.DateTimeField(help_text=_("The date the cadence gave (identifies the occurrence)."))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    location = models.CharField(_("place"), max_length=300, blank=True)
    video_link = models.URLField(_("video link"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.PROPOSED)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    minutes = models.TextField(_("minutes"), blank=True, validators=[MaxLengthValidator(TEXT_LIMIT)])
    # Shown in the application only; the cancellation e-mail carries the date and a link, not the reason.
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True, validators=[MaxLengthValidator(2000)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["start", "id"]
        constraints = [models.UniqueConstraint(fields=["series", "occurrence"], name="meeting_occurrence_once")]
        indexes = [models.Index(fields=["start"])]

    def __str__(self) -> str:
        return f"{self.series.title} {timezone.localtime(self.start):%d.%m.%Y}"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("topic"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, validators=[MaxLengthValidator(TEXT_LIMIT)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class ActionItem(models.Model):
    """Something agreed in a meeting: an owner and a due date; the owner is reminded."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(_("action"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    present = models.BooleanField(_("present"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "person"], name="attendance_once")]

    def __str__(self) -> str:
        return f"{self.meeting_id}: {self.person_id}"


class HospitationStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class HospitationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The requester, the host person, the leads of both agencies and the district coordinator."""
        if not _active(user):
            return self.none()
        leads = _lead_agency_ids(user)
        return self.filter(
            Q(requester=user)
            | Q(host_person=user)
            | Q(requester_agency_id__in=leads)
            | Q(host_agency_id__in=leads)
            | Q(host_agency__district_id__in=_coordinated_district_ids(user))
        )


class Hospitation(models.Model):
    """A job-shadowing visit of someone of one side at the other side's agency."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hospitations")
    requester_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    host_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="hosted_hospitations")
    wished_dates = models.JSONField(_("wished dates"), default=list)
    purpose = models.TextField(_("purpose"), validators=[MaxLengthValidator(2000)])
    status = models.CharField(
        _("status"), max_length=20, choices=HospitationStatus.choices, default=HospitationStatus.REQUESTED
    )
    date = models.DateField(_("date"), null=True, blank=True)
    host_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="hosting"
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True, validators=[MaxLengthValidator(2000)])
    feedback = models.TextField(_("feedback"), blank=True, validators=[MaxLengthValidator(2000)])
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HospitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("hospitation")
        verbose_name_plural = _("hospitations")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["host_agency", "date", "status"])]

    def __str__(self) -> str:
        return f"{self.requester_agency} → {self.host_agency}"


class HostCapacity(models.Model):
    """How many visitors an agency hosts on one day (default: ``HOSPITATION_MAX_PER_DAY``)."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="host_capacity")
    max_visitors_per_day = models.PositiveSmallIntegerField(_("visitors per day at most"), default=2)

    def __str__(self) -> str:
        return f"{self.agency}: {self.max_visitors_per_day}"


class Audience(models.TextChoices):
    POLICE = "police", _("Police")
    YOUTH_OFFICES = "youth_offices", _("Youth offices")
    BOTH = "both", _("Police and youth offices")


class EventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Events of the person's district whose audience includes their side; plus the host
        agency's people and the district coordinator."""
        if not _active(user):
            return self.none()
        memberships = actor_of(user).memberships
        districts = {m.agency.district_id for m in memberships}
        police = any(m.role in (Role.POLICE_OFFICER, Role.POLICE_COORDINATOR) for m in memberships)
        offices = any(m.role in (Role.CASEWORKER, Role.OFFICE_LEAD) for m in memberships)
        audiences = (
            [Audience.BOTH] + ([Audience.POLICE] if police else []) + ([Audience.YOUTH_OFFICES] if offices else [])
        )
        return self.filter(
            Q(host_agency__district_id__in=districts, audience__in=audiences)
            | Q(host_agency_id__in=[m.agency_id for m in memberships])
            | Q(host_agency__district_id__in=_coordinated_district_ids(user))
        )


class InfoEvent(models.Model):
    """An information event one side offers the other (knowledge transfer)."""

    host_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="info_events")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, validators=[MaxLengthValidator(TEXT_LIMIT)])
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices, default=Audience.BOTH)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    place = models.CharField(_("place"), max_length=300)
    capacity = models.PositiveSmallIntegerField(_("seats"), validators=[MinValueValidator(1)])
    registration_deadline = models.DateTimeField(_("registration until"))
    is_cancelled = models.BooleanField(_("cancelled"), default=False)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("information event")
        verbose_name_plural = _("information events")
        ordering = ["start", "id"]

    def __str__(self) -> str:
        return self.title


class RegistrationStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    WAITLISTED = "waitlisted", _("On the waiting list")
    CANCELLED = "cancelled", _("Cancelled")


class Registration(models.Model):
    event = models.ForeignKey(InfoEvent, on_delete=models.CASCADE, related_name="registrations")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="event_registrations")
    status = models.CharField(max_length=20, choices=RegistrationStatus.choices)
    attended = models.BooleanField(_("attended"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "person"], name="registration_once")]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.person_id} {self.status}"


class Reminder(models.Model):
    """A reminder that went out: unique per object, offset and recipient, so that a job that runs
    twice (or a worker that dies mid-run and is retried) sends it once."""

    kind = models.CharField(max_length=30)  # meeting, hospitation, event, action_item
    object_id = models.PositiveBigIntegerField()
    offset = models.CharField(max_length=20)  # e.g. "7d", "1d"
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id", "offset", "recipient"], name="reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} {self.offset}"


class CalendarFeedToken(models.Model):
    """The secret of a person's calendar subscription (webcal). Revoking deletes it; a new one
    replaces it. The token is the only thing in the feed's URL."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"feed of {self.user_id}"
