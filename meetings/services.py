"""State changes of the cooperation programme: meeting series and their meetings, hospitations,
information events, reminders and calendar feeds.

Each service takes keyword arguments only and runs in one transaction; it locks the row it changes
(``select_for_update``), checks the person's right (``PermissionDenied``) and the input
(``ValidationError`` keyed by field), and writes the notifications it causes into the outbox in the
same transaction. The two beat jobs (``meetings_materialise``, ``reminders_send``) work in one short
transaction per series or per reminder, so a worker that dies mid-run loses nothing and repeats
nothing.

Dates are planned in German local time (Europe/Berlin): a series at 10:00 stays at 10:00 across the
changes of daylight saving time, and proposals avoid weekends and the public holidays of North
Rhine-Westphalia.
"""

import dataclasses
import datetime
import logging
import re
import secrets
import time

from dateutil.rrule import rrulestr
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES, POLICE_ROLES, Agency, AgencyKind, Membership, Role
from core.calendar import LOCAL_TZ, is_working_day
from core.dates import FIRST_PLAUSIBLE_DAY

from . import notifications
from .models import (
    LEAD_ROLES,
    ActionItem,
    AgendaItem,
    Attendance,
    CalendarFeedToken,
    Hospitation,
    HospitationStatus,
    HostCapacity,
    InfoEvent,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    Reminder,
    _coordinated_district_ids,
    _lead_agency_ids,
)

logger = logging.getLogger(__name__)

# Planning follows German local time and the law of NRW (core.calendar), not a display setting.
# A cadence may yield at most this many dates in half a year (fortnightly and weekly series pass,
# daily ones do not): the beat job must never flood calendars.
MAX_OCCURRENCES_PER_HALF_YEAR = 60
HALF_YEAR_DAYS = 183
ALLOWED_FREQUENCIES = ("WEEKLY", "MONTHLY", "YEARLY")
# The parts of an RRULE a cadence may use: days only; the time of day comes from the first date.
ALLOWED_RRULE_PARTS = frozenset(
    ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO", "BYYEARDAY")
    + ("WKST",)
)
MAX_INTERVAL = 52
# A cadence must yield a date within this many years; see _probe_start for how the search is bounded.
CADENCE_PROBE_YEARS = 10
# How many dates the series form and the API show before saving.
PREVIEW_COUNT = 3
HORIZON_DAYS_RANGE = (7, 366)
DURATION_MINUTES_RANGE = (15, 600)
# Plausible dates (QA of 2026-12-05 moved a meeting to last ten days and planned for the year 9999): a
# meeting, event or series starts within two years; a moved meeting lasts what a series' meeting may
# (DURATION_MINUTES_RANGE), an information event (a course over several days too) at most a week.
PLANNING_YEARS = 2
EVENT_MAX_DAYS = 7
EARLIEST_YEAR = FIRST_PLAUSIBLE_DAY.year  # core.dates: no meeting lies earlier
# A proposal moves at most this many days forward to find a free working day; if none is free it
# takes the first working day and the coordinator decides.
MAX_SHIFT_DAYS = 30
MAX_WISHED_DATES = 5
# A hospitation or an action item has a day, not a time: reminders count from 08:00 local time.
DAY_STARTS_AT = datetime.time(8, 0)
# The issue asks for the hospitation reminder on the day before, whatever the other offsets are.
HOSPITATION_REMINDER_OFFSETS = ("1d",)

SERIES_FIELDS = (
    "title", "agencies", "invitees", "rrule", "first_start", "duration_minutes", "location", "video_link",
    "horizon_days", "is_active",
)  # fmt: skip


# --- calendar arithmetic --------------------------------------------------------------------------


def _local_naive(value: datetime.datetime) -> datetime.datetime:
    """The wall-clock time in Germany, without zone (what RFC 5545 recurrence counts in)."""
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None)


def _aware(value) -> datetime.datetime:
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        raise ValidationError(_("Enter a date and time with a time zone."))
    return value


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, DAY_STARTS_AT, tzinfo=LOCAL_TZ)


_OFFSET_PATTERN = re.compile(r"^\s*(\d{1,4})\s*([dhm])\s*$")
_OFFSET_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_offset(text: str) -> datetime.timedelta:
    """``"7d"`` → 7 days, ``"12h"`` → 12 hours, ``"30m"`` → 30 minutes."""
    match = _OFFSET_PATTERN.match(text or "")
    if not match:
        raise ImproperlyConfigured(f"reminder offset {text!r}: expected <number>d, <number>h or <number>m")
    return datetime.timedelta(**{_OFFSET_UNITS[match[2]]: int(match[1])})


def reminder_offsets(labels=None) -> list[tuple[str, datetime.timedelta]]:
    """The configured reminder offsets (``MEETING_REMINDER_OFFSETS``), shortest first."""
    labels = settings.MEETING_REMINDER_OFFSETS if labels is None else labels
    parsed = {label.strip(): parse_offset(label) for label in labels if label.strip()}
    return sorted(parsed.items(), key=lambda item: item[1])


# --- who may do what ------------------------------------------------------------------------------


def _require_coordinator(user, district_id: int) -> None:
    if district_id not in _coordinated_district_ids(user):
        raise PermissionDenied(_("Only the district coordinator may do this."))


def _is_coordinator_of(user, district_id: int) -> bool:
    return district_id in _coordinated_district_ids(user)


def _side(agency: Agency) -> str | None:
    """ "police" or "office": hospitations and information events go from one side to the other."""
    if agency.kind in (AgencyKind.POLICE_AUTHORITY, AgencyKind.POLICE_STATION):
        return "police"
    if agency.kind == AgencyKind.YOUTH_OFFICE:
        return "office"
    return None


def _own_agency(user) -> Agency:
    """The agency a person works for on one side: their first police or youth-office membership."""
    for membership in sorted(actor_of(user).in_roles(*POLICE_ROLES, *OFFICE_ROLES), key=lambda m: m.pk):
        return membership.agency
    raise PermissionDenied(_("Only police and youth-office staff request hospitations."))


def agency_leads(agency: Agency) -> list:
    """The people who decide for an agency: its office lead(s) or police coordinator(s); for a police
    station, the police coordinator(s) of its authority."""
    condition = Q(agency=agency, role__in=LEAD_ROLES)
    if agency.parent_id:
        condition |= Q(agency_id=agency.parent_id, role=Role.POLICE_COORDINATOR)
    memberships = Membership.objects.active().filter(condition).select_related("user").order_by("user_id")
    return [m.user for m in memberships]


def _pks(items) -> list[int]:
    """Objects or primary keys → primary keys, in order, once each."""
    return list(dict.fromkeys(getattr(item, "pk", item) for item in items or []))


def _user(value):
    if value is None or hasattr(value, "pk"):
        return value
    return get_user_model().objects.filter(pk=value).first()


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _add(errors: dict, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


# --- meeting series -------------------------------------------------------------------------------


def _normalised_rrule(text: str) -> str:
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :].strip()
    return text


