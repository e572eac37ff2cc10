"""HTML pages of the cooperation programme: calendar, liaison meetings and their series,
hospitations, information events, the calendar subscription and the annual report.

Views parse, call a selector or service and render. Every object comes from its model's
``visible_to`` (outside a person's scope: 404, the same as nonexistent); a service's
``PermissionDenied`` inside the scope is a 403, its ``ValidationError`` is shown next to the fields
with everything typed kept.
"""

import calendar as pycalendar
import datetime
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES, POLICE_ROLES, Agency, District, Role
from core.dates import last_plausible_year, plausible_day
from core.pagination import InvalidCursor, keyset_page
from core.text import is_number

from . import ics, selectors, services
from .forms import (
    ActionItemForm,
    AgendaItemForm,
    CancelForm,
    ConfirmForm,
    EventForm,
    HospitationApproveForm,
    HospitationCompleteForm,
    HospitationDeclineForm,
    HospitationRequestForm,
    MinutesForm,
    MoveForm,
    SeriesForm,
    error_summary,
    other_side_agencies,
    parse_year,
    people_of,
    person_name,
    show_service_errors,
    year_choices,
)
from .models import (
    Audience,
    CalendarFeedToken,
    Hospitation,
    HospitationStatus,
    InfoEvent,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    _lead_agency_ids,
)

PAGE_SIZE = 25
LIST_DAYS = 90  # the list view's default range
MAX_LIST_DAYS = 366
OPEN_MEETING = (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED)


# --- Who is who -------------------------------------------------------------------------------------


def coordinated_district_ids(user) -> set[int]:
    return actor_of(user).coordinator_district_ids


def _require(condition: bool) -> None:
    if not condition:
        raise PermissionDenied


def _own_district_id(user):
    """The district a coordinator works for (the first, should they coordinate several)."""
    districts = sorted(coordinated_district_ids(user))
    if not districts:
        raise PermissionDenied
    return districts[0]


def _page(request, queryset, ordering):
    """One keyset page; an invalid cursor (edited or stale link) shows the first page instead."""
    cursor = request.GET.get("cursor") or None
    try:
        return keyset_page(queryset, ordering=ordering, cursor=cursor, size=PAGE_SIZE), bool(cursor)
    except InvalidCursor:
        messages.warning(request, _("The page link was invalid; showing the first page."))
        return keyset_page(queryset, ordering=ordering, cursor=None, size=PAGE_SIZE), False


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _parse_date(value) -> datetime.date | None:
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or plausible_day(day) else None


def _unreadable(request, value) -> None:
    """A date the calendar cannot show (mistyped, impossible, or outside 2000 to ten years ahead): said
    once on the page, which shows its default instead (QA of 2026-12-05: the year 0001 or 9999 was a 500)."""
    messages.warning(
        request,
        _("“%(value)s” is no date the calendar can show (from 2000 to %(last)s): showing the default instead.")
        % {"value": value[:20], "last": last_plausible_year()},
    )


# --- Calendar -----------------------------------------------------------------------------------------

KIND_LABELS = {
    "meeting": lambda: _("Liaison meeting"),
    "hospitation": lambda: _("Hospitation"),
    "event": lambda: _("Information event"),
}
KIND_URLS = {
    "meeting": "meetings:meeting_detail",
    "hospitation": "meetings:hospitation_detail",
    "event": "meetings:event_detail",
}
STATUS_CHOICES = {
    "scheduled": "",  # an event one oversees without being registered: nothing to say
    **dict(MeetingStatus.choices),
    **dict(HospitationStatus.choices),
    **dict(RegistrationStatus.choices),
}


def _item_url(item: dict) -> str:
    for name in (item.get("url_name"), KIND_URLS.get(item.get("kind"))):
        if not name:
            continue
        try:
            return reverse(name, args=[item["id"]])
        except NoReverseMatch:
            continue
    return ""


