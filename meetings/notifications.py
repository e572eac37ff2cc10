"""Who is told about meetings, hospitations and events, and what the message says.

A message carries the series or event title, a date, at most an agency name and a link — never a
person's name, a reason typed by someone or any content of minutes or agenda. Every invitation,
change and cancellation is one e-mail per person (to their own address, with an ``.ics`` entry
addressed to them alone) plus an in-app notification. Texts are written in German, the language of
the offices; the msgids are English.
"""

from functools import partial

from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from notifications.models import Channel
from notifications.services import notification_create

from . import ics
from .models import ActionItem, Hospitation, InfoEvent, Meeting

ICS_CONTENT_TYPE = "text/calendar"
SUBJECT_LIMIT = 200  # Notification.subject

# Pages of the cooperation module (meetings/urls.py, app namespace "meetings").
DETAIL_URL_NAMES = {
    "meeting": "meetings:meeting_detail",
    "hospitation": "meetings:hospitation_detail",
    "event": "meetings:event_detail",
}


def link_for(kind: str, pk: int) -> str:
    """The path of an object's page, or "" while the pages are not wired (the text stands alone)."""
    try:
        return reverse(DETAIL_URL_NAMES[kind], args=[pk])
    except NoReverseMatch:
        return ""


def _when(value) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def _day(value) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def _people(users):
    """Each active person once, in a stable order."""
    seen = {}
    for user in users:
        if user is not None and user.is_active and user.pk not in seen:
            seen[user.pk] = user
    return [seen[pk] for pk in sorted(seen)]


def _send(users, *, kind: str, subject: str, body: str, link: str, calendar=None, method: str = "REQUEST") -> None:
    """One e-mail per person with an address (with the calendar entry ``calendar(attendee=address)``
    if given) and one in-app notification per person. A long title shortens the subject, never the
    body."""
    subject = Truncator(subject).chars(SUBJECT_LIMIT)
    for user in _people(users):
        if user.email:
            attachment = None
            if calendar is not None:
                name = "absage.ics" if method == "CANCEL" else "termin.ics"
                attachment = (name, ICS_CONTENT_TYPE, calendar(attendee=user.email))
            notification_create(
                channel=Channel.EMAIL, kind=kind, subject=subject, body=body, link=link, email=user.email,
                attachment=attachment,
            )  # fmt: skip
        notification_create(channel=Channel.IN_APP, kind=kind, subject=subject, body=body, link=link, user=user)


# --- meetings -------------------------------------------------------------------------------------


def notify_meeting(meeting: Meeting, change: str, *, users=None) -> None:
    """``change`` is "invitation" (confirmed), "update" (moved or changed) or "cancellation".
    ``users`` defaults to every invitee of the series."""
    if users is None:
        users = meeting.series.invitees.all()
    title = meeting.series.title
    with translation.override("de"):
        values = {"title": title, "date": _when(meeting.start)}
        if change == "invitation":
            subject = _("Invitation: %(title)s on %(date)s") % values
            body = _('You are invited to the liaison meeting "%(title)s" on %(date)s.') % values
        elif change == "update":
            subject = _("Changed: %(title)s, now on %(date)s") % values
            body = _('The liaison meeting "%(title)s" has been changed. It now takes place on %(date)s.') % values
        elif change == "cancellation":
            subject = _("Cancelled: %(title)s on %(date)s") % values
            body = _('The liaison meeting "%(title)s" on %(date)s has been cancelled.') % values
        else:
            raise ValueError(change)
        body += "\n" + _("Details in Kinderschutz-Kooperation (login required):")
    method = "CANCEL" if change == "cancellation" else "REQUEST"
    _send(
        users,
        kind=f"meeting_{change}",
        subject=subject,
        body=body,
        link=link_for("meeting", meeting.pk),
        calendar=partial(ics.meeting_ics, meeting, method),
        method=method,
    )


def notify_action_item_assigned(item: ActionItem) -> None:
    meeting = item.meeting
    with translation.override("de"):
        values = {"title": meeting.series.title, "date": _day(item.due_on)}
        subject = _("New action item from %(title)s") % values
        body = _('An action item from the liaison meeting "%(title)s" has been assigned to you, due on %(date)s.') % (
            values
        )
    _send([item.owner], kind="action_item_assigned", subject=subject, body=body, link=link_for("meeting", meeting.pk))


# --- hospitations ---------------------------------------------------------------------------------