def _rrule_parts(text: str) -> dict[str, str] | None:
    """``FREQ=MONTHLY;BYDAY=2TU`` as ``{"FREQ": "MONTHLY", "BYDAY": "2TU"}``; None if a part is no
    ``NAME=value`` pair or a name repeats."""
    parts: dict[str, str] = {}
    for part in text.upper().split(";"):
        name, equals, value = part.partition("=")
        if not equals or not name.strip() or not value.strip() or name.strip() in parts:
            return None
        parts[name.strip()] = value.strip()
    return parts


def _probe_start(start: datetime.datetime) -> datetime.datetime:
    """``start`` moved by whole 400-year cycles to within ``CADENCE_PROBE_YEARS`` to
    ``CADENCE_PROBE_YEARS + 400`` years of the end of the calendar. The Gregorian calendar repeats
    exactly every 400 years (weekdays and leap days alike), so a rule yields the same pattern there;
    but dateutil stops at year 9999 even for a rule that yields nothing, which it otherwise searches
    for until then (seconds for a weekly rule) — this bounds every expansion at input."""
    last = datetime.MAXYEAR - CADENCE_PROBE_YEARS
    return start.replace(year=start.year + 400 * ((last - start.year) // 400))


def rrule_problem(rule: str, first_start: datetime.datetime | None = None) -> str | None:
    """Why ``rule`` is no usable cadence of a meeting series, or None. The one check of a cadence
    for the form, the API and the services (docs/domain.md, "Sitzungsreihen").

    Only WEEKLY, MONTHLY and YEARLY (a liaison meeting every day is a typo); only the parts that name
    days (the time of day comes from the first date); INTERVAL between 1 and ``MAX_INTERVAL`` (0 makes
    dateutil loop for ever); then the rule is expanded with a bound in count and time: an error while
    expanding, or no date within ``CADENCE_PROBE_YEARS`` years, is a problem too."""
    text = _normalised_rrule(rule)
    invalid = _("Enter a valid recurrence rule, e.g. FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU.")
    if not text or any(c in text for c in "\r\n:") or len(text) > 300:
        return invalid
    parts = _rrule_parts(text)
    if parts is None:
        return invalid
    if parts.get("FREQ") not in ALLOWED_FREQUENCIES:
        return _("Use a weekly, monthly or yearly rule (FREQ=WEEKLY, MONTHLY or YEARLY).")
    unknown = sorted(parts.keys() - ALLOWED_RRULE_PARTS)
    if unknown:
        return _("A cadence names days only; not allowed here: %(parts)s.") % {"parts": ", ".join(unknown)}
    interval = parts.get("INTERVAL", "1")
    if not interval.isascii() or not interval.isdigit() or not 1 <= int(interval) <= MAX_INTERVAL:
        return _("INTERVAL must be a whole number from 1 to %(max)s.") % {"max": MAX_INTERVAL}
    count = parts.get("COUNT")
    if count is not None and (not count.isascii() or not count.isdigit() or not 1 <= int(count) <= 1000):
        return _("COUNT must be a whole number from 1 to 1000.")
    probe_start = _probe_start(_local_naive(first_start) if first_start else datetime.datetime(2026, 1, 1, 10, 0))  # noqa: DTZ001
    pattern = ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))
    started = time.monotonic()
    try:
        rrulestr(text, dtstart=datetime.datetime(2026, 1, 1, 10, 0))  # noqa: DTZ001 - syntax of UNTIL/COUNT
        first = next(iter(rrulestr(pattern, dtstart=probe_start)), None)
    except (ValueError, TypeError, OverflowError, IndexError, KeyError):
        return invalid
    finally:
        elapsed = time.monotonic() - started
        if elapsed > 0.5:
            logger.warning("expanding a cadence took %.2f s", elapsed)
    if first is None or first > probe_start.replace(year=probe_start.year + CADENCE_PROBE_YEARS):
        return _("This rule yields no date within %(years)s years.") % {"years": CADENCE_PROBE_YEARS}
    return None


def parse_cadence(rule: str, first_start: datetime.datetime):
    """The recurrence of a series as a dateutil rule counting in local wall-clock time.

    Accepts one RFC 5545 RRULE (with or without the ``RRULE:`` prefix) that ``rrule_problem`` accepts;
    the start comes from ``first_start``, never from the text. Raises ``ValidationError({"rrule": ...})``.
    """
    problem = rrule_problem(rule, first_start)
    if problem:
        raise ValidationError({"rrule": [problem]})
    return rrulestr(_normalised_rrule(rule), dtstart=_local_naive(first_start))


@dataclasses.dataclass(frozen=True)
class CadencePreview:
    """What a cadence will produce: the first ``dates`` the coordinator will be proposed (weekends
    and public holidays already moved to the next working day; the invited people's other dates can
    move a proposal further), each with the date the rule gave, and whether the first date entered
    is itself one of the rule's dates (a "quarterly, 2nd Tuesday" series entered with 15 December,
    a 3rd Tuesday, first meets in March)."""

    occurrences: list[datetime.datetime]
    dates: list[datetime.datetime]
    first_start_is_occurrence: bool


def series_preview(
    *, rrule: str, first_start: datetime.datetime, count: int = PREVIEW_COUNT, now: datetime.datetime | None = None
) -> CadencePreview:
    """The next ``count`` dates of a cadence from ``first_start`` (or from now, if that is later),
    before anything is saved. Raises ``ValidationError`` keyed ``rrule``/``first_start``."""
    try:
        _aware(first_start)
    except ValidationError as exc:
        raise ValidationError({"first_start": exc.messages}) from None
    if first_start.year < EARLIEST_YEAR:  # as saving the series says
        message = _("The first date lies in %(year)s or later.") % {"year": EARLIEST_YEAR}
        raise ValidationError({"first_start": [message]})
    rule = parse_cadence(rrule, first_start)
    now = now or timezone.now()
    begin = max(_local_naive(now), _local_naive(first_start))
    occurrences = []
    for naive in rule.xafter(begin, count=count, inc=True):
        occurrences.append(naive.replace(tzinfo=LOCAL_TZ))
    if occurrences and _beyond_planning(occurrences[0], now):  # as saving the series says (QA of 2026-12-05)
        raise ValidationError({"rrule": [_first_too_far(occurrences[0])]})
    duration = datetime.timedelta(minutes=90)
    return CadencePreview(
        occurrences=occurrences,
        dates=[propose_start(o, duration, [], set()) for o in occurrences],
        first_start_is_occurrence=_local_naive(first_start) in rule,
    )