def _as_local(value):
    """A calendar entry's start or end as a local datetime (a whole-day date stays a date)."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    return value


def _day_of(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def calendar_entries(user, start: datetime.datetime, end: datetime.datetime) -> list[SimpleNamespace]:
    """``selectors.calendar_items_for`` as the pages show it: local times, labels and links."""
    entries = []
    for item in selectors.calendar_items_for(user, start, end):
        begins, ends = _as_local(item.get("start")), _as_local(item.get("end"))
        status = item.get("status") or ""
        entries.append(
            SimpleNamespace(
                kind=item.get("kind", ""),
                kind_label=KIND_LABELS.get(item.get("kind"), lambda: "")(),
                id=item.get("id"),
                title=item.get("title", ""),
                start=begins,
                end=ends,
                day=_day_of(begins),
                all_day=not isinstance(begins, datetime.datetime),
                place=item.get("place") or "",
                status=status,
                status_label=STATUS_CHOICES.get(status, status),
                cancelled=status in ("cancelled", "declined"),
                url=_item_url(item),
            )
        )
    return sorted(entries, key=_sort_key)


def _sort_key(entry):
    time = entry.start.time() if isinstance(entry.start, datetime.datetime) else datetime.time.min
    return (entry.day, time, entry.title)


def _parse_month(value) -> datetime.date | None:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        first = datetime.date(year, month, 1)
    except ValueError:
        return None
    return first if plausible_day(first) else None


def _shift_month(first: datetime.date, months: int) -> datetime.date:
    index = first.year * 12 + first.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


@login_required
def calendar_month(request):
    """The person's month: meetings, hospitations and events, one week a row (Monday first)."""
    raw = request.GET.get("month")
    first = _parse_month(raw)
    if first is None:
        if raw:
            _unreadable(request, raw)
        first = timezone.localdate().replace(day=1)
    weeks_of_days = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    grid_start, grid_end = weeks_of_days[0][0], weeks_of_days[-1][-1] + datetime.timedelta(days=1)
    entries = calendar_entries(request.user, _local_midnight(grid_start), _local_midnight(grid_end))
    by_day: dict[datetime.date, list] = {}
    for entry in entries:
        by_day.setdefault(entry.day, []).append(entry)
    today = timezone.localdate()
    weeks = [
        [
            SimpleNamespace(
                date=day, in_month=day.month == first.month, today=day == today, entries=by_day.get(day, [])
            )
            for day in week
        ]
        for week in weeks_of_days
    ]
    weekdays = [formats.date_format(weeks_of_days[0][i], "l") for i in range(7)]
    context = {
        "first": first,
        "weeks": weeks,
        "weekdays": weekdays,
        "previous": _shift_month(first, -1).strftime("%Y-%m"),
        "next": _shift_month(first, 1).strftime("%Y-%m"),
        "this_month": today.replace(day=1) == first,
        "month_entries": [e for e in entries if e.day.month == first.month and e.day.year == first.year],
    }
    return render(request, "meetings/calendar_month.html", context)


@login_required
def calendar_list(request):
    """The person's dates as a list, grouped by day (default: the next 90 days)."""
    today = timezone.localdate()
    for name in ("from", "to"):
        if (raw := request.GET.get(name)) and _parse_date(raw) is None:
            _unreadable(request, raw)
    start = _parse_date(request.GET.get("from")) or today
    end = _parse_date(request.GET.get("to")) or start + datetime.timedelta(days=LIST_DAYS)
    if end < start:
        start, end = end, start
    end = min(end, start + datetime.timedelta(days=MAX_LIST_DAYS))
    entries = calendar_entries(request.user, _local_midnight(start), _local_midnight(end + datetime.timedelta(days=1)))
    days: dict[datetime.date, list] = {}
    for entry in entries:
        days.setdefault(entry.day, []).append(entry)
    context = {
        "start": start,
        "end": end,
        "days": [SimpleNamespace(date=d, entries=e, today=d == today) for d, e in days.items()],
    }
    return render(request, "meetings/calendar_list.html", context)


# --- Series -------------------------------------------------------------------------------------------


@login_required
def series_list(request):
    user = request.user
    queryset = MeetingSeries.objects.visible_to(user).prefetch_related("agencies")
    page, paged = _page(request, queryset, ["title", "id"])
    series_ids = [s.pk for s in page.items]
    now = timezone.now()
    upcoming = {}
    for meeting in (
        Meeting.objects.filter(series_id__in=series_ids, start__gte=now, status__in=OPEN_MEETING)
        .order_by("series_id", "start", "id")
        .only("id", "series_id", "start", "status")
    ):
        upcoming.setdefault(meeting.series_id, meeting)
    rows = [SimpleNamespace(series=s, next_meeting=upcoming.get(s.pk)) for s in page.items]
    context = {"page": page, "paged": paged, "rows": rows, "can_create": bool(coordinated_district_ids(user))}
    return render(request, "meetings/series_list.html", context)


@login_required
def series_create(request):
    user = request.user
    districts = coordinated_district_ids(user)
    _require(bool(districts))
    if request.method == "POST" and "preview" in request.POST:
        return _series_form_page(request, _form_for_preview(request, districts), series=None)
    form = SeriesForm(request.POST or None, district_ids=districts)
    if request.method == "POST" and form.is_valid():
        try:
            series = services.series_create(user=user, **form.service_args())
        except ValidationError as exc:
            show_service_errors(form, exc, aliases={"rrule": _rrule_field(form)})
        else:
            messages.success(
                request,
                _("Series “%(title)s” created and its dates proposed. Confirm a date to send the invitations.")
                % {"title": series.title},
            )
            _say_first_date(request, form)
            return redirect("meetings:series_detail", pk=series.pk)
    return _series_form_page(request, form, series=None)