def notify_hospitation_requested(h: Hospitation, leads) -> None:
    """The leads of the host agency learn that a request waits for their decision."""
    with translation.override("de"):
        values = {"agency": h.host_agency.name, "requester_agency": h.requester_agency.name}
        subject = _("New hospitation request for %(agency)s") % values
        body = (
            _(
                "%(requester_agency)s asks for a hospitation at %(agency)s. Please approve or decline it in "
                "Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    _send(leads, kind="hospitation_requested", subject=subject, body=body, link=link_for("hospitation", h.pk))


def notify_hospitation_approved(h: Hospitation) -> None:
    """The visitor and the host person, each with the calendar entry."""
    with translation.override("de"):
        values = {"agency": h.host_agency.name, "date": _day(h.date)}
        subject = _("Hospitation on %(date)s confirmed") % values
        body = _("The hospitation at %(agency)s on %(date)s is confirmed.") % values
    _send(
        [h.requester, h.host_person],
        kind="hospitation_approved",
        subject=subject,
        body=body,
        link=link_for("hospitation", h.pk),
        calendar=partial(ics.hospitation_ics, h, "REQUEST"),
    )


def notify_hospitation_declined(h: Hospitation) -> None:
    """The requester learns the decision (the reason is shown in the application, not in the text).
    A hospitation that had been approved is taken out of the calendars of visitor and host person, with
    a text for both ("cancelled"; QA of 2026-12-05 found the host person told "your request was declined")."""
    with translation.override("de"):
        values = {"agency": h.host_agency.name}
        subject = _("Hospitation request declined")
        body = (
            _(
                "Your hospitation request at %(agency)s has been declined. The reason is shown in "
                "Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    link = link_for("hospitation", h.pk)
    if h.date is None:
        _send([h.requester], kind="hospitation_declined", subject=subject, body=body, link=link)
        return
    with translation.override("de"):  # an approval withdrawn: words for the visitor and the host person alike
        values = {"agency": h.host_agency.name, "date": _day(h.date)}
        subject = _("Hospitation on %(date)s cancelled") % values
        body = (
            _(
                "The hospitation at %(agency)s on %(date)s has been cancelled by the host agency. The reason is "
                "shown in Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    _send(
        [h.requester, h.host_person],
        kind="hospitation_declined",
        subject=subject,
        body=body,
        link=link,
        calendar=partial(ics.hospitation_ics, h, "CANCEL"),
        method="CANCEL",
    )


# --- information events ---------------------------------------------------------------------------


def notify_registration(event: InfoEvent, user, change: str) -> None:
    """``change``: "registered", "waitlisted", "promoted" (moved up from the waiting list) or
    "cancelled" (the person's own cancellation)."""
    with translation.override("de"):
        values = {"title": event.title, "date": _when(event.start)}
        if change == "registered":
            subject = _("Registration confirmed: %(title)s") % values
            body = _('You are registered for "%(title)s" on %(date)s.') % values
        elif change == "waitlisted":
            subject = _("Waiting list: %(title)s") % values
            body = (
                _(
                    'The event "%(title)s" on %(date)s is fully booked. You are on the waiting list and will be told '
                    "when a seat becomes free."
                )
                % values
            )
        elif change == "promoted":
            subject = _("Seat available: %(title)s") % values
            body = _('A seat has become free: you are now registered for "%(title)s" on %(date)s.') % values
        elif change == "cancelled":
            subject = _("Registration cancelled: %(title)s") % values
            body = _('Your registration for "%(title)s" on %(date)s has been cancelled.') % values
        else:
            raise ValueError(change)
    method = "CANCEL" if change == "cancelled" else "REQUEST"
    calendar = None if change == "waitlisted" else partial(ics.event_ics, event, method)
    _send(
        [user],
        kind=f"event_{change}",
        subject=subject,
        body=body,
        link=link_for("event", event.pk),
        calendar=calendar,
        method=method,
    )


def notify_waitlist_cancelled(event: InfoEvent, user) -> None:
    """Someone left the waiting list: no calendar entry to remove."""
    with translation.override("de"):
        values = {"title": event.title, "date": _when(event.start)}
        subject = _("Registration cancelled: %(title)s") % values
        body = _('Your place on the waiting list for "%(title)s" on %(date)s has been cancelled.') % values
    _send([user], kind="event_cancelled", subject=subject, body=body, link=link_for("event", event.pk))


# --- reminders ------------------------------------------------------------------------------------


def notify_reminder(kind: str, obj, user) -> None:
    """One reminder to one person (the caller records it in ``Reminder`` in the same transaction)."""
    with translation.override("de"):
        if kind == "meeting":
            values = {"title": obj.series.title, "date": _when(obj.start)}
            subject = _("Reminder: %(title)s on %(date)s") % values
            body = _('Reminder: the liaison meeting "%(title)s" takes place on %(date)s.') % values
            link = link_for("meeting", obj.pk)
        elif kind == "hospitation":
            values = {"agency": obj.host_agency.name, "date": _day(obj.date)}
            subject = _("Reminder: hospitation on %(date)s") % values
            body = _("Reminder: the hospitation at %(agency)s takes place on %(date)s.") % values
            link = link_for("hospitation", obj.pk)
        elif kind == "event":
            values = {"title": obj.title, "date": _when(obj.start)}
            subject = _("Reminder: %(title)s on %(date)s") % values
            body = _('Reminder: the information event "%(title)s" takes place on %(date)s.') % values
            link = link_for("event", obj.pk)
        elif kind == "action_item":
            values = {"title": obj.meeting.series.title, "date": _day(obj.due_on)}
            subject = _("Reminder: action item due on %(date)s") % values
            body = _('An action item from the liaison meeting "%(title)s" is due on %(date)s.') % values
            link = link_for("meeting", obj.meeting_id)
        else:
            raise ValueError(kind)
    _send([user], kind=f"reminder_{kind}", subject=subject, body=body, link=link)
