"""The cooperation API: meeting series, meetings (with .ics), hospitations, information events and
the calendar feed — happy paths, refusals (400/403/404) and scoping.

``meetings_world`` builds a fixed set of objects straight through the ORM (so that who sees what is
independent of the services); the page tests and the permission matrix use it too."""

import datetime
from types import SimpleNamespace

import icalendar
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Agency, District
from meetings.models import (
    ActionItem,
    Audience,
    CalendarFeedToken,
    Hospitation,
    InfoEvent,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)
from notifications.models import Notification
from tests.factories import api_token

QUARTERLY = "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"


def agency(code: str) -> Agency:
    return Agency.objects.get(code=code)


def local(day: datetime.date, hour=10, minute=0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def next_working_day(days: int) -> datetime.date:
    """A Tuesday to Thursday at least ``days`` ahead (no weekend, rarely a holiday)."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    while day.weekday() not in (1, 2, 3):
        day += datetime.timedelta(days=1)
    return day


def _series(title, district, coordinator, agencies, invitees, start):
    series = MeetingSeries.objects.create(
        district=district, title=title, rrule=QUARTERLY, first_start=start, duration_minutes=90,
        location="Rathaus, Raum 2", created_by=coordinator,
    )  # fmt: skip
    series.agencies.set([agency(code) for code in agencies])
    series.invitees.set(invitees)
    meeting = Meeting.objects.create(
        series=series, occurrence=start, start=start, end=start + datetime.timedelta(minutes=90),
        location=series.location, status=MeetingStatus.PROPOSED,
    )  # fmt: skip
    return series, meeting


def meetings_world(personas) -> SimpleNamespace:
    """Two series (Hilden: caseworker and officer of Hilden invited; Velbert likewise), one proposed
    meeting each with one open action item in Hilden, a hospitation request of a Hilden officer at
    the Hilden youth office, and two events: one of the Velbert youth office for police, one of the
    Hilden station for youth offices. Visibility of each is written out in ``VISIBLE_MEETINGS``."""
    p = personas
    district = District.objects.get(slug="mettmann")
    start = local(next_working_day(20))
    series_hilden, meeting_hilden = _series(
        "Polizei – Jugendamt Hilden", district, p.district_coordinator, ["JA-HIL", "PW-HIL"],
        [p.caseworker_hilden, p.police_hilden], start,
    )  # fmt: skip
    series_velbert, meeting_velbert = _series(
        "Polizei – Jugendamt Velbert", district, p.district_coordinator, ["JA-VEL", "PW-VEL"],
        [p.caseworker_velbert, p.police_velbert], start + datetime.timedelta(days=1),
    )  # fmt: skip
    action = ActionItem.objects.create(
        meeting=meeting_hilden, title="Liste aktualisieren", owner=p.caseworker_hilden,
        due_on=timezone.localdate() + datetime.timedelta(days=30),
    )  # fmt: skip
    hospitation = Hospitation.objects.create(
        requester=p.police_hilden, requester_agency=agency("PW-HIL"), host_agency=agency("JA-HIL"),
        wished_dates=[next_working_day(30).isoformat()], purpose="Ablauf einer Gefährdungseinschätzung kennenlernen.",
    )  # fmt: skip
    event_start = local(next_working_day(40), 14)

    def event(title, host, audience):
        return InfoEvent.objects.create(
            host_agency=agency(host), title=title, description="Wissenstransfer", audience=audience,
            start=event_start, end=event_start + datetime.timedelta(hours=2), place="Saal 1", capacity=20,
            registration_deadline=event_start - datetime.timedelta(days=2), created_by=p.district_coordinator,
        )  # fmt: skip

    return SimpleNamespace(
        series_hilden=series_hilden,
        series_velbert=series_velbert,
        meeting_hilden=meeting_hilden,
        meeting_velbert=meeting_velbert,
        action=action,
        hospitation=hospitation,
        event_police=event("Kinderschutz für Streifendienst", "JA-VEL", Audience.POLICE),
        event_offices=event("Wohnungsverweisung erklärt", "PW-HIL", Audience.YOUTH_OFFICES),
    )


# Who sees what of ``meetings_world`` (the rule of meetings/models.py written out by hand).
VISIBLE_MEETINGS = {
    "police_hilden": {"hilden", "hospitation", "event_police", "event_offices"},
    "police_hilden2": {"event_police", "event_offices"},
    "police_velbert": {"velbert", "event_police"},
    "police_coordinator": {"hilden", "velbert", "hospitation", "event_police"},
    "caseworker_hilden": {"hilden", "event_offices"},
    "lead_hilden": {"hilden", "hospitation", "event_offices"},
    "caseworker_velbert": {"velbert", "event_police", "event_offices"},
    "lead_velbert": {"velbert", "event_police", "event_offices"},
    "district_coordinator": {"hilden", "velbert", "hospitation", "event_police", "event_offices"},
    "no_role": set(),
    "admin": set(),
}


@pytest.fixture
def world(personas):
    return personas, meetings_world(personas)


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
        return client

    return client_for


def _all(client, url) -> list[dict]:
    seen = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        seen += response.json()["results"]
        url = response.json()["next"]
    return seen


def series_payload(personas, **overrides) -> dict:
    payload = {
        "title": "Polizei – Jugendamt Velbert, Sachbearbeiter-Ebene",
        "agencies": [agency("JA-VEL").pk, agency("PW-VEL").pk],
        "invitees": [personas.caseworker_velbert.pk, personas.police_velbert.pk],
        "rrule": QUARTERLY,
        "first_start": local(next_working_day(10)).isoformat(),
        "duration_minutes": 90,
        "location": "Rathaus Velbert, Raum 2.14",
    }
    payload.update(overrides)
    return payload


# --- meeting series -------------------------------------------------------------------------------


def test_coordinator_creates_series_and_dates_are_proposed(api, personas):
    response = api(personas.district_coordinator).post(
        "/api/v1/meeting-series/", series_payload(personas), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"].startswith("Polizei – Jugendamt Velbert")
    assert {a["name"] for a in body["agencies"]} == {"Jugendamt Velbert", "Polizeiwache Velbert"}
    assert {p["id"] for p in body["invitees"]} == {personas.caseworker_velbert.pk, personas.police_velbert.pk}
    assert set(body["invitees"][0]) == {"id", "name"}  # no username, no e-mail
    series = MeetingSeries.objects.get(pk=body["id"])
    assert series.created_by == personas.district_coordinator
    meetings = list(series.meetings.all())
    assert meetings and all(m.status == MeetingStatus.PROPOSED for m in meetings)
    assert all(m.start.weekday() < 5 for m in meetings)


@pytest.mark.parametrize("persona", ["caseworker_velbert", "lead_velbert", "police_coordinator", "no_role"])
def test_only_the_coordinator_creates_series(api, personas, persona):
    response = api(getattr(personas, persona)).post("/api/v1/meeting-series/", series_payload(personas), format="json")
    assert response.status_code == 403
    assert not MeetingSeries.objects.exists()


def test_series_input_is_checked(api, personas):
    client = api(personas.district_coordinator)
    outsider = series_payload(personas, invitees=[personas.caseworker_hilden.pk])
    response = client.post("/api/v1/meeting-series/", outsider, format="json")
    assert response.status_code == 400 and "invitees" in response.json()
    unknown = series_payload(personas, invitees=[987654])
    response = client.post("/api/v1/meeting-series/", unknown, format="json")
    assert response.status_code == 400 and "invitees" in response.json()
    for rule in ("FREQ=SECONDLY", "FREQ=MONTHLY;BYDAY=XX", "nonsense"):
        response = client.post("/api/v1/meeting-series/", series_payload(personas, rrule=rule), format="json")
        assert response.status_code == 400 and "rrule" in response.json(), rule
    response = client.post("/api/v1/meeting-series/", series_payload(personas, agencies=[]), format="json")
    assert response.status_code == 400 and "agencies" in response.json()
    response = client.post("/api/v1/meeting-series/", series_payload(personas, title=7), format="json")
    assert response.status_code == 400 and "title" in response.json()
    assert not MeetingSeries.objects.exists()


def test_series_scoping(api, world):
    personas, w = world
    titles = lambda user: {s["title"] for s in _all(api(user), "/api/v1/meeting-series/?page_size=1")}  # noqa: E731
    assert titles(personas.caseworker_velbert) == {w.series_velbert.title}
    assert titles(personas.lead_hilden) == {w.series_hilden.title}
    assert titles(personas.district_coordinator) == {w.series_hilden.title, w.series_velbert.title}
    assert titles(personas.police_coordinator) == {w.series_hilden.title, w.series_velbert.title}
    assert titles(personas.no_role) == set()
    assert api(personas.caseworker_velbert).get(f"/api/v1/meeting-series/{w.series_hilden.pk}/").status_code == 404
    assert api(personas.caseworker_hilden).get(f"/api/v1/meeting-series/{w.series_hilden.pk}/").status_code == 200


def test_coordinator_changes_series(api, world):
    personas, w = world
    url = f"/api/v1/meeting-series/{w.series_hilden.pk}/"
    response = api(personas.district_coordinator).patch(
        url, {"location": "Wache Hilden", "title": "Neu"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["location"] == "Wache Hilden" and response.json()["title"] == "Neu"
    w.meeting_hilden.refresh_from_db()
    assert w.meeting_hilden.location == "Wache Hilden"
    assert api(personas.caseworker_hilden).patch(url, {"title": "X"}, format="json").status_code == 403
    assert api(personas.caseworker_velbert).patch(url, {"title": "X"}, format="json").status_code == 404
    assert api(personas.district_coordinator).put(url, {"title": "X"}, format="json").status_code == 405


# --- meetings -------------------------------------------------------------------------------------


def test_meeting_list_is_scoped_and_filtered(api, world):
    personas, w = world
    ids = lambda user, query="": {m["id"] for m in _all(api(user), f"/api/v1/meetings/{query}")}  # noqa: E731
    assert ids(personas.caseworker_hilden) == {w.meeting_hilden.pk}
    assert ids(personas.caseworker_velbert) == {w.meeting_velbert.pk}
    assert ids(personas.district_coordinator) == {w.meeting_hilden.pk, w.meeting_velbert.pk}
    day = timezone.localtime(w.meeting_hilden.start).date()
    assert ids(personas.district_coordinator, f"?from={day}&to={day}") == {w.meeting_hilden.pk}
    after = (day + datetime.timedelta(days=1)).isoformat()
    assert ids(personas.district_coordinator, f"?from={after}") == {w.meeting_velbert.pk}
    assert ids(personas.district_coordinator, "?status=confirmed") == set()
    client = api(personas.district_coordinator)
    assert client.get("/api/v1/meetings/?from=gestern").status_code == 400
    assert client.get("/api/v1/meetings/?status=maybe").status_code == 400
    assert client.get("/api/v1/meetings/?cursor=zzz").status_code == 400


@pytest.mark.parametrize(
    "query, field",
    [
        ("to=2026-02-30", "to"),  # the message named "from" for any bad bound
        ("to=9999-12-31", "to"),  # the day after it overflows
        ("from=0001-01-01", "from"),  # answered without a field (QA)
        ("from=1999-12-31", "from"),
        ("from=\uff12\uff10\uff12\uff16-03-10", "from"),  # full-width digits were taken
        ("from=2026-03-29T02:30", "from"),  # skipped by the clocks: was moved to 03:30 without a word
        ("from=2026-13-01T10:00%2B01:00", "from"),
    ],
)
def test_a_bad_bound_of_the_meeting_list_is_named(api, personas, query, field):
    answer = api(personas.district_coordinator).get(f"/api/v1/meetings/?{query}")
    assert answer.status_code == 400 and list(answer.json()) == [field], answer.json()


def test_meeting_detail(api, world):
    personas, w = world
    response = api(personas.caseworker_hilden).get(f"/api/v1/meetings/{w.meeting_hilden.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["uid"] == str(w.meeting_hilden.uid) and body["status"] == "proposed"
    assert body["action_items"][0]["title"] == "Liste aktualisieren"
    assert {p["id"] for p in body["invitees"]} == {personas.caseworker_hilden.pk, personas.police_hilden.pk}
    assert api(personas.caseworker_velbert).get(f"/api/v1/meetings/{w.meeting_hilden.pk}/").status_code == 404
    assert api(personas.caseworker_velbert).get("/api/v1/meetings/987654/").status_code == 404


def test_meeting_ics_is_a_parseable_calendar(api, world):
    personas, w = world
    url = f"/api/v1/meetings/{w.meeting_hilden.pk}/ics/"
    for accept in ("*/*", "text/calendar", "application/json"):
        response = api(personas.police_hilden).get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(response.content)
        assert str(calendar["METHOD"]) == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == str(w.meeting_hilden.uid)
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == w.meeting_hilden.start
    assert api(personas.caseworker_velbert).get(url).status_code == 404


def test_confirm_move_cancel(api, world):
    personas, w = world
    url = f"/api/v1/meetings/{w.meeting_hilden.pk}"
    coordinator = api(personas.district_coordinator)
    assert api(personas.caseworker_hilden).post(f"{url}/confirm/").status_code == 403
    response = coordinator.post(f"{url}/confirm/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    invited = Notification.objects.filter(kind="meeting_invitation", channel="in_app")
    assert set(invited.values_list("recipient_user", flat=True)) == {
        personas.caseworker_hilden.pk,
        personas.police_hilden.pk,
    }
    assert coordinator.post(f"{url}/confirm/").status_code == 400  # confirmed already

    new_start = local(next_working_day(25), 9)
    response = coordinator.post(f"{url}/move/", {"start": new_start.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sequence"] == 1
    w.meeting_hilden.refresh_from_db()
    assert w.meeting_hilden.start == new_start
    assert w.meeting_hilden.end - w.meeting_hilden.start == datetime.timedelta(minutes=90)
    past = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert coordinator.post(f"{url}/move/", {"start": past}, format="json").status_code == 400
    bad_end = {"start": new_start.isoformat(), "end": (new_start - datetime.timedelta(hours=1)).isoformat()}
    assert coordinator.post(f"{url}/move/", bad_end, format="json").status_code == 400
    move = {"start": new_start.isoformat()}
    assert api(personas.police_hilden).post(f"{url}/move/", move, format="json").status_code == 403

    assert coordinator.post(f"{url}/cancel/", {}, format="json").status_code == 400
    response = coordinator.post(f"{url}/cancel/", {"reason": "Personalengpass"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["sequence"] == 2
    assert Notification.objects.filter(kind="meeting_cancellation", channel="in_app").count() == 2
    ics = api(personas.caseworker_hilden).get(f"{url}/ics/")
    assert str(icalendar.Calendar.from_ical(ics.content)["METHOD"]) == "CANCEL"


NO_FIELDS = "Diese Aktion erwartet keine Felder: Senden Sie keinen Inhalt oder ein leeres JSON-Objekt."
NOT_AN_OBJECT = "Senden Sie die Daten als JSON-Objekt."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ([], {"non_field_errors": [NOT_AN_OBJECT]}),
        (["2026-06-16T10:00:00+02:00"], {"non_field_errors": [NOT_AN_OBJECT]}),
        ("bestätigen", {"non_field_errors": [NOT_AN_OBJECT]}),
        (1, {"non_field_errors": [NOT_AN_OBJECT]}),
        ({"start": 20260616}, {"start": [NO_FIELDS]}),
        ({"confirm": "ja", "sequence": 1}, {"confirm": [NO_FIELDS], "sequence": [NO_FIELDS]}),
    ],
    ids=["empty-list", "list", "text", "number", "field", "fields"],
)
def test_confirm_refuses_a_malformed_body_and_changes_nothing(api, world, body, errors):
    """``confirm`` takes no fields: a body that is not a JSON object, or one with fields, was ignored and
    the date confirmed anyway; now it is 400 naming what is wrong, and the meeting stays proposed."""
    personas, w = world
    url = f"/api/v1/meetings/{w.meeting_hilden.pk}/confirm/"
    response = api(personas.district_coordinator).post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == errors
    w.meeting_hilden.refresh_from_db()
    assert w.meeting_hilden.status == MeetingStatus.PROPOSED and w.meeting_hilden.sequence == 0
    assert not Notification.objects.filter(kind="meeting_invitation").exists()


@pytest.mark.parametrize("body", [None, {}], ids=["no-body", "empty-object"])
def test_confirm_with_an_empty_body_confirms_as_before(api, world, body):
    personas, w = world
    url = f"/api/v1/meetings/{w.meeting_hilden.pk}/confirm/"
    coordinator = api(personas.district_coordinator)
    response = coordinator.post(url) if body is None else coordinator.post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    # Out of scope stays 404 and not the coordinator's stays 403, whatever the body.
    other = f"/api/v1/meetings/{w.meeting_hilden.pk}/confirm/"
    assert api(personas.caseworker_velbert).post(other, [], format="json").status_code == 404
    assert api(personas.caseworker_hilden).post(other, {}, format="json").status_code == 403


def test_move_without_end_keeps_the_meetings_own_length_and_the_texts_say_so(api, world, client):
    """``move`` without ``end``: the meeting keeps its own length (``meetings.services.meeting_move``),
    also where it differs from the series' duration — as the operation's description says. The schema's
    field text and the page's help text said "the series' duration"; they now say what happens."""
    personas, w = world
    meeting = w.meeting_hilden  # of a series of 90 minutes; this date was made two hours long
    Meeting.objects.filter(pk=meeting.pk).update(end=meeting.start + datetime.timedelta(hours=2))
    new_start = local(next_working_day(25), 9)
    coordinator = api(personas.district_coordinator)
    response = coordinator.post(f"/api/v1/meetings/{meeting.pk}/move/", {"start": new_start.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    meeting.refresh_from_db()
    assert (meeting.start, meeting.end) == (new_start, new_start + datetime.timedelta(hours=2))

    client.force_login(personas.district_coordinator)
    schema = client.get("/api/schema/?format=json").json()
    move = schema["paths"]["/api/v1/meetings/{id}/move/"]["post"]
    assert "keeps its length" in move["description"]
    end = schema["components"]["schemas"]["MoveRequest"]["properties"]["end"]["description"]
    assert "series" not in end and "the meeting's current length" in end, end
    page = client.get(f"/cooperation/meetings/{meeting.pk}/").content.decode()
    assert "Leer: Der Termin behält seine bisherige Dauer." in page
    assert "Dauer laut Terminreihe" not in page


def test_agenda_minutes_and_action_items(api, world):
    personas, w = world
    url = f"/api/v1/meetings/{w.meeting_hilden.pk}"
    response = api(personas.police_hilden).post(f"{url}/agenda/", {"title": "Erreichbarkeit"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["proposed_by"]["id"] == personas.police_hilden.pk
    assert api(personas.lead_hilden).post(f"{url}/agenda/", {"title": "Leitung"}, format="json").status_code == 201
    assert api(personas.caseworker_velbert).post(f"{url}/agenda/", {"title": "X"}, format="json").status_code == 404
    assert api(personas.police_hilden).post(f"{url}/agenda/", {}, format="json").status_code == 400

    # Minutes belong to a confirmed meeting that has begun.
    minutes = {"minutes": "1. Erreichbarkeit geklärt.", "present_user_ids": [personas.caseworker_hilden.pk]}
    coordinator = api(personas.district_coordinator)
    assert coordinator.post(f"{url}/minutes/", minutes, format="json").status_code == 400
    Meeting.objects.filter(pk=w.meeting_hilden.pk).update(
        status=MeetingStatus.CONFIRMED,
        start=timezone.now() - datetime.timedelta(hours=2),
        end=timezone.now() - datetime.timedelta(minutes=30),
    )
    assert api(personas.caseworker_hilden).post(f"{url}/minutes/", minutes, format="json").status_code == 403
    response = coordinator.post(f"{url}/minutes/", minutes, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "held" and body["minutes"] == "1. Erreichbarkeit geklärt."
    present = {a["person"]["id"]: a["present"] for a in body["attendance"]}
    assert present == {personas.caseworker_hilden.pk: True, personas.police_hilden.pk: False}
    outsider = {"minutes": "x", "present_user_ids": [personas.caseworker_velbert.pk]}
    assert coordinator.post(f"{url}/minutes/", outsider, format="json").status_code == 400

    due = (timezone.localdate() + datetime.timedelta(days=14)).isoformat()
    item = {"title": "Ansprechpersonen aktualisieren", "owner": personas.police_hilden.pk, "due_on": due}
    response = api(personas.caseworker_hilden).post(f"{url}/actions/", item, format="json")
    assert response.status_code == 201, response.content
    item_id = response.json()["id"]
    assert response.json()["owner"]["id"] == personas.police_hilden.pk
    stranger = {**item, "owner": personas.caseworker_velbert.pk}
    assert coordinator.post(f"{url}/actions/", stranger, format="json").status_code == 400
    assert api(personas.lead_hilden).post(f"{url}/actions/", item, format="json").status_code == 403

    assert api(personas.caseworker_hilden).post(f"{url}/actions/{item_id}/done/").status_code == 403
    response = api(personas.police_hilden).post(f"{url}/actions/{item_id}/done/")
    assert response.status_code == 200 and response.json()["done_at"]
    assert api(personas.police_hilden).post(f"{url}/actions/{item_id}/done/").status_code == 400
    other = f"/api/v1/meetings/{w.meeting_velbert.pk}/actions/{item_id}/done/"
    assert api(personas.district_coordinator).post(other).status_code == 404


# --- hospitations ---------------------------------------------------------------------------------


def test_hospitation_request_approve_complete(api, personas):
    wished = [next_working_day(14).isoformat(), next_working_day(21).isoformat()]
    payload = {"host_agency": agency("JA-VEL").pk, "wished_dates": wished, "purpose": "Hausbesuche verstehen"}
    response = api(personas.police_velbert).post("/api/v1/hospitations/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "requested" and body["requester_agency"]["name"] == "Polizeiwache Velbert"
    assert body["wished_dates"] == wished
    pk = body["id"]
    assert Notification.objects.filter(kind="hospitation_requested", recipient_user=personas.lead_velbert).exists()

    # The host's lead sees the programme; the Hilden lead does not.
    assert pk in {h["id"] for h in _all(api(personas.lead_velbert), "/api/v1/hospitations/")}
    assert pk in {h["id"] for h in _all(api(personas.police_coordinator), "/api/v1/hospitations/")}
    assert pk in {h["id"] for h in _all(api(personas.district_coordinator), "/api/v1/hospitations/")}
    assert _all(api(personas.lead_hilden), "/api/v1/hospitations/") == []
    assert api(personas.lead_hilden).get(f"/api/v1/hospitations/{pk}/").status_code == 404

    approval = {"date": wished[0], "host_person": personas.caseworker_velbert.pk}
    approve_url = f"/api/v1/hospitations/{pk}/approve/"
    assert api(personas.caseworker_velbert).post(approve_url, approval, format="json").status_code == 404
    assert api(personas.police_coordinator).post(approve_url, approval, format="json").status_code == 403
    wrong_host = {**approval, "host_person": personas.caseworker_hilden.pk}
    response = api(personas.lead_velbert).post(f"/api/v1/hospitations/{pk}/approve/", wrong_host, format="json")
    assert response.status_code == 400 and "host_person" in response.json()
    response = api(personas.lead_velbert).post(f"/api/v1/hospitations/{pk}/approve/", approval, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved" and response.json()["host_person"]["id"] == (
        personas.caseworker_velbert.pk
    )
    # The host person now sees it; completion only on or after the day.
    complete = {"feedback": "Sehr hilfreich."}
    url = f"/api/v1/hospitations/{pk}/complete/"
    assert api(personas.caseworker_velbert).post(url, complete, format="json").status_code == 400
    Hospitation.objects.filter(pk=pk).update(date=timezone.localdate())
    assert api(personas.lead_velbert).post(url, complete, format="json").status_code == 403
    response = api(personas.police_velbert).post(url, complete, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert response.json()["feedback"] == "Sehr hilfreich."


def test_hospitation_refusals(api, world):
    personas, w = world
    client = api(personas.police_hilden)
    same_side = {"host_agency": agency("PW-VEL").pk, "wished_dates": [next_working_day(9).isoformat()], "purpose": "x"}
    response = client.post("/api/v1/hospitations/", same_side, format="json")
    assert response.status_code == 400 and "host_agency" in response.json()
    past = {**same_side, "host_agency": agency("JA-HIL").pk, "wished_dates": ["2020-01-07"]}
    response = client.post("/api/v1/hospitations/", past, format="json")
    assert response.status_code == 400 and "wished_dates" in response.json()
    no_dates = {**same_side, "host_agency": agency("JA-HIL").pk, "wished_dates": []}
    assert client.post("/api/v1/hospitations/", no_dates, format="json").status_code == 400
    ok = {**same_side, "host_agency": agency("JA-HIL").pk}
    assert api(personas.district_coordinator).post("/api/v1/hospitations/", ok, format="json").status_code == 403
    assert api(personas.no_role).post("/api/v1/hospitations/", ok, format="json").status_code == 403

    url = f"/api/v1/hospitations/{w.hospitation.pk}"
    assert api(personas.lead_hilden).post(f"{url}/decline/", {}, format="json").status_code == 400
    reason = {"reason": "Im April keine Kapazität."}
    assert api(personas.police_coordinator).post(f"{url}/decline/", reason, format="json").status_code == 403
    assert api(personas.lead_velbert).post(f"{url}/decline/", reason, format="json").status_code == 404
    response = api(personas.lead_hilden).post(f"{url}/decline/", reason, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "declined" and response.json()["decline_reason"] == "Im April keine Kapazität."
    assert api(personas.lead_hilden).post(f"{url}/decline/", reason, format="json").status_code == 400
    assert api(personas.district_coordinator).get("/api/v1/hospitations/?status=declined").json()["results"]
    assert api(personas.district_coordinator).get("/api/v1/hospitations/?status=nope").status_code == 400


HOST_LEAD_ONLY = "Nur die Leitung der gastgebenden Dienststelle entscheidet über eine Hospitation."


def test_who_sees_a_hospitation_but_may_not_decide_gets_403_with_the_reason_others_404(api, world):
    """Approve and decline: whoever sees the hospitation (``Hospitation.objects.visible_to``) but is not
    the host agency's lead gets 403 saying who decides — the requester, the requesting side's lead, the
    coordinator, and the host person (a caseworker of the host agency) once it names them. A caseworker of
    the host agency who is not its host person does not see it: 404, as for one that does not exist."""
    personas, w = world
    url = f"/api/v1/hospitations/{w.hospitation.pk}"
    approval = {"date": next_working_day(12).isoformat(), "host_person": personas.caseworker_hilden.pk}
    host_caseworker = api(personas.caseworker_hilden)
    assert host_caseworker.get(f"{url}/").status_code == 404
    assert host_caseworker.post(f"{url}/approve/", approval, format="json").status_code == 404
    for person in (personas.police_hilden, personas.police_coordinator, personas.district_coordinator):
        response = api(person).post(f"{url}/approve/", approval, format="json")
        assert (response.status_code, response.json()) == (403, {"detail": HOST_LEAD_ONLY}), person
    assert api(personas.lead_hilden).post(f"{url}/approve/", approval, format="json").status_code == 200
    # Now the host person: sees it, and is told why not.
    assert host_caseworker.get(f"{url}/").status_code == 200
    for action, body in (("approve", approval), ("decline", {"reason": "Doch keine Zeit."})):
        response = host_caseworker.post(f"{url}/{action}/", body, format="json")
        assert (response.status_code, response.json()) == (403, {"detail": HOST_LEAD_ONLY}), action
    w.hospitation.refresh_from_db()
    assert w.hospitation.status == "approved"


# --- information events ---------------------------------------------------------------------------


def event_payload(**overrides) -> dict:
    start = local(next_working_day(30), 14)
    payload = {
        "host_agency": agency("JA-VEL").pk,
        "title": "Gefährdungseinschätzung nach § 8a SGB VIII",
        "description": "Wie ein Jugendamt eine Mitteilung bearbeitet.",
        "audience": "police",
        "start": start.isoformat(),
        "end": (start + datetime.timedelta(hours=2)).isoformat(),
        "place": "Rathaus Velbert",
        "capacity": 1,
        "registration_deadline": (start - datetime.timedelta(days=3)).isoformat(),
    }
    payload.update(overrides)
    return payload


def test_event_with_waitlist(api, personas):
    response = api(personas.lead_velbert).post("/api/v1/events/", event_payload(), format="json")
    assert response.status_code == 201, response.content
    event = response.json()
    assert event["seats_left"] == 1 and event["registered"] == 0 and event["my_registration"] is None
    url = f"/api/v1/events/{event['id']}"

    first = api(personas.police_hilden).post(f"{url}/register/")
    assert first.status_code == 200 and first.json()["my_registration"] == "registered"
    assert first.json()["seats_left"] == 0
    second = api(personas.police_velbert).post(f"{url}/register/")
    assert second.status_code == 200 and second.json()["my_registration"] == "waitlisted"
    assert second.json()["waitlisted"] == 1
    # Youth-office staff of another office are not the audience: 404.
    assert api(personas.caseworker_hilden).post(f"{url}/register/").status_code == 404
    assert api(personas.caseworker_hilden).get(f"{url}/").status_code == 404

    assert api(personas.police_hilden2).post(f"{url}/cancel-registration/").status_code == 400
    response = api(personas.police_hilden).post(f"{url}/cancel-registration/")
    assert response.status_code == 200 and response.json()["my_registration"] is None
    promoted = Registration.objects.get(event_id=event["id"], person=personas.police_velbert)
    assert promoted.status == RegistrationStatus.REGISTERED
    assert api(personas.police_velbert).get(f"{url}/").json()["my_registration"] == "registered"


def test_event_create_refusals(api, personas):
    assert api(personas.police_hilden).post("/api/v1/events/", event_payload(), format="json").status_code == 403
    # A lead hosts only for their own agency.
    response = api(personas.lead_hilden).post("/api/v1/events/", event_payload(), format="json")
    assert response.status_code == 403
    late = event_payload(registration_deadline=local(next_working_day(60)).isoformat())
    response = api(personas.lead_velbert).post("/api/v1/events/", late, format="json")
    assert response.status_code == 400 and "registration_deadline" in response.json()
    response = api(personas.lead_velbert).post("/api/v1/events/", event_payload(capacity=0), format="json")
    assert response.status_code == 400 and "capacity" in response.json()
    response = api(personas.district_coordinator).post("/api/v1/events/", event_payload(), format="json")
    assert response.status_code == 201


def test_event_scoping(api, world):
    personas, w = world
    titles = lambda user: {e["title"] for e in _all(api(user), "/api/v1/events/")}  # noqa: E731
    for persona, visible in VISIBLE_MEETINGS.items():
        expected = {getattr(w, key).title for key in visible if key.startswith("event_")}
        assert titles(getattr(personas, persona)) == expected, persona


# --- calendar feed --------------------------------------------------------------------------------


def test_calendar_feed(api, client, world):
    personas, w = world
    caseworker = api(personas.caseworker_hilden)
    response = caseworker.get("/api/v1/calendar/feed/")
    assert response.status_code == 200
    body = response.json()
    token = CalendarFeedToken.objects.get(user=personas.caseworker_hilden).token
    assert body["url"].endswith(f"/cooperation/calendar/{token}.ics")
    assert body["webcal_url"].startswith("webcal://") and body["webcal_url"].endswith(f"{token}.ics")
    assert caseworker.get("/api/v1/calendar/feed/").json()["url"] == body["url"]  # stable

    # The feed needs no login; it lists what the person takes part in (the meeting once confirmed).
    w.meeting_hilden.status = MeetingStatus.CONFIRMED
    w.meeting_hilden.save()
    feed = client.get(f"/cooperation/calendar/{token}.ics")
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    assert "no-store" in feed["Cache-Control"]
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in feed.content.decode()  # not "1:00:00" (QA)
    uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    assert uids == {str(w.meeting_hilden.uid)}

    assert caseworker.delete("/api/v1/calendar/feed/").status_code == 204
    assert client.get(f"/cooperation/calendar/{token}.ics").status_code == 404
    assert client.get("/cooperation/calendar/not-a-token.ics").status_code == 404
    fresh = caseworker.get("/api/v1/calendar/feed/").json()["url"]
    assert fresh != body["url"]


def test_anonymous_gets_nothing(world):
    _personas, w = world
    client = APIClient()
    for url in (
        "/api/v1/meeting-series/",
        f"/api/v1/meetings/{w.meeting_hilden.pk}/",
        f"/api/v1/meetings/{w.meeting_hilden.pk}/ics/",
        "/api/v1/hospitations/",
        "/api/v1/events/",
        "/api/v1/calendar/feed/",
    ):
        assert client.get(url).status_code in (401, 403), url


# --- OpenAPI --------------------------------------------------------------------------------------

COOPERATION_PATHS = {
    "/api/v1/meeting-series/": ["get", "post"],
    "/api/v1/meeting-series/{id}/": ["get", "patch"],
    "/api/v1/meetings/": ["get"],
    "/api/v1/meetings/{id}/": ["get"],
    "/api/v1/meetings/{id}/ics/": ["get"],
    "/api/v1/meetings/{id}/confirm/": ["post"],
    "/api/v1/meetings/{id}/move/": ["post"],
    "/api/v1/meetings/{id}/cancel/": ["post"],
    "/api/v1/meetings/{id}/agenda/": ["post"],
    "/api/v1/meetings/{id}/minutes/": ["post"],
    "/api/v1/meetings/{id}/actions/": ["post"],
    "/api/v1/meetings/{id}/actions/{item_id}/done/": ["post"],
    "/api/v1/hospitations/": ["get", "post"],
    "/api/v1/hospitations/{id}/": ["get"],
    "/api/v1/hospitations/{id}/approve/": ["post"],
    "/api/v1/hospitations/{id}/decline/": ["post"],
    "/api/v1/hospitations/{id}/complete/": ["post"],
    "/api/v1/events/": ["get", "post"],
    "/api/v1/events/{id}/": ["get"],
    "/api/v1/events/{id}/register/": ["post"],
    "/api/v1/events/{id}/cancel-registration/": ["post"],
    "/api/v1/calendar/feed/": ["get", "delete"],
}


def test_every_cooperation_endpoint_is_described(client, personas):
    client.force_login(personas.caseworker_hilden)
    schema = client.get("/api/schema/?format=json").json()
    for path, methods in COOPERATION_PATHS.items():
        assert set(schema["paths"][path]) == set(methods), path
        for method in methods:
            operation = schema["paths"][path][method]
            assert operation.get("summary"), (path, method)
            examples = [
                example
                for response in operation["responses"].values()
                for content in response.get("content", {}).values()
                for example in content.get("examples", {}).values()
            ]
            assert examples or method == "delete", (path, method)
            if "{id}" in path:
                assert "404" in operation["responses"], (path, method)
    meeting = schema["components"]["schemas"]["Meeting"]["properties"]
    assert {"uid", "sequence", "status", "start", "end"} <= set(meeting)