def _rrule_field(form) -> str:
    return "rrule" if form.data.get("cadence") == "custom" else "cadence"


def _form_for_preview(request, districts) -> SeriesForm:
    """The series form as the coordinator filled it in, unbound (so that asking for the dates does not
    flag the fields not yet filled in as errors) — nothing typed is lost."""
    data = request.POST
    initial = {name: data.get(name, "") for name in SeriesForm.base_fields if name not in ("agencies", "invitees")}
    initial |= {"agencies": data.getlist("agencies"), "invitees": data.getlist("invitees")}
    return SeriesForm(district_ids=districts, initial=initial, preview_data=data)


def _series_form_page(request, form: SeriesForm, *, series):
    context = {
        "form": form,
        "error_summary": error_summary(form) if form.is_bound else None,
        "series": series,
        **form.cadence_preview(),
    }
    return render(request, "meetings/series_form.html", context)


def _say_first_date(request, form: SeriesForm) -> None:
    """After saving: if the first date entered is not one the cadence gives, say which one comes first."""
    preview = form.cadence_preview()["preview"]
    if preview is not None and not preview.first_start_is_occurrence and preview.dates:
        messages.warning(
            request,
            _("The first date entered is not a date of this cadence; the first meeting is on %(date)s.")
            % {"date": formats.date_format(timezone.localtime(preview.dates[0]), "l, j. F Y, H:i")},
        )


@login_required
def series_edit(request, pk):
    user = request.user
    series = get_object_or_404(MeetingSeries.objects.visible_to(user), pk=pk)
    _require(series.district_id in coordinated_district_ids(user))
    if request.method == "POST" and "preview" in request.POST:
        return _series_form_page(request, _form_for_preview(request, {series.district_id}), series=series)
    form = SeriesForm(request.POST or None, district_ids={series.district_id}, initial=SeriesForm.initial_from(series))
    if request.method == "POST" and form.is_valid():
        try:
            services.series_update(series=series, user=user, **form.service_args())
        except ValidationError as exc:
            show_service_errors(form, exc, aliases={"rrule": _rrule_field(form)})
        else:
            messages.success(request, _("Series “%(title)s” saved.") % {"title": form.cleaned_data["title"]})
            return redirect("meetings:series_detail", pk=series.pk)
    return _series_form_page(request, form, series=series)


@login_required
def series_preview(request):
    """The first dates of a cadence as the series form shows them (an HTML fragment the form's script
    fetches while the coordinator types; without script the form's "Show dates" button renders the same
    fragment in the page). District coordinators only, like the form."""
    districts = coordinated_district_ids(request.user)
    _require(bool(districts))
    form = SeriesForm(district_ids=districts, preview_data=request.GET)
    return render(request, "meetings/_cadence_preview.html", form.cadence_preview())


@login_required
def series_detail(request, pk):
    user = request.user
    series = get_object_or_404(MeetingSeries.objects.visible_to(user).prefetch_related("agencies", "invitees"), pk=pk)
    show_past = request.GET.get("past") == "1"
    meetings = series.meetings.order_by("start", "id")
    now = timezone.now()
    meetings = meetings.filter(start__lt=now).order_by("-start", "-id") if show_past else meetings.filter(end__gte=now)
    context = {
        "series": series,
        "meetings": list(meetings[:50]),
        "show_past": show_past,
        "can_manage": series.district_id in coordinated_district_ids(user),
        "invitees": sorted(series.invitees.all(), key=person_name),
    }
    return render(request, "meetings/series_detail.html", context)


# --- Meetings -----------------------------------------------------------------------------------------


def _visible_meeting(request, pk) -> Meeting:
    return get_object_or_404(Meeting.objects.visible_to(request.user).select_related("series"), pk=pk)


def _invitees(meeting):
    return meeting.series.invitees.filter(is_active=True).order_by("last_name", "first_name", "username")


def _invitee_choices(meeting) -> dict:
    return {"invitees": _invitees(meeting)}


def _owner_choices(user, meeting):
    """Owners of an action item: the invited people, and the coordinator themselves."""
    people = _invitees(meeting)
    if _manages(user, meeting):
        people = (people | get_user_model().objects.filter(pk=user.pk)).distinct()
    return people