def _cadence_errors(series: MeetingSeries, now: datetime.datetime) -> dict[str, list[str]]:
    try:
        _aware(series.first_start)
    except ValidationError as exc:
        return {"first_start": exc.messages}
    try:
        rule = parse_cadence(series.rrule, series.first_start)
    except ValidationError as exc:
        return exc.message_dict
    begin = max(_local_naive(now), _local_naive(series.first_start))
    window = max(series.horizon_days or 0, HALF_YEAR_DAYS)
    dates = rule.between(begin, begin + datetime.timedelta(days=window), inc=True)
    if len(dates) * HALF_YEAR_DAYS > MAX_OCCURRENCES_PER_HALF_YEAR * window:
        return {
            "rrule": [
                _("This cadence yields too many dates: at most %(count)s in half a year.")
                % {"count": MAX_OCCURRENCES_PER_HALF_YEAR}
            ]
        }
    first = dates[0] if dates else rule.after(begin, inc=True)
    if first is None:
        return {"rrule": [_("This cadence yields no future date.")]}
    if _beyond_planning(first.replace(tzinfo=LOCAL_TZ), now):  # a typed date within, the rule's first far off (QA)
        return {"rrule": [_first_too_far(first)]}
    return {}


def _first_too_far(first: datetime.datetime) -> str:
    return _("Plan at most %(years)s years ahead: this cadence's first date would be %(date)s.") % {
        "years": PLANNING_YEARS,
        "date": formats.date_format(first, "DATE_FORMAT"),
    }


def _eligible_invitee_ids(district_id: int, agency_ids: list[int]) -> set[int]:
    """People who may be invited to a series of these agencies: members of the agencies (and of the
    stations of a participating authority), the police coordinators of a participating station's
    authority, and the district coordinators."""
    parents = list(Agency.objects.filter(pk__in=agency_ids, parent__isnull=False).values_list("parent_id", flat=True))
    return set(
        Membership.objects.active()
        .filter(
            Q(agency_id__in=agency_ids)
            | Q(agency__parent_id__in=agency_ids)
            | Q(agency_id__in=parents, role=Role.POLICE_COORDINATOR)
            | Q(agency__district_id=district_id, role=Role.DISTRICT_COORDINATOR)
        )
        .values_list("user_id", flat=True)
    )


