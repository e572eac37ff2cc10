"""Reads: a person's calendar, the subscription feed and its token, the leads' programme totals and
the annual cooperation report (page rows and CSV)."""

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import translation

from agencies.models import Agency, District
from meetings import selectors, services
from meetings.ics import feed_ics
from meetings.models import Hospitation, HospitationStatus, MeetingStatus

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def local(*args):
    return datetime.datetime(*args, tzinfo=BERLIN)


def agency(code):
    return Agency.objects.get(code=code)


@pytest.fixture
def programme(personas):
    """A confirmed and a proposed meeting of Hilden, an approved hospitation of a Hilden officer at the
    Velbert office, and an event of the Hilden office with one registration."""
    coordinator = personas.district_coordinator
    series = services.series_create(
        user=coordinator, title="Polizei – Jugendamt Hilden", agencies=[agency("PW-HIL"), agency("JA-HIL")],
        invitees=[personas.police_hilden, personas.caseworker_hilden], rrule="FREQ=MONTHLY;INTERVAL=1",
        first_start=local(2026, 6, 10, 10, 0), horizon_days=45,
    )  # fmt: skip
    confirmed, proposed = series.meetings.order_by("start")
    services.meeting_confirm(meeting=confirmed, user=coordinator)
    h = services.hospitation_request(
        user=personas.police_hilden, host_agency=agency("JA-VEL"), wished_dates=[datetime.date(2026, 6, 12)],
        purpose="Einblick",
    )  # fmt: skip
    services.hospitation_approve(
        hospitation=h,
        user=personas.lead_velbert,
        date=datetime.date(2026, 6, 12),
        host_person=personas.caseworker_velbert,
    )
    event = services.event_create(
        user=personas.lead_hilden, host_agency=agency("JA-HIL"), title="Fortbildung Kinderschutz", description="",
        audience="police", start=local(2026, 6, 20, 9, 0), end=local(2026, 6, 20, 12, 0), place="Hilden", capacity=5,
        registration_deadline=local(2026, 6, 18, 0, 0),
    )  # fmt: skip
    services.event_register(event=event, user=personas.police_velbert)
    return {"confirmed": confirmed, "proposed": proposed, "hospitation": h, "event": event}


JUNE = (local(2026, 6, 1, 0, 0), local(2026, 7, 1, 0, 0))
SUMMER = (local(2026, 6, 1, 0, 0), local(2026, 8, 1, 0, 0))


def kinds(user, window=SUMMER):
    return [(item["kind"], item["id"]) for item in selectors.calendar_items_for(user, *window)]


def test_calendar_shows_what_a_person_takes_part_in_or_leads(personas, programme):
    confirmed, proposed = programme["confirmed"], programme["proposed"]
    h, event = programme["hospitation"], programme["event"]
    items = selectors.calendar_items_for(personas.police_hilden, *SUMMER)
    assert [(i["kind"], i["id"]) for i in items] == [
        ("meeting", confirmed.pk),
        ("hospitation", h.pk),
        ("meeting", proposed.pk),
    ]
    assert items[0]["url_name"] == "meetings:meeting_detail" and items[0]["status"] == MeetingStatus.CONFIRMED
    assert items[1]["start"] == datetime.date(2026, 6, 12) and items[1]["place"] == "Jugendamt Velbert"
    assert set(items[0]) == {"kind", "id", "title", "start", "end", "place", "status", "url_name"}
    # Registered for the event: in the calendar with the registration's status.
    assert kinds(personas.police_velbert) == [("event", event.pk)]
    assert selectors.calendar_items_for(personas.police_velbert, *SUMMER)[0]["status"] == "registered"
    # The host person and the host's lead see the hospitation; the office lead sees the event of their office.
    assert ("hospitation", h.pk) in kinds(personas.caseworker_velbert)
    assert ("hospitation", h.pk) in kinds(personas.lead_velbert)
    assert ("event", event.pk) in kinds(personas.lead_hilden)
    # The coordinator sees the whole district; a person without a role nothing; another office nothing of Hilden.
    assert len(kinds(personas.district_coordinator)) == 4
    assert kinds(personas.no_role) == []
    assert kinds(personas.caseworker_velbert) == [("hospitation", h.pk)]
    # The window limits the items.
    assert ("meeting", proposed.pk) not in kinds(personas.police_hilden, JUNE)


def test_feed_holds_confirmed_dates_only(personas, programme):
    cal = icalendar.Calendar.from_ical(feed_ics(personas.police_hilden))
    assert str(cal["X-WR-CALNAME"]) == "Kinderschutz-Kooperation"
    uids = {str(e["UID"]) for e in cal.walk("VEVENT")}
    assert uids == {str(programme["confirmed"].uid), str(programme["hospitation"].uid)}
    registered = icalendar.Calendar.from_ical(feed_ics(personas.police_velbert))
    assert {str(e["UID"]) for e in registered.walk("VEVENT")} == {str(programme["event"].uid)}
    assert icalendar.Calendar.from_ical(feed_ics(personas.no_role)).walk("VEVENT") == []