def _meeting_forms(user, meeting, can_manage, is_invitee, invitees):
    forms = {}
    open_ = meeting.status in OPEN_MEETING
    if open_:
        forms["agenda"] = AgendaItemForm()
    began = meeting.start <= timezone.now()
    if (can_manage or is_invitee) and meeting.status in (MeetingStatus.CONFIRMED, MeetingStatus.HELD):
        forms["action_item"] = ActionItemForm(invitees=_owner_choices(user, meeting))
    if can_manage:
        if meeting.status == MeetingStatus.PROPOSED:
            forms["confirm"] = ConfirmForm(auto_id="confirm_%s")
        if open_:
            # No end given: the meeting keeps its length (the field's hint). Filled with the old end, a new
            # start alone shortened the meeting or was refused (QA of 2026-12-05).
            forms["move"] = MoveForm(
                initial={
                    "start": timezone.localtime(meeting.start),
                    "location": meeting.location,
                    "video_link": meeting.video_link,
                }
            )
            forms["cancel"] = CancelForm()
        if meeting.status in (MeetingStatus.CONFIRMED, MeetingStatus.HELD) and began:
            present = [a.person_id for a in meeting.attendance.all() if a.present]
            forms["minutes"] = MinutesForm(initial={"minutes": meeting.minutes, "present": present}, invitees=invitees)
    return forms


def _render_meeting(request, meeting, *, bound=None, status=200):
    user = request.user
    invitees = _invitees(meeting)
    people = list(invitees)
    can_manage = _manages(user, meeting)
    is_invitee = any(p.pk == user.pk for p in people)
    meeting = (
        Meeting.objects.filter(pk=meeting.pk)
        .select_related("series")
        .prefetch_related(
            Prefetch("agenda_items", queryset=meeting.agenda_items.select_related("proposed_by")),
            Prefetch("action_items", queryset=meeting.action_items.select_related("owner")),
            "attendance",
        )
        .get()
    )
    forms = _meeting_forms(user, meeting, can_manage, is_invitee, invitees)
    forms.update(bound or {})
    attendance = {a.person_id: a.present for a in meeting.attendance.all()}
    context = {
        "meeting": meeting,
        "series": meeting.series,
        "people": [SimpleNamespace(user=p, name=person_name(p), present=attendance.get(p.pk)) for p in people],
        "has_attendance": bool(attendance),
        "can_manage": can_manage,
        "is_invitee": is_invitee,
        "forms": forms,
        "error_summary": [link for form in (bound or {}).values() for link in error_summary(form)],
        "today": timezone.localdate(),
    }
    return render(request, "meetings/meeting_detail.html", context, status=status)


@login_required
def meeting_detail(request, pk):
    return _render_meeting(request, _visible_meeting(request, pk))