def _beyond_planning(start: datetime.datetime, now: datetime.datetime) -> bool:
    """Whether ``start`` lies more than ``PLANNING_YEARS`` ahead (a typo in the year, say)."""
    return start > now + datetime.timedelta(days=365 * PLANNING_YEARS + PLANNING_YEARS // 4 + 1)


def _planning_message() -> str:
    return _("Plan at most %(years)s years ahead.") % {"years": PLANNING_YEARS}


def _series_errors(
    series: MeetingSeries,
    agency_ids: list[int],
    invitee_ids: list[int],
    now: datetime.datetime,
    *,
    check_cadence: bool = True,
) -> dict[str, list[str]]:
    """What is wrong with a series about to be saved, keyed by field. The cadence is checked when it
    is new or changed (a series whose cadence has ended may still be renamed)."""
    errors: dict[str, list[str]] = {}
    series.title = (series.title or "").strip()
    series.location = (series.location or "").strip()
    series.video_link = (series.video_link or "").strip()
    series.rrule = _normalised_rrule(series.rrule)
    try:
        series.full_clean(exclude=["district", "created_by", "agencies", "invitees"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in _errors_of(exc).items():
            errors.setdefault(field, []).extend(messages)
    low, high = DURATION_MINUTES_RANGE
    if isinstance(series.duration_minutes, int) and not low <= series.duration_minutes <= high:
        _add(
            errors,
            "duration_minutes",
            _("A meeting lasts between %(low)s and %(high)s minutes.") % {"low": low, "high": high},
        )
    low, high = HORIZON_DAYS_RANGE
    if isinstance(series.horizon_days, int) and not low <= series.horizon_days <= high:
        _add(errors, "horizon_days", _("Plan between %(low)s and %(high)s days ahead.") % {"low": low, "high": high})
    first_start = series.first_start
    if isinstance(first_start, datetime.datetime) and first_start.tzinfo and _beyond_planning(first_start, now):
        _add(errors, "first_start", _planning_message())
    elif isinstance(first_start, datetime.datetime) and first_start.tzinfo and first_start.year < EARLIEST_YEAR:
        # The year 1 was taken, and Berlin's local mean time of then (+00:53:28) set every meeting's hour (QA).
        _add(errors, "first_start", _("The first date lies in %(year)s or later.") % {"year": EARLIEST_YEAR})
    if series.video_link and "video_link" not in errors:
        try:
            URLValidator(schemes=["https", "http"])(series.video_link)  # an ftp: link went into invitations (QA)
        except ValidationError:
            _add(errors, "video_link", _("Enter a valid URL."))
    if check_cadence and not errors.keys() & {"rrule", "first_start", "horizon_days"}:
        for field, messages in _cadence_errors(series, now).items():
            errors.setdefault(field, []).extend(messages)
    if not agency_ids:
        _add(errors, "agencies", _("Choose at least one agency."))
    elif Agency.objects.filter(pk__in=agency_ids, district_id=series.district_id, is_active=True).count() != len(
        agency_ids
    ):
        _add(errors, "agencies", _("Only active agencies of your district can take part."))
    if not invitee_ids:
        _add(errors, "invitees", _("Invite at least one person."))
    elif "agencies" not in errors and not set(invitee_ids) <= _eligible_invitee_ids(series.district_id, agency_ids):
        _add(errors, "invitees", _("Only people of the participating agencies can be invited."))
    return errors


@transaction.atomic
def series_create(
    *,
    user,
    title: str,
    agencies,
    invitees,
    rrule: str,
    first_start: datetime.datetime,
    duration_minutes: int = 90,
    location: str = "",
    video_link: str = "",
    horizon_days: int = 183,
) -> MeetingSeries:
    """A district coordinator plans a meeting series of their district; the next dates (up to
    ``horizon_days`` ahead) are proposed at once."""
    districts = _coordinated_district_ids(user)
    if not districts:
        raise PermissionDenied(_("Only the district coordinator plans meeting series."))
    series = MeetingSeries(
        district_id=districts[0], title=title, rrule=rrule, first_start=first_start,
        duration_minutes=duration_minutes, location=location or "", video_link=video_link or "",
        horizon_days=horizon_days, created_by=user,
    )  # fmt: skip
    agency_ids, invitee_ids = _pks(agencies), _pks(invitees)
    errors = _series_errors(series, agency_ids, invitee_ids, timezone.now())
    if errors:
        raise ValidationError(errors)
    series.save()
    series.agencies.set(agency_ids)
    series.invitees.set(invitee_ids)
    meetings_materialise(series=series)
    return series


@transaction.atomic
def series_update(*, series: MeetingSeries, user, **fields) -> MeetingSeries:
    """The coordinator changes a series. What invitees were told about is updated for them:

    - a new cadence, first date or horizon, or deactivation, drops the future *proposed* dates (nobody
      was invited to them yet) and proposes again; confirmed dates stay until moved or cancelled;
    - a new title, or a place, video link or duration that a future date still had from the series,
      changes the future dates; confirmed ones get a raised SEQUENCE and an update to every invitee;
    - people added to the series are invited to the confirmed future dates, people removed receive
      a cancellation of them.
    """
    unknown = set(fields) - set(SERIES_FIELDS)
    if unknown:
        raise TypeError(f"series_update() got unexpected fields: {', '.join(sorted(unknown))}")
    series = MeetingSeries.objects.select_for_update().get(pk=series.pk)
    _require_coordinator(user, series.district_id)
    now = timezone.now()
    before = {name: getattr(series, name) for name in SERIES_FIELDS if name not in ("agencies", "invitees")}
    old_invitees = set(series.invitees.values_list("pk", flat=True))
    if "agencies" in fields:
        agency_ids = _pks(fields["agencies"])
    else:
        agency_ids = list(series.agencies.values_list("pk", flat=True))
    invitee_ids = _pks(fields["invitees"]) if "invitees" in fields else sorted(old_invitees)
    for name, value in fields.items():
        if name in ("location", "video_link") and value is None:
            value = ""
        if name not in ("agencies", "invitees"):
            setattr(series, name, value)
    cadence_fields = {"rrule", "first_start", "horizon_days"}
    check_cadence = any(fields[name] != before[name] for name in cadence_fields & fields.keys())
    errors = _series_errors(series, agency_ids, invitee_ids, now, check_cadence=check_cadence)
    if errors:
        raise ValidationError(errors)
    series.save()
    if "agencies" in fields:
        series.agencies.set(agency_ids)
    if "invitees" in fields:
        series.invitees.set(invitee_ids)

    changed = {name for name, value in before.items() if getattr(series, name) != value}
    future = series.meetings.filter(start__gt=now)
    if changed & cadence_fields or (not series.is_active and "is_active" in changed):
        future.filter(status=MeetingStatus.PROPOSED).delete()

    told = set()
    old_duration = datetime.timedelta(minutes=before["duration_minutes"])
    for meeting in future.filter(status__in=[MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED]).select_for_update():
        meeting.series = series
        updated = "title" in changed
        if "location" in changed and meeting.location == before["location"]:
            meeting.location, updated = series.location, True
        if "video_link" in changed and meeting.video_link == before["video_link"]:
            meeting.video_link, updated = series.video_link, True
        if "duration_minutes" in changed and meeting.end - meeting.start == old_duration:
            meeting.end, updated = meeting.start + datetime.timedelta(minutes=series.duration_minutes), True
        if not updated:
            continue
        if meeting.status == MeetingStatus.CONFIRMED:
            meeting.sequence += 1
            notifications.notify_meeting(meeting, "update")
            told.add(meeting.pk)
        meeting.save()

    added, removed = set(invitee_ids) - old_invitees, old_invitees - set(invitee_ids)
    if added or removed:
        User = get_user_model()
        for meeting in future.filter(status=MeetingStatus.CONFIRMED).select_related("series"):
            if added and meeting.pk not in told:
                notifications.notify_meeting(meeting, "invitation", users=User.objects.filter(pk__in=added))
            if removed:
                notifications.notify_meeting(meeting, "cancellation", users=User.objects.filter(pk__in=removed))
    if series.is_active:
        meetings_materialise(series=series)
    return series


def _busy_for(invitee_ids: list[int], start: datetime.datetime, end: datetime.datetime):
    """What the invited people already have between ``start`` and ``end``: time ranges of other
    meetings (not cancelled) and of events they are registered for, and the days of their approved
    hospitations (as visitor or host person, whole days)."""
    intervals = list(
        Meeting.objects.filter(series__invitees__in=invitee_ids, start__lt=end, end__gt=start)
        .exclude(status=MeetingStatus.CANCELLED)
        .values_list("start", "end")
        .distinct()
    )
    intervals += list(
        InfoEvent.objects.filter(
            registrations__person_id__in=invitee_ids,
            registrations__status=RegistrationStatus.REGISTERED,
            is_cancelled=False,
            start__lt=end,
            end__gt=start,
        )
        .values_list("start", "end")
        .distinct()
    )
    days = set(
        Hospitation.objects.filter(
            Q(requester_id__in=invitee_ids) | Q(host_person_id__in=invitee_ids),
            status=HospitationStatus.APPROVED,
            date__gte=_local_naive(start).date(),
            date__lte=_local_naive(end).date(),
        ).values_list("date", flat=True)
    )
    return intervals, days


def propose_start(
    occurrence: datetime.datetime, duration: datetime.timedelta, busy_intervals, busy_days
) -> datetime.datetime:
    """The proposed start for the date a cadence gave: the same local time on the first working day
    from that date on on which no invitee is busy (see ``_busy_for``). Saturday 3 October 2026 (a
    Saturday and German Unity Day) becomes Monday 5 October at the same time. If nothing is free
    within ``MAX_SHIFT_DAYS`` the first working day is proposed."""
    local = occurrence.astimezone(LOCAL_TZ)
    time_of_day, day = local.time(), local.date()
    first_working_day = None
    for _step in range(MAX_SHIFT_DAYS + 1):
        if is_working_day(day):
            start = datetime.datetime.combine(day, time_of_day, tzinfo=LOCAL_TZ)
            first_working_day = first_working_day or start
            end = start + duration
            if day not in busy_days and not any(s < end and start < e for s, e in busy_intervals):
                return start
        day += datetime.timedelta(days=1)
    return first_working_day or local


def _materialise_series(series: MeetingSeries, now: datetime.datetime) -> int:
    rule = parse_cadence(series.rrule, series.first_start)
    until = now + datetime.timedelta(days=series.horizon_days)
    occurrences = [
        naive.replace(tzinfo=LOCAL_TZ) for naive in rule.between(_local_naive(now), _local_naive(until), inc=True)
    ]
    existing = set(series.meetings.values_list("occurrence", flat=True))
    missing = [o for o in occurrences if o > now and o not in existing]
    if not missing:
        return 0
    duration = datetime.timedelta(minutes=series.duration_minutes)
    invitee_ids = list(series.invitees.values_list("pk", flat=True))
    busy_intervals, busy_days = _busy_for(
        invitee_ids, now, until + datetime.timedelta(days=MAX_SHIFT_DAYS + 2) + duration
    )
    for occurrence in missing:
        start = propose_start(occurrence, duration, busy_intervals, busy_days)
        Meeting.objects.create(
            series=series, occurrence=occurrence, start=start, end=start + duration, location=series.location,
            video_link=series.video_link, status=MeetingStatus.PROPOSED,
        )  # fmt: skip
        busy_intervals.append((start, start + duration))
    return len(missing)


def meetings_materialise(*, now: datetime.datetime | None = None, series: MeetingSeries | None = None) -> int:
    """The beat job: for every active series (or the one given) create the meetings the cadence
    yields from ``now`` up to ``now + horizon_days`` that do not exist yet, as proposals (see
    ``propose_start``). Idempotent: an occurrence exists once (unique ``(series, occurrence)``), and a
    cancelled or moved meeting keeps its occurrence, so it is never proposed again. Each series in its
    own transaction under a row lock of the series, so two runs at once create nothing twice.
    Returns the number of meetings created."""
    now = now or timezone.now()
    if series is not None:
        ids = [series.pk]
    else:
        ids = list(MeetingSeries.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    created = 0
    for pk in ids:
        try:
            with transaction.atomic():
                locked = MeetingSeries.objects.select_for_update().filter(pk=pk, is_active=True).first()
                if locked is not None:
                    created += _materialise_series(locked, now)
        except ValidationError:
            logger.warning("meeting series %s has an invalid cadence; nothing materialised", pk)
    return created


# --- meetings -------------------------------------------------------------------------------------


def _lock_meeting(meeting: Meeting) -> Meeting:
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    locked.series = MeetingSeries.objects.get(pk=locked.series_id)
    return locked


@transaction.atomic
def meeting_confirm(*, meeting: Meeting, user) -> Meeting:
    """The coordinator confirms a proposed date: every invitee gets the invitation (METHOD:REQUEST)."""
    meeting = _lock_meeting(meeting)
    _require_coordinator(user, meeting.series.district_id)
    if meeting.status != MeetingStatus.PROPOSED:
        raise ValidationError({"status": [_("Only a proposed meeting can be confirmed.")]})
    if meeting.start <= timezone.now():
        raise ValidationError({"start": [_("This date lies in the past.")]})
    meeting.status = MeetingStatus.CONFIRMED
    meeting.save(update_fields=["status", "updated_at"])
    notifications.notify_meeting(meeting, "invitation")
    return meeting


@transaction.atomic
def meeting_move(
    *,
    meeting: Meeting,
    user,
    start: datetime.datetime,
    end: datetime.datetime | None = None,
    location: str | None = None,
    video_link: str | None = None,
) -> Meeting:
    """The coordinator moves a date (or changes its place or video link). ``end`` defaults to the new
    start plus the meeting's length. A confirmed meeting raises its SEQUENCE and every invitee gets
    the update (and its reminders start afresh); a proposal changes silently — nobody was invited."""
    meeting = _lock_meeting(meeting)
    _require_coordinator(user, meeting.series.district_id)
    if meeting.status not in (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED):
        raise ValidationError({"status": [_("A held or cancelled meeting cannot be moved.")]})
    try:
        start = _aware(start)
    except ValidationError as exc:
        raise ValidationError({"start": exc.messages}) from None
    if start <= timezone.now():
        raise ValidationError({"start": [_("The new date must lie in the future.")]})
    if _beyond_planning(start, timezone.now()):
        raise ValidationError({"start": [_planning_message()]})
    if end is None:
        end = start + (meeting.end - meeting.start)
    elif not isinstance(end, datetime.datetime) or end.tzinfo is None or end <= start:
        raise ValidationError({"end": [_("The end must lie after the start.")]})
    high = DURATION_MINUTES_RANGE[1]
    if end - start > datetime.timedelta(minutes=high):
        raise ValidationError({"end": [_("A meeting lasts at most %(hours)s hours.") % {"hours": high // 60}]})
    new = {
        "start": start,
        "end": end,
        "location": meeting.location if location is None else location.strip(),
        "video_link": meeting.video_link if video_link is None else video_link.strip(),
    }
    errors: dict[str, list[str]] = {}
    if len(new["location"]) > 300:
        _add(errors, "location", _("Ensure this value has at most 300 characters."))
    if new["video_link"]:
        try:
            URLValidator(schemes=["https", "http"])(new["video_link"])
        except ValidationError:
            _add(errors, "video_link", _("Enter a valid URL."))
    if errors:
        raise ValidationError(errors)
    if all(getattr(meeting, name) == value for name, value in new.items()):
        return meeting
    moved = new["start"] != meeting.start or new["end"] != meeting.end
    for name, value in new.items():
        setattr(meeting, name, value)
    if meeting.status == MeetingStatus.CONFIRMED:
        meeting.sequence += 1
        if moved:
            Reminder.objects.filter(kind="meeting", object_id=meeting.pk).delete()
        notifications.notify_meeting(meeting, "update")
    meeting.save()
    return meeting


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, user, reason: str) -> Meeting:
    """The coordinator cancels a date with a reason (kept in the application). A confirmed meeting
    raises its SEQUENCE and every invitee gets the cancellation (METHOD:CANCEL)."""
    meeting = _lock_meeting(meeting)
    _require_coordinator(user, meeting.series.district_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    if len(reason) > 2000:
        raise ValidationError({"reason": [_("Ensure this value has at most 2000 characters.")]})
    if meeting.status not in (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED):
        raise ValidationError({"status": [_("A held or cancelled meeting cannot be cancelled.")]})
    was_confirmed = meeting.status == MeetingStatus.CONFIRMED
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancel_reason = reason
    if was_confirmed:
        meeting.sequence += 1
        notifications.notify_meeting(meeting, "cancellation")
    meeting.save()
    return meeting


@transaction.atomic
def agenda_item_add(*, meeting: Meeting, user, title: str, notes: str = "") -> AgendaItem:
    """Anyone who sees the meeting — an invitee, a lead of a participating agency, the coordinator —
    proposes a topic for a coming (proposed or confirmed) meeting."""
    meeting = _lock_meeting(meeting)
    if not Meeting.objects.visible_to(user).filter(pk=meeting.pk).exists():
        raise PermissionDenied(_("Only invited people, their leads and the coordinator propose topics."))
    if meeting.status not in (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED):
        raise ValidationError({"meeting": [_("Topics can only be proposed for a coming meeting.")]})
    item = AgendaItem(meeting=meeting, proposed_by=user, title=(title or "").strip(), notes=(notes or "").strip())
    try:
        item.full_clean(exclude=["meeting", "proposed_by"])
    except ValidationError as exc:
        raise ValidationError(_errors_of(exc)) from None
    item.save()
    return item


@transaction.atomic
def meeting_minutes_save(*, meeting: Meeting, user, minutes: str, present_user_ids) -> Meeting:
    """The coordinator records the minutes and who was present (of the invitees) of a confirmed
    meeting that has begun; the meeting is then held. Saving again corrects both."""
    meeting = _lock_meeting(meeting)
    _require_coordinator(user, meeting.series.district_id)
    if meeting.status not in (MeetingStatus.CONFIRMED, MeetingStatus.HELD):
        raise ValidationError({"status": [_("Minutes belong to a confirmed meeting.")]})
    if meeting.start > timezone.now():
        raise ValidationError({"minutes": [_("Minutes can be written once the meeting has begun.")]})
    minutes = (minutes or "").strip()
    present = set(_pks(present_user_ids))
    invitees = set(meeting.series.invitees.values_list("pk", flat=True))
    errors: dict[str, list[str]] = {}
    if len(minutes) > 10_000:
        _add(errors, "minutes", _("Ensure this value has at most 10000 characters."))
    if not present <= invitees:
        _add(errors, "present_user_ids", _("Only invited people can be marked present."))
    if errors:
        raise ValidationError(errors)
    meeting.minutes = minutes
    meeting.status = MeetingStatus.HELD
    meeting.save(update_fields=["minutes", "status", "updated_at"])
    Attendance.objects.filter(meeting=meeting).delete()
    Attendance.objects.bulk_create(
        Attendance(meeting=meeting, person_id=pk, present=pk in present) for pk in sorted(invitees)
    )
    return meeting


@transaction.atomic
def action_item_add(*, meeting: Meeting, user, title: str, owner, due_on: datetime.date) -> ActionItem:
    """The coordinator or an invitee records an action agreed in a confirmed or held meeting; the
    owner (an invitee or the coordinator) is told and reminded before ``due_on``."""
    meeting = _lock_meeting(meeting)
    district_id = meeting.series.district_id
    invitees = set(meeting.series.invitees.values_list("pk", flat=True))
    if not (_is_coordinator_of(user, district_id) or user.pk in invitees):
        raise PermissionDenied(_("Only the coordinator and invited people record action items."))
    if meeting.status not in (MeetingStatus.CONFIRMED, MeetingStatus.HELD):
        raise ValidationError({"meeting": [_("Action items belong to a confirmed or held meeting.")]})
    owner = _user(owner)
    errors: dict[str, list[str]] = {}
    if owner is None or not owner.is_active or not (owner.pk in invitees or _is_coordinator_of(owner, district_id)):
        _add(errors, "owner", _("The owner must be one of the invited people."))
    if not isinstance(due_on, datetime.date) or isinstance(due_on, datetime.datetime):
        _add(errors, "due_on", _("Enter a valid date."))
    elif due_on < timezone.localdate():
        _add(errors, "due_on", _("The due date must not lie in the past."))
    item = ActionItem(meeting=meeting, title=(title or "").strip(), owner=owner, due_on=due_on)
    try:
        item.full_clean(exclude=["meeting", "owner", "due_on"])
    except ValidationError as exc:
        for field, messages in _errors_of(exc).items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    item.save()
    if owner.pk != user.pk:
        notifications.notify_action_item_assigned(item)
    return item


@transaction.atomic
def action_item_done(*, item: ActionItem, user) -> ActionItem:
    """The owner or the coordinator marks an action item done (once)."""
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    district_id = Meeting.objects.filter(pk=item.meeting_id).values_list("series__district_id", flat=True).get()
    if not (item.owner_id == user.pk or _is_coordinator_of(user, district_id)):
        raise PermissionDenied(_("Only the owner or the coordinator completes an action item."))
    if item.done_at is not None:
        raise ValidationError({"done_at": [_("This action item is done already.")]})
    item.done_at = timezone.now()
    item.save(update_fields=["done_at"])
    return item


# --- hospitations ---------------------------------------------------------------------------------


def visit_day_problem(day: datetime.date) -> str | None:
    """What is wrong with a wished day of a hospitation, or None: it lies in the future, at most
    ``PLANNING_YEARS`` ahead (the request form checks each of its date fields with this)."""
    if day <= timezone.localdate():
        return _("Wished dates must lie in the future.")
    if _beyond_planning(_day_start(day), timezone.now()):
        return _planning_message()
    return None


def _wished_dates(values) -> list[datetime.date]:
    if not isinstance(values, list | tuple) or not values:
        raise ValidationError({"wished_dates": [_("Name at least one wished date.")]})
    dates = set()
    for value in values:
        if isinstance(value, datetime.datetime):
            value = value.date()
        elif isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                raise ValidationError({"wished_dates": [_("Enter a valid date.")]}) from None
        if not isinstance(value, datetime.date):
            raise ValidationError({"wished_dates": [_("Enter a valid date.")]})
        dates.add(value)
    if len(dates) > MAX_WISHED_DATES:
        raise ValidationError(
            {"wished_dates": [_("Name at most %(count)s wished dates.") % {"count": MAX_WISHED_DATES}]}
        )
    for day in sorted(dates):
        if problem := visit_day_problem(day):
            raise ValidationError({"wished_dates": [problem]})
    return sorted(dates)


@transaction.atomic
def hospitation_request(*, user, host_agency, wished_dates: list[datetime.date], purpose: str) -> Hospitation:
    """Someone of one side asks to shadow the other side's agency of their district. Their own agency
    is taken from their membership, never from the request; the host agency's leads are told."""
    requester_agency = _own_agency(user)
    host = Agency.objects.filter(pk=getattr(host_agency, "pk", host_agency), is_active=True).first()
    if host is None:
        raise ValidationError({"host_agency": [_("Choose an active agency.")]})
    if _side(host) is None or _side(host) == _side(requester_agency):
        raise ValidationError(
            {"host_agency": [_("Hospitations go to the other side: police to a youth office and back.")]}
        )
    if host.district_id != requester_agency.district_id:
        raise ValidationError({"host_agency": [_("The host agency must belong to your district.")]})
    dates = _wished_dates(wished_dates)
    h = Hospitation(
        requester=user, requester_agency=requester_agency, host_agency=host,
        wished_dates=[d.isoformat() for d in dates], purpose=(purpose or "").strip(),
    )  # fmt: skip
    try:
        h.full_clean(exclude=["requester", "requester_agency", "host_agency", "host_person"])
    except ValidationError as exc:
        raise ValidationError(_errors_of(exc)) from None
    h.save()
    notifications.notify_hospitation_requested(h, agency_leads(host))
    return h


def _lock_hospitation(hospitation: Hospitation) -> Hospitation:
    locked = Hospitation.objects.select_for_update().get(pk=hospitation.pk)
    locked.host_agency = Agency.objects.get(pk=locked.host_agency_id)
    return locked


def _require_host_lead(user, h: Hospitation) -> None:
    if h.host_agency_id not in _lead_agency_ids(user):
        raise PermissionDenied(_("Only the lead of the host agency decides on a hospitation."))


def host_capacity(agency: Agency) -> int:
    """Visitors an agency takes per day at most: its own ``HostCapacity`` or ``HOSPITATION_MAX_PER_DAY``."""
    own = HostCapacity.objects.filter(agency=agency).values_list("max_visitors_per_day", flat=True).first()
    return own if own is not None else settings.HOSPITATION_MAX_PER_DAY


@transaction.atomic
def hospitation_approve(*, hospitation: Hospitation, user, date: datetime.date, host_person) -> Hospitation:
    """The host agency's lead approves with a date and a host person of the agency. The host agency's
    row is locked while the day's visitors are counted, so two approvals at once cannot exceed its
    capacity. Visitor and host person get the confirmation with the calendar entry."""
    h = _lock_hospitation(hospitation)
    _require_host_lead(user, h)
    if h.status != HospitationStatus.REQUESTED:
        raise ValidationError({"status": [_("Only a requested hospitation can be approved.")]})
    if not isinstance(date, datetime.date) or isinstance(date, datetime.datetime):
        raise ValidationError({"date": [_("Enter a valid date.")]})
    if date <= timezone.localdate():
        raise ValidationError({"date": [_("The date must lie in the future.")]})
    if _beyond_planning(_day_start(date), timezone.now()):  # 9999-12-31 was a 500 in the calendar entry
        raise ValidationError({"date": [_planning_message()]})
    host_person = _user(host_person)
    if host_person is None or not Membership.objects.active().filter(user=host_person, agency=h.host_agency).exists():
        raise ValidationError({"host_person": [_("The host person must work for the host agency.")]})
    agency = Agency.objects.select_for_update().get(pk=h.host_agency_id)
    taken = (
        Hospitation.objects.filter(
            host_agency=agency, date=date, status__in=[HospitationStatus.APPROVED, HospitationStatus.COMPLETED]
        )
        .exclude(pk=h.pk)
        .count()
    )
    if taken >= host_capacity(agency):
        raise ValidationError({"date": [_("The host agency takes no more visitors on this day.")]})
    h.status = HospitationStatus.APPROVED
    h.date = date
    h.host_person = host_person
    h.save(update_fields=["status", "date", "host_person"])
    notifications.notify_hospitation_approved(h)
    return h


@transaction.atomic
def hospitation_decline(*, hospitation: Hospitation, user, reason: str) -> Hospitation:
    """The host agency's lead declines a request — or withdraws an approval, which takes the date
    out of both calendars (METHOD:CANCEL, SEQUENCE raised). A reason is required."""
    h = _lock_hospitation(hospitation)
    _require_host_lead(user, h)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    if len(reason) > 2000:
        raise ValidationError({"reason": [_("Ensure this value has at most 2000 characters.")]})
    if h.status not in (HospitationStatus.REQUESTED, HospitationStatus.APPROVED):
        raise ValidationError({"status": [_("This hospitation is decided already.")]})
    if h.status == HospitationStatus.APPROVED:
        h.sequence += 1
    h.status = HospitationStatus.DECLINED
    h.decline_reason = reason
    h.save(update_fields=["status", "decline_reason", "sequence"])
    notifications.notify_hospitation_declined(h)
    return h


@transaction.atomic
def hospitation_complete(*, hospitation: Hospitation, user, feedback: str) -> Hospitation:
    """The visitor or the host person closes an approved hospitation on or after its day, with short
    feedback."""
    h = _lock_hospitation(hospitation)
    if user.pk not in (h.requester_id, h.host_person_id):
        raise PermissionDenied(_("Only the visitor or the host person completes a hospitation."))
    if h.status != HospitationStatus.APPROVED:
        raise ValidationError({"status": [_("Only an approved hospitation can be completed.")]})
    if h.date > timezone.localdate():
        raise ValidationError({"date": [_("A hospitation is completed on or after its day.")]})
    feedback = (feedback or "").strip()
    if not feedback:
        raise ValidationError({"feedback": [_("Give short feedback.")]})
    if len(feedback) > 2000:
        raise ValidationError({"feedback": [_("Ensure this value has at most 2000 characters.")]})
    h.status = HospitationStatus.COMPLETED
    h.feedback = feedback
    h.save(update_fields=["status", "feedback"])
    return h


# --- information events ---------------------------------------------------------------------------


@transaction.atomic
def event_create(
    *,
    user,
    host_agency,
    title: str,
    description: str,
    audience: str,
    start: datetime.datetime,
    end: datetime.datetime,
    place: str,
    capacity: int,
    registration_deadline: datetime.datetime,
) -> InfoEvent:
    """A lead of the host agency (office lead; police coordinator for the authority and its stations)
    or the district coordinator offers an information event."""
    host = Agency.objects.filter(pk=getattr(host_agency, "pk", host_agency), is_active=True).first()
    if host is None:
        raise ValidationError({"host_agency": [_("Choose an active agency.")]})
    if not (host.pk in _lead_agency_ids(user) or _is_coordinator_of(user, host.district_id)):
        raise PermissionDenied(_("Only a lead of the host agency or the district coordinator offers events."))
    event = InfoEvent(
        host_agency=host, title=(title or "").strip(), description=(description or "").strip(), audience=audience,
        start=start, end=end, place=(place or "").strip(), capacity=capacity,
        registration_deadline=registration_deadline, created_by=user,
    )  # fmt: skip
    errors: dict[str, list[str]] = {}
    try:
        event.full_clean(exclude=["host_agency", "created_by"])
    except ValidationError as exc:
        errors.update(_errors_of(exc))
    now = timezone.now()
    times_ok = all(isinstance(v, datetime.datetime) and v.tzinfo for v in (start, end, registration_deadline))
    if not errors.keys() & {"start", "end", "registration_deadline"}:
        if not times_ok:
            _add(errors, "start", _("Enter a date and time with a time zone."))
        else:
            if start <= now:
                _add(errors, "start", _("The event must lie in the future."))
            elif _beyond_planning(start, now):
                _add(errors, "start", _planning_message())
            if end <= start:
                _add(errors, "end", _("The end must lie after the start."))
            elif end - start > datetime.timedelta(days=EVENT_MAX_DAYS):
                _add(errors, "end", _("An event lasts at most %(days)s days.") % {"days": EVENT_MAX_DAYS})
            if not now < registration_deadline <= start:
                _add(errors, "registration_deadline", _("Registration must close between now and the start."))
    if errors:
        raise ValidationError(errors)
    event.save()
    return event


def _promote_waitlist(event: InfoEvent) -> list[Registration]:
    """Fill free seats from the waiting list, first come first served (``created_at``). The caller
    holds the event's row lock."""
    free = event.capacity - event.registrations.filter(status=RegistrationStatus.REGISTERED).count()
    if free <= 0 or event.is_cancelled or event.start <= timezone.now():
        return []
    promoted = list(
        event.registrations.filter(status=RegistrationStatus.WAITLISTED)
        .select_related("person")
        .order_by("created_at", "pk")[:free]
    )
    for registration in promoted:
        registration.status = RegistrationStatus.REGISTERED
        registration.save(update_fields=["status", "updated_at"])
        notifications.notify_registration(event, registration.person, "promoted")
    return promoted


def _lock_event(event: InfoEvent) -> InfoEvent:
    return InfoEvent.objects.select_for_update().get(pk=event.pk)


@transaction.atomic
def event_register(*, event: InfoEvent, user) -> Registration:
    """A person who sees the event registers before the deadline: a seat while seats are free, else
    the waiting list. Registering again changes nothing; a cancelled registration is reactivated at
    the end of the queue. The event's row is locked before seats are counted, so of two people racing
    for the last seat exactly one gets it."""
    event = _lock_event(event)
    if not InfoEvent.objects.visible_to(user).filter(pk=event.pk).exists():
        raise PermissionDenied(_("This event is not offered to you."))
    if event.is_cancelled:
        raise ValidationError({"event": [_("This event has been cancelled.")]})
    now = timezone.now()
    if now > event.registration_deadline or now >= event.start:
        raise ValidationError({"registration_deadline": [_("Registration has closed.")]})
    _promote_waitlist(event)
    registration = Registration.objects.select_for_update().filter(event=event, person=user).first()
    if registration is not None and registration.status != RegistrationStatus.CANCELLED:
        return registration
    registered = event.registrations.filter(status=RegistrationStatus.REGISTERED).count()
    waiting = event.registrations.filter(status=RegistrationStatus.WAITLISTED).exists()
    status = RegistrationStatus.REGISTERED if registered < event.capacity and not waiting else (
        RegistrationStatus.WAITLISTED
    )  # fmt: skip
    # The queue is ordered by ``created_at``: a newcomer (or someone coming back) queues after everyone
    # already there, even within the same clock tick.
    last = event.registrations.aggregate(last=Max("created_at"))["last"]
    queued_at = max(now, last + datetime.timedelta(microseconds=1)) if last else now
    if registration is None:
        registration = Registration.objects.create(event=event, person=user, status=status, created_at=queued_at)
    else:
        registration.status, registration.created_at, registration.attended = status, queued_at, False
        registration.save(update_fields=["status", "created_at", "attended", "updated_at"])
    notifications.notify_registration(event, user, str(status))
    return registration


@transaction.atomic
def event_cancel_registration(*, event: InfoEvent, user) -> Registration:
    """A person withdraws before the event starts; a freed seat goes to the first on the waiting list
    (who is told, with the calendar entry)."""
    event = _lock_event(event)
    registration = (
        Registration.objects.select_for_update()
        .filter(event=event, person=user)
        .exclude(status=RegistrationStatus.CANCELLED)
        .first()
    )
    if registration is None:
        raise ValidationError({"registration": [_("You are not registered for this event.")]})
    if event.start <= timezone.now():
        raise ValidationError({"registration": [_("The event has begun.")]})
    previous = registration.status
    registration.status = RegistrationStatus.CANCELLED
    registration.save(update_fields=["status", "updated_at"])
    if previous == RegistrationStatus.REGISTERED:
        notifications.notify_registration(event, user, "cancelled")
        _promote_waitlist(event)
    else:
        notifications.notify_waitlist_cancelled(event, user)
    return registration


# --- reminders ------------------------------------------------------------------------------------


def _due_offset(start: datetime.datetime, now: datetime.datetime, offsets) -> str | None:
    """The offset whose reminder is due now: the shortest one whose time has come. A longer one is
    not sent beside it (a date confirmed 20 hours ahead gets the 1-day reminder only); a reminder
    missed while the job was down goes out late as long as no shorter one is due."""
    if start <= now:
        return None
    for label, delta in offsets:  # shortest first
        if start - delta <= now:
            return label
    return None


def _remind(kind: str, obj, offset: str, user, sent: set) -> int:
    """Record and send one reminder, exactly once: the ``Reminder`` row (unique per object, offset
    and person) and the notification are written in one transaction; a concurrent or repeated run
    hits the unique constraint and sends nothing."""
    if not user.is_active or (obj.pk, offset, user.pk) in sent:
        return 0
    try:
        with transaction.atomic():
            Reminder.objects.create(kind=kind, object_id=obj.pk, offset=offset, recipient=user)
            notifications.notify_reminder(kind, obj, user)
    except IntegrityError:
        return 0
    return 1


def _sent(kind: str, objects) -> set:
    ids = [obj.pk for obj in objects]
    return set(Reminder.objects.filter(kind=kind, object_id__in=ids).values_list("object_id", "offset", "recipient_id"))


def reminders_send(*, now: datetime.datetime | None = None) -> int:
    """The beat job: reminders at the configured offsets (``MEETING_REMINDER_OFFSETS``, 7 days and
    1 day by default) before confirmed meetings (to the invitees), information events (to those
    registered) and the due day of open action items (to the owner, counted from 08:00), and on the
    day before an approved hospitation (to visitor and host person). Returns how many were sent."""
    now = now or timezone.now()
    offsets = reminder_offsets()
    if not offsets:
        return 0
    until = now + offsets[-1][1]
    count = 0

    meetings = list(
        Meeting.objects.filter(status=MeetingStatus.CONFIRMED, start__gt=now, start__lte=until)
        .select_related("series")
        .prefetch_related("series__invitees")
    )
    sent = _sent("meeting", meetings)
    for meeting in meetings:
        offset = _due_offset(meeting.start, now, offsets)
        for person in meeting.series.invitees.all() if offset else ():
            count += _remind("meeting", meeting, offset, person, sent)

    events = list(
        InfoEvent.objects.filter(is_cancelled=False, start__gt=now, start__lte=until).prefetch_related(
            "registrations__person"
        )
    )
    sent = _sent("event", events)
    for event in events:
        offset = _due_offset(event.start, now, offsets)
        for registration in event.registrations.all() if offset else ():
            if registration.status == RegistrationStatus.REGISTERED:
                count += _remind("event", event, offset, registration.person, sent)

    hospitation_offsets = reminder_offsets(HOSPITATION_REMINDER_OFFSETS)
    last_day = _local_naive(now + hospitation_offsets[-1][1]).date()
    hospitations = list(
        Hospitation.objects.filter(
            status=HospitationStatus.APPROVED, date__gte=_local_naive(now).date(), date__lte=last_day
        ).select_related("host_agency", "requester", "host_person")
    )
    sent = _sent("hospitation", hospitations)
    for h in hospitations:
        offset = _due_offset(_day_start(h.date), now, hospitation_offsets)
        for person in (h.requester, h.host_person) if offset else ():
            if person is not None:
                count += _remind("hospitation", h, offset, person, sent)

    items = list(
        ActionItem.objects.filter(
            done_at__isnull=True,
            due_on__gte=_local_naive(now).date(),
            due_on__lte=_local_naive(until).date(),
        )
        .exclude(meeting__status=MeetingStatus.CANCELLED)
        .select_related("meeting__series", "owner")
    )
    sent = _sent("action_item", items)
    for item in items:
        offset = _due_offset(_day_start(item.due_on), now, offsets)
        if offset:
            count += _remind("action_item", item, offset, item.owner, sent)
    return count


# --- calendar feed --------------------------------------------------------------------------------


@transaction.atomic
def feed_token_get_or_create(*, user) -> CalendarFeedToken:
    """The secret of a person's calendar subscription; created on first use."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        raise PermissionDenied(_("Log in to subscribe to your calendar."))
    token = CalendarFeedToken.objects.filter(user=user).first()
    if token is not None:
        return token
    try:
        with transaction.atomic():
            return CalendarFeedToken.objects.create(user=user, token=secrets.token_urlsafe(32))
    except IntegrityError:  # created by a concurrent request
        return CalendarFeedToken.objects.get(user=user)


@transaction.atomic
def feed_token_revoke(*, user) -> None:
    """Revoke a person's subscription: the old address stops working at once. The next
    ``feed_token_get_or_create`` issues a new secret."""
    CalendarFeedToken.objects.filter(user=user).delete()
