"""iCalendar (RFC 5545 / 5546) texts of meetings, hospitations and information events.

Every object keeps one ``uid`` for its whole life and a ``sequence`` that rises with each change the
participants are told about, so that a calendar client updates (METHOD:REQUEST) or removes
(METHOD:CANCEL) the entry it already has instead of adding a second one. Times are written in UTC.
An invitation names the organiser (the system's sender address) and at most the one attendee it is
addressed to: nobody learns the other participants' addresses from an attachment.
"""

import datetime
from email.utils import parseaddr

import icalendar
from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import (
    Hospitation,
    HospitationStatus,
    InfoEvent,
    Meeting,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)

PRODID = "-//Kinderschutz-Kooperation//Kooperation//DE"
CALENDAR_NAME = "Kinderschutz-Kooperation"
METHODS = ("REQUEST", "CANCEL", "PUBLISH")
# How far back the subscription feed reaches; older dates are of no use in a calendar client.
FEED_PAST_DAYS = 365


def _calendar(method: str | None) -> icalendar.Calendar:
    if method is not None and method not in METHODS:
        raise ValueError(f"unknown iCalendar method: {method!r}")
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    return cal


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC)


def _organizer() -> icalendar.vCalAddress:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "noreply@invalid"
    organizer = icalendar.vCalAddress(f"mailto:{address}")
    organizer.params["CN"] = icalendar.vText(CALENDAR_NAME)
    return organizer


def _event(*, uid, sequence: int, summary: str, method: str | None, attendee: str | None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", str(uid))
    event.add("dtstamp", _utc(timezone.now()))
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("organizer", _organizer())
    if attendee:
        person = icalendar.vCalAddress(f"mailto:{attendee}")
        person.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
        person.params["PARTSTAT"] = icalendar.vText("NEEDS-ACTION")
        person.params["RSVP"] = icalendar.vText("FALSE")
        event.add("attendee", person)
    if method == "CANCEL":
        event.add("status", "CANCELLED")
    return event


def _meeting_event(meeting: Meeting, method: str | None, attendee: str | None = None) -> icalendar.Event:
    cancelled = method == "CANCEL" or meeting.status == MeetingStatus.CANCELLED
    event = _event(
        uid=meeting.uid,
        sequence=meeting.sequence,
        summary=meeting.series.title,
        method="CANCEL" if cancelled else method,
        attendee=attendee,
    )
    event.add("dtstart", _utc(meeting.start))
    event.add("dtend", _utc(meeting.end))
    location = meeting.location or meeting.video_link
    if location:
        event.add("location", location)
    if meeting.video_link:
        event.add("url", meeting.video_link)
    if not cancelled:
        event.add("status", "CONFIRMED" if meeting.status != MeetingStatus.PROPOSED else "TENTATIVE")
    return event


def _hospitation_summary(h: Hospitation) -> str:
    with translation.override("de"):
        return _("Hospitation at %(agency)s") % {"agency": h.host_agency.name}


def _hospitation_event(h: Hospitation, method: str | None, attendee: str | None = None) -> icalendar.Event:
    """A whole-day entry (DTSTART;VALUE=DATE): the visit takes the host's working day."""
    if h.date is None:
        raise ValueError("a hospitation without a date has no calendar entry")
    cancelled = method == "CANCEL" or h.status in (HospitationStatus.DECLINED, HospitationStatus.CANCELLED)
    event = _event(
        uid=h.uid,
        sequence=h.sequence,
        summary=_hospitation_summary(h),
        method="CANCEL" if cancelled else method,
        attendee=attendee,
    )
    event.add("dtstart", h.date)
    event.add("dtend", h.date + datetime.timedelta(days=1))
    event.add("transp", "OPAQUE")
    place = ", ".join(part for part in (h.host_agency.name, h.host_agency.city) if part)
    event.add("location", place)
    if not cancelled:
        event.add("status", "CONFIRMED")
    return event


def _info_event(info: InfoEvent, method: str | None, attendee: str | None = None) -> icalendar.Event:
    cancelled = method == "CANCEL" or info.is_cancelled
    event = _event(
        uid=info.uid,
        sequence=info.sequence,
        summary=info.title,
        method="CANCEL" if cancelled else method,
        attendee=attendee,
    )
    event.add("dtstart", _utc(info.start))
    event.add("dtend", _utc(info.end))
    event.add("location", info.place)
    if info.description:
        event.add("description", info.description)
    if not cancelled:
        event.add("status", "CONFIRMED")
    return event


def _text(cal: icalendar.Calendar) -> str:
    return cal.to_ical().decode("utf-8")


def meeting_ics(meeting: Meeting, method: str = "REQUEST", *, attendee: str | None = None) -> str:
    """The calendar entry of one meeting: METHOD:REQUEST for an invitation or change, CANCEL for a
    cancellation. ``attendee`` is the address of the one recipient of an e-mail (optional)."""
    cal = _calendar(method)
    cal.add_component(_meeting_event(meeting, method, attendee))
    return _text(cal)


def hospitation_ics(h: Hospitation, method: str = "REQUEST", *, attendee: str | None = None) -> str:
    """The calendar entry of an approved hospitation (whole day at the host agency)."""
    cal = _calendar(method)
    cal.add_component(_hospitation_event(h, method, attendee))
    return _text(cal)


def event_ics(event: InfoEvent, method: str = "REQUEST", *, attendee: str | None = None) -> str:
    """The calendar entry of an information event for a registered person."""
    cal = _calendar(method)
    cal.add_component(_info_event(event, method, attendee))
    return _text(cal)


def feed_ics(user) -> str:
    """A person's subscription feed: their confirmed (and held) meetings as an invitee, their approved
    (and completed) hospitations as requester or host person, and the events they are registered for,
    from a year back on. Only what the person takes part in — never what they merely may see."""
    since = timezone.now() - datetime.timedelta(days=FEED_PAST_DAYS)
    cal = _calendar(None)
    cal.add("x-wr-calname", CALENDAR_NAME)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    cal.add("x-published-ttl", "PT1H")
    # vDuration by name: icalendar knows no type of REFRESH-INTERVAL and wrote the timedelta as "1:00:00" (QA).
    cal.add("refresh-interval", icalendar.vDuration(datetime.timedelta(hours=1)), parameters={"VALUE": "DURATION"})
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return _text(cal)
    meetings = (
        Meeting.objects.filter(
            series__invitees=user, status__in=[MeetingStatus.CONFIRMED, MeetingStatus.HELD], end__gte=since
        )
        .select_related("series")
        .distinct()
    )
    for meeting in meetings:
        cal.add_component(_meeting_event(meeting, None))
    hospitations = (
        Hospitation.objects.filter(
            status__in=[HospitationStatus.APPROVED, HospitationStatus.COMPLETED],
            date__gte=since.date(),
        )
        .filter(Q(requester=user) | Q(host_person=user))
        .select_related("host_agency")
    )
    for h in hospitations:
        cal.add_component(_hospitation_event(h, None))
    registrations = Registration.objects.filter(
        person=user, status=RegistrationStatus.REGISTERED, event__is_cancelled=False, event__end__gte=since
    ).select_related("event")
    for registration in registrations:
        cal.add_component(_info_event(registration.event, None))
    return _text(cal)