def test_feed_token_is_stable_and_revocable(personas):
    token = services.feed_token_get_or_create(user=personas.caseworker_hilden)
    assert len(token.token) >= 43
    assert services.feed_token_get_or_create(user=personas.caseworker_hilden).token == token.token
    assert selectors.feed_owner(token.token) == personas.caseworker_hilden
    services.feed_token_revoke(user=personas.caseworker_hilden)
    assert selectors.feed_owner(token.token) is None
    assert services.feed_token_get_or_create(user=personas.caseworker_hilden).token != token.token
    assert selectors.feed_owner("") is None


def test_programme_totals_for_leads_and_the_coordinator(personas, programme):
    with time_machine.travel(local(2026, 6, 12, 17, 0), tick=False):
        services.hospitation_complete(hospitation=programme["hospitation"], user=personas.police_hilden, feedback="gut")
    services.hospitation_request(
        user=personas.caseworker_velbert, host_agency=agency("PW-VEL"), wished_dates=[datetime.date(2026, 7, 1)],
        purpose="Nachtdienst",
    )  # fmt: skip
    rows = selectors.programme_totals(personas.lead_velbert, 2026)
    assert rows == [
        {
            "agency": "Jugendamt Velbert", "year": 2026, "requested": 1, "approved": 0, "declined": 0, "completed": 1,
            "cancelled": 0, "visited": 0, "hosted": 1,
        }
    ]  # fmt: skip
    district_rows = {r["agency"]: r for r in selectors.programme_totals(personas.district_coordinator, 2026)}
    assert district_rows["Polizeiwache Hilden"]["visited"] == 1
    assert set(district_rows) == {"Jugendamt Velbert", "Polizeiwache Hilden", "Polizeiwache Velbert"}
    assert selectors.programme_totals(personas.lead_velbert, 2025)[0]["completed"] == 0
    for persona in ("caseworker_hilden", "police_hilden", "no_role"):
        with pytest.raises(PermissionDenied):
            selectors.programme_totals(getattr(personas, persona), 2026)


def test_annual_report_per_agency_pair_and_district(personas, district, programme):
    coordinator = personas.district_coordinator
    confirmed, event = programme["confirmed"], programme["event"]
    services.event_register(event=event, user=personas.police_hilden)
    with time_machine.travel(local(2026, 6, 12, 17, 0), tick=False):
        services.meeting_minutes_save(
            meeting=confirmed, user=coordinator, minutes="ok", present_user_ids=[personas.police_hilden.pk]
        )
        services.hospitation_complete(hospitation=programme["hospitation"], user=personas.police_hilden, feedback="gut")
    Hospitation.objects.create(  # of another year: not counted
        requester=personas.police_hilden, requester_agency=agency("PW-HIL"), host_agency=agency("JA-VEL"),
        purpose="x", status=HospitationStatus.COMPLETED, date=datetime.date(2025, 5, 5),
    )  # fmt: skip

    rows = selectors.annual_report(district=district, year=2026)
    by_pair = {r["pair"]: r for r in rows}
    hilden = by_pair["Jugendamt Hilden – Polizeiwache Hilden"]
    assert (hilden["meetings_held"], hilden["attendance"], hilden["events"], hilden["participants"]) == (1, 1.0, 1, 1)
    velbert = by_pair["Jugendamt Velbert – Polizeiwache Hilden"]
    assert velbert["hospitations_done"] == 1 and velbert["meetings_held"] == 0
    assert by_pair["Jugendamt Hilden – Polizeiwache Velbert"]["participants"] == 1
    total = rows[-1]
    assert total["is_total"] and total["pair"] == "Kreis Mettmann (gesamt)"
    assert (total["meetings_held"], total["hospitations_done"], total["events"], total["participants"]) == (1, 1, 1, 2)
    assert selectors.annual_report(district=district, year=2025)[-1]["hospitations_done"] == 1
    other = District.objects.create(slug="x", name="Anderswo")
    assert selectors.annual_report(district=other, year=2026) == [
        {
            "pair": "Anderswo (gesamt)", "meetings_held": 0, "attendance": 0.0, "hospitations_done": 0, "events": 0,
            "participants": 0, "is_total": True,
        }
    ]  # fmt: skip

    with translation.override("de"):
        text = selectors.annual_report_csv(district=district, year=2026)
    # The referral figures follow after an empty line (issue 15 § 2, tests/test_cooperation_report_figures.py).
    lines = list(csv.reader(io.StringIO(text.split("\r\n\r\n")[0]), delimiter=";"))
    assert len(lines) == len(rows) + 1 and len(lines[0]) == 6
    assert lines[-1][0].startswith("Kreis Mettmann")
    assert ["1", "1,0"] == [c for c in lines[1 + rows.index(hilden)][1:3]]