@login_required
def meeting_ics(request, pk):
    """The meeting as a calendar entry to import (the same the invitation e-mail carries)."""
    meeting = _visible_meeting(request, pk)
    method = "CANCEL" if meeting.status == MeetingStatus.CANCELLED else "REQUEST"
    response = HttpResponse(ics.meeting_ics(meeting, method=method), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="termin-{meeting.pk}.ics"'
    return response


def _manages(user, meeting) -> bool:
    """The district coordinator runs the series of their district: confirms, moves and cancels
    dates, keeps minutes, attendance and action items."""
    return meeting.series.district_id in coordinated_district_ids(user)


def _anyone(user, meeting) -> bool:
    """Whoever sees the meeting (invitees, leads of its agencies, the coordinator) proposes topics."""
    return True


def _records_actions(user, meeting) -> bool:
    """The coordinator and the invited people record action items."""
    return _manages(user, meeting) or meeting.series.invitees.filter(pk=user.pk).exists()


def _meeting_action(request, pk, form_class, call, success, *, allowed=_manages, form_kwargs=None, aliases=None):
    """Parse ``form_class``, call the service (``call(meeting, data)``), redirect to the meeting; on
    an error show the meeting page again with the form as typed. Outside the person's scope 404,
    inside it without the right 403 (before anything is parsed)."""
    meeting = _visible_meeting(request, pk)
    _require(allowed(request.user, meeting))
    form = form_class(request.POST, **(form_kwargs(meeting) if form_kwargs else {}))
    if form.is_valid():
        try:
            result = call(meeting, form.cleaned_data)
        except ValidationError as exc:
            show_service_errors(form, exc, aliases=aliases)
        else:
            if isinstance(result, HttpResponse):
                return result
            messages.success(request, success)
            return redirect("meetings:meeting_detail", pk=meeting.pk)
    return _render_meeting(request, meeting, bound={form.key: form})


@login_required
@require_POST
def meeting_confirm(request, pk):
    meeting = _visible_meeting(request, pk)
    _require(_manages(request.user, meeting))
    try:
        services.meeting_confirm(meeting=meeting, user=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Date confirmed. The invited people have been informed."))
    return redirect("meetings:meeting_detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_move(request, pk):
    def call(meeting, data):
        return services.meeting_move(
            meeting=meeting,
            user=request.user,
            start=data["start"],
            end=data["end"] or None,
            location=data["location"],
            video_link=data["video_link"],
        )

    return _meeting_action(request, pk, MoveForm, call, _("Date moved. The invited people have been informed."))


@login_required
@require_POST
def meeting_cancel(request, pk):
    """Cancel a date. The first POST shows what will happen and asks to confirm; the second
    (``confirm``) cancels."""

    def call(meeting, data):
        if not data["confirm"]:
            return render(request, "meetings/confirm_cancel.html", {"meeting": meeting, "reason": data["reason"]})
        return services.meeting_cancel(meeting=meeting, user=request.user, reason=data["reason"])

    return _meeting_action(request, pk, CancelForm, call, _("Date cancelled. The invited people have been informed."))


@login_required
@require_POST
def agenda_add(request, pk):
    def call(meeting, data):
        return services.agenda_item_add(meeting=meeting, user=request.user, title=data["title"], notes=data["notes"])

    return _meeting_action(request, pk, AgendaItemForm, call, _("Topic added to the agenda."), allowed=_anyone)


@login_required
@require_POST
def minutes_save(request, pk):
    def call(meeting, data):
        return services.meeting_minutes_save(
            meeting=meeting,
            user=request.user,
            minutes=data["minutes"],
            present_user_ids=[p.pk for p in data["present"]],
        )

    return _meeting_action(
        request, pk, MinutesForm, call, _("Minutes and attendance saved."), form_kwargs=_invitee_choices,
        aliases={"present_user_ids": "present"},
    )  # fmt: skip


@login_required
@require_POST
def action_add(request, pk):
    def call(meeting, data):
        return services.action_item_add(
            meeting=meeting, user=request.user, title=data["title"], owner=data["owner"], due_on=data["due_on"]
        )

    return _meeting_action(
        request, pk, ActionItemForm, call, _("Action item added. Its owner will be reminded."),
        allowed=_records_actions, form_kwargs=lambda m: {"invitees": _owner_choices(request.user, m)},
    )  # fmt: skip


@login_required
@require_POST
def action_done(request, pk, item_id):
    meeting = _visible_meeting(request, pk)
    item = get_object_or_404(meeting.action_items, pk=item_id)
    try:
        services.action_item_done(item=item, user=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Action item marked as done."))
    return redirect("meetings:meeting_detail", pk=meeting.pk)


# --- Hospitations -------------------------------------------------------------------------------------

HOSPITATION_RELATED = ("requester", "requester_agency", "host_agency", "host_person")


def _visible_hospitation(request, pk) -> Hospitation:
    return get_object_or_404(Hospitation.objects.visible_to(request.user).select_related(*HOSPITATION_RELATED), pk=pk)


@login_required
def hospitation_list(request):
    """The person's programme: their own requests, the visits they host, and for leads and the
    coordinator the programme of their agencies (requests waiting for a decision first)."""
    user = request.user
    status = request.GET.get("status") or ""
    queryset = Hospitation.objects.visible_to(user).select_related(*HOSPITATION_RELATED)
    if status in HospitationStatus.values:
        queryset = queryset.filter(status=status)
    page, paged = _page(request, queryset, ["-created_at", "-id"])
    leads = set(_lead_agency_ids(user))
    waiting = (
        Hospitation.objects.visible_to(user)
        .filter(status=HospitationStatus.REQUESTED, host_agency_id__in=leads)
        .count()
    )
    context = {
        "page": page,
        "paged": paged,
        "status": status,
        "statuses": HospitationStatus.choices,
        "waiting": waiting,
        "can_request": actor_of(user).has_role(*POLICE_ROLES, *OFFICE_ROLES),
        "can_see_totals": bool(leads or coordinated_district_ids(user)),
    }
    return render(request, "meetings/hospitation_list.html", context)


@login_required
def hospitation_request(request):
    user = request.user
    actor = actor_of(user)
    _require(actor.has_role(*POLICE_ROLES, *OFFICE_ROLES))
    agencies = other_side_agencies(user, list(actor.memberships))
    form = HospitationRequestForm(request.POST or None, agencies=agencies)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hospitation = services.hospitation_request(
                user=user, host_agency=data["host_agency"], wished_dates=form.wished_dates(), purpose=data["purpose"]
            )
        except ValidationError as exc:
            show_service_errors(form, exc, aliases={"wished_dates": "wished_date_1"})
        else:
            messages.success(
                request,
                _("Your request to visit %(agency)s has been sent. Its lead decides on it.")
                % {"agency": hospitation.host_agency.name},
            )
            return redirect("meetings:hospitation_detail", pk=hospitation.pk)
    return render(request, "meetings/hospitation_form.html", {"form": form, "error_summary": error_summary(form)})


def _host_people(hospitation):
    """Who may host the visitor: the people of the host agency."""
    return people_of([hospitation.host_agency_id])


def _leads_host(user, hospitation) -> bool:
    """The host agency's lead decides (approves, declines, withdraws an approval)."""
    return hospitation.host_agency_id in _lead_agency_ids(user)


def _takes_part(user, hospitation) -> bool:
    """The visitor and the host person complete a hospitation after its day."""
    return user.pk in (hospitation.requester_id, hospitation.host_person_id)


def _render_hospitation(request, hospitation, *, bound=None):
    user = request.user
    leads_host = _leads_host(user, hospitation)
    forms = {}
    if hospitation.status == HospitationStatus.REQUESTED and leads_host:
        wished = [d for d in (_parse_date(v) for v in hospitation.wished_dates or []) if d]
        forms["approve"] = HospitationApproveForm(
            initial={"date": wished[0] if wished else None}, people=_host_people(hospitation)
        )
    if hospitation.status in (HospitationStatus.REQUESTED, HospitationStatus.APPROVED) and leads_host:
        forms["decline"] = HospitationDeclineForm(withdrawing=hospitation.status == HospitationStatus.APPROVED)
    if (
        hospitation.status == HospitationStatus.APPROVED
        and _takes_part(user, hospitation)
        and hospitation.date <= timezone.localdate()
    ):
        forms["complete"] = HospitationCompleteForm()
    for key, form in (bound or {}).items():
        forms[key] = form
    context = {
        "hospitation": hospitation,
        "wished_dates": [_parse_date(v) or v for v in hospitation.wished_dates or []],
        "forms": forms,
        "error_summary": [link for form in (bound or {}).values() for link in error_summary(form)],
    }
    return render(request, "meetings/hospitation_detail.html", context)


@login_required
def hospitation_detail(request, pk):
    return _render_hospitation(request, _visible_hospitation(request, pk))


def _hospitation_action(request, pk, form_class, call, success, *, allowed, form_kwargs=None):
    """Like ``_meeting_action``: 404 outside the scope, 403 without the right, the page again with the
    form as typed on an error. ``success``: the message, or a function of the hospitation as it was."""
    hospitation = _visible_hospitation(request, pk)
    _require(allowed(request.user, hospitation))
    form = form_class(request.POST, **(form_kwargs(hospitation) if form_kwargs else {}))
    if form.is_valid():
        try:
            answer = call(hospitation, form.cleaned_data)
        except ValidationError as exc:
            show_service_errors(form, exc)
        else:
            if isinstance(answer, HttpResponse):  # a confirmation step
                return answer
            messages.success(request, success(hospitation) if callable(success) else success)
            return redirect("meetings:hospitation_detail", pk=hospitation.pk)
    return _render_hospitation(request, hospitation, bound={form.key: form})


@login_required
@require_POST
def hospitation_approve(request, pk):
    def call(hospitation, data):
        services.hospitation_approve(
            hospitation=hospitation, user=request.user, date=data["date"], host_person=data["host_person"]
        )

    return _hospitation_action(
        request, pk, HospitationApproveForm, call, _("Hospitation approved. Both sides have been informed."),
        allowed=_leads_host, form_kwargs=lambda h: {"people": _host_people(h)},
    )  # fmt: skip


@login_required
@require_POST
def hospitation_decline(request, pk):
    """Decline a request; or withdraw an approval — that asks to confirm first (QA of 2026-12-05: it was
    withdrawn at once, and the page then said "request declined")."""

    def withdrawing(hospitation) -> bool:
        return hospitation.status == HospitationStatus.APPROVED

    def call(hospitation, data):
        if withdrawing(hospitation) and not data["confirm"]:
            context = {"hospitation": hospitation, "reason": data["reason"]}
            return render(request, "meetings/confirm_withdraw_hospitation.html", context)
        services.hospitation_decline(hospitation=hospitation, user=request.user, reason=data["reason"])
        return None

    def success(hospitation) -> str:
        if withdrawing(hospitation):
            return _("Approval withdrawn. The person who asked has been informed; the date has left both calendars.")
        return _("Request declined. The person who asked has been informed.")

    return _hospitation_action(
        request,
        pk,
        HospitationDeclineForm,
        call,
        success,
        allowed=_leads_host,
        form_kwargs=lambda h: {"withdrawing": withdrawing(h)},
    )


@login_required
@require_POST
def hospitation_complete(request, pk):
    def call(hospitation, data):
        services.hospitation_complete(hospitation=hospitation, user=request.user, feedback=data["feedback"])

    return _hospitation_action(
        request,
        pk,
        HospitationCompleteForm,
        call,
        _("Hospitation completed. Thank you for the feedback."),
        allowed=_takes_part,
    )


@login_required
def hospitation_totals(request):
    """Totals per agency and year: for the coordinator every agency of the district that took part,
    for a lead their agencies (``selectors.programme_totals`` refuses anyone else: 403)."""
    year = parse_year(request.GET.get("year"))
    rows = selectors.programme_totals(request.user, year)
    context = {"year": year, "years": year_choices(), "rows": rows}
    return render(request, "meetings/hospitation_totals.html", context)


# --- Information events -------------------------------------------------------------------------------

EVENT_RELATED = ("host_agency",)


def events_with_counts(user):
    mine = Registration.objects.filter(event=OuterRef("pk"), person_id=getattr(user, "pk", None)).exclude(
        status=RegistrationStatus.CANCELLED
    )
    return (
        InfoEvent.objects.visible_to(user)
        .select_related(*EVENT_RELATED)
        .annotate(
            registered_count=Count("registrations", filter=Q(registrations__status=RegistrationStatus.REGISTERED)),
            waitlist_count=Count("registrations", filter=Q(registrations__status=RegistrationStatus.WAITLISTED)),
            my_status=Subquery(mine.values("status")[:1]),
        )
    )


def _host_agency_choices(user):
    """Agencies ``user`` may host an event for: the ones they lead; for the coordinator every agency
    of their district."""
    districts = coordinated_district_ids(user)
    return Agency.objects.filter(
        Q(pk__in=_lead_agency_ids(user)) | Q(district_id__in=districts), is_active=True
    ).order_by("kind", "name")


def _can_host(user) -> bool:
    return actor_of(user).has_role(Role.OFFICE_LEAD, Role.POLICE_COORDINATOR, Role.DISTRICT_COORDINATOR)


def _hosts(user, event) -> bool:
    """People of the host agency (and its leads) and the district coordinator see the attendance list."""
    own = actor_of(user).agency_ids() | set(_lead_agency_ids(user))
    return event.host_agency_id in own or event.host_agency.district_id in coordinated_district_ids(user)


def _decorate(event):
    event.seats_left = max(event.capacity - event.registered_count, 0)
    return event


@login_required
def event_list(request):
    user = request.user
    past = request.GET.get("past") == "1"
    now = timezone.now()
    queryset = events_with_counts(user)
    if past:
        queryset, ordering = queryset.filter(end__lt=now), ["-start", "-id"]
    else:
        queryset, ordering = queryset.filter(end__gte=now), ["start", "id"]
    page, paged = _page(request, queryset, ordering)
    events = [_decorate(e) for e in page.items]
    context = {"page": page, "paged": paged, "events": events, "past": past, "can_create": _can_host(user), "now": now}
    return render(request, "meetings/event_list.html", context)


@login_required
def event_create(request):
    user = request.user
    _require(_can_host(user))
    agencies = _host_agency_choices(user)
    form = EventForm(request.POST or None, agencies=agencies)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(user=user, **form.cleaned_data)
        except ValidationError as exc:
            show_service_errors(form, exc)
        else:
            messages.success(request, _("Information event “%(title)s” published.") % {"title": event.title})
            return redirect("meetings:event_detail", pk=event.pk)
    return render(request, "meetings/event_form.html", {"form": form, "error_summary": error_summary(form)})


def _visible_event(request, pk):
    return get_object_or_404(events_with_counts(request.user), pk=pk)


@login_required
def event_detail(request, pk):
    user = request.user
    event = _decorate(_visible_event(request, pk))
    now = timezone.now()
    context = {
        "event": event,
        "open_for_registration": not event.is_cancelled and now <= event.registration_deadline,
        "is_host": _hosts(user, event),
        "audience_label": Audience(event.audience).label,
        "waitlist_position": _waitlist_position(event, user)
        if event.my_status == RegistrationStatus.WAITLISTED
        else None,
    }
    return render(request, "meetings/event_detail.html", context)


def _waitlist_position(event, user) -> int | None:
    waiting = list(
        event.registrations.filter(status=RegistrationStatus.WAITLISTED)
        .order_by("created_at", "id")
        .values_list("person_id", flat=True)
    )
    return waiting.index(user.pk) + 1 if user.pk in waiting else None


@login_required
@require_POST
def event_register(request, pk):
    event = _visible_event(request, pk)
    try:
        registration = services.event_register(event=event, user=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        if registration.status == RegistrationStatus.WAITLISTED:
            messages.success(
                request, _("The event is full: you are on the waiting list and move up when a seat becomes free.")
            )
        else:
            messages.success(request, _("You are registered for “%(title)s”.") % {"title": event.title})
    return redirect("meetings:event_detail", pk=event.pk)


@login_required
@require_POST
def event_cancel_registration(request, pk):
    event = _visible_event(request, pk)
    if request.POST.get("confirm") != "1":  # the seat may go to the waiting list at once: ask first
        return render(request, "meetings/confirm_cancel_registration.html", {"event": event})
    try:
        services.event_cancel_registration(event=event, user=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Your registration has been cancelled."))
    return redirect("meetings:event_detail", pk=event.pk)


@login_required
def event_attendance(request, pk):
    """The attendance list of an event, for its host and the coordinator."""
    event = _decorate(_visible_event(request, pk))
    _require(_hosts(request.user, event))
    registrations = list(
        event.registrations.exclude(status=RegistrationStatus.CANCELLED)
        .select_related("person")
        .prefetch_related("person__memberships__agency")
        .order_by("status", "created_at", "id")
    )
    rows = [
        SimpleNamespace(
            registration=r,
            name=person_name(r.person),
            agencies=", ".join(sorted({m.agency.name for m in r.person.memberships.all()})),
        )
        for r in registrations
    ]
    context = {
        "event": event,
        "registered": [r for r in rows if r.registration.status == RegistrationStatus.REGISTERED],
        "waitlisted": [r for r in rows if r.registration.status == RegistrationStatus.WAITLISTED],
    }
    return render(request, "meetings/event_attendance.html", context)


# --- Calendar subscription ----------------------------------------------------------------------------


def feed_urls(request, token: str) -> SimpleNamespace:
    https = request.build_absolute_uri(reverse("meetings:feed", args=[token]))
    return SimpleNamespace(https=https, webcal="webcal://" + https.split("://", 1)[1])


@login_required
def subscription(request):
    """The person's calendar subscription: the webcal address with the secret token; create it on
    request, revoke it (after confirmation)."""
    user = request.user
    if request.method == "POST":
        services.feed_token_get_or_create(user=user)
        messages.success(request, _("Your subscription address has been created."))
        return redirect("meetings:subscription")
    token = CalendarFeedToken.objects.filter(user=user).first()
    context = {"token": token, "urls": feed_urls(request, token.token) if token else None}
    return render(request, "meetings/subscription.html", context)


@login_required
@require_POST
def subscription_revoke(request):
    form = ConfirmForm(request.POST)
    form.is_valid()
    token = CalendarFeedToken.objects.filter(user=request.user).first()
    if token is None:
        return redirect("meetings:subscription")
    if not form.cleaned_data.get("confirm"):
        return render(request, "meetings/confirm_revoke.html", {"token": token})
    services.feed_token_revoke(user=request.user)
    messages.success(request, _("The subscription address has been revoked. Calendars using it get no more dates."))
    return redirect("meetings:subscription")


def feed(request, token):
    """The public subscription feed: no login, the token is the only secret. An unknown or revoked
    token answers 404 like any address that does not exist."""
    owner = selectors.feed_owner(token)
    if owner is None:
        raise Http404
    response = HttpResponse(ics.feed_ics(owner), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = 'inline; filename="kinderschutz-kooperation.ics"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- Annual report ------------------------------------------------------------------------------------


@login_required
def report(request):
    user = request.user
    district_id = _own_district_id(user)
    year = _report_year(request)
    if year is None:  # no silent fallback to another year (issue 15 § 2)
        context = {"year": request.GET.get("year", ""), "years": year_choices(), "unknown_year": True}
        return render(request, "meetings/report.html", context, status=404)
    district = _district(district_id)
    rows = selectors.annual_report(district=district, year=year)
    figures = selectors.referral_figures(district=district, year=year)
    context = {
        "year": year,
        "years": year_choices(),
        "rows": [r for r in rows if not r.get("is_total")],
        "total": next((r for r in rows if r.get("is_total")), None),
        "referral_figures": figures,
        "has_data": selectors.report_has_data(rows, figures),
    }
    return render(request, "meetings/report.html", context)


def _report_year(request) -> int | None:
    """The year asked for (default: the current one), or None for a year the report cannot cover:
    not a number, or outside the agreement's years (``year_choices``)."""
    raw = request.GET.get("year")
    if not raw:
        return timezone.localdate().year
    return int(raw) if is_number(raw) and int(raw) in year_choices() else None


@login_required
def report_csv(request):
    user = request.user
    district_id = _own_district_id(user)
    year = _report_year(request)
    if year is None:
        raise Http404
    text = selectors.annual_report_csv(district=_district(district_id), year=year)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kooperationsbericht-{year}.csv"'
    return response


def _district(district_id) -> District:
    return District.objects.get(pk=district_id)
