"""The cooperation pages: calendar (month and list), series and their form, the meeting page with
the coordinator's actions, hospitations, information events, the calendar subscription with its
public feed, and the annual report. Errors keep what was typed; scope decides 404, role 403."""

import csv
import datetime
import html
import io
import re
import uuid

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meetings.models import (
    ActionItem,
    CalendarFeedToken,
    Hospitation,
    HospitationStatus,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)
from notifications.models import Notification
from tests.test_meetings_api import VISIBLE_MEETINGS, agency, local, meetings_world, next_working_day


@pytest.fixture
def world(personas):
    return personas, meetings_world(personas)


def login(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- calendar -------------------------------------------------------------------------------------


def test_month_shows_own_dates_only(client, world):
    personas, w = world
    month = timezone.localtime(w.meeting_hilden.start).strftime("%Y-%m")
    page = text(login(client, personas.caseworker_hilden).get(f"/cooperation/?month={month}"))
    assert w.series_hilden.title in page
    assert w.series_velbert.title not in page
    assert f'href="/cooperation/meetings/{w.meeting_hilden.pk}/"' in page
    page = text(login(client, personas.caseworker_velbert).get(f"/cooperation/?month={month}"))
    assert w.series_hilden.title not in page
    assert w.series_velbert.title in page


def test_month_navigation_and_bad_month(client, personas):
    login(client, personas.caseworker_hilden)
    response = client.get("/cooperation/?month=2026-12")
    assert response.status_code == 200
    page = text(response)
    assert "?month=2026-11" in page and "?month=2027-01" in page
    assert client.get("/cooperation/?month=kaputt").status_code == 200  # falls back to this month
    assert client.get("/cooperation/?month=2026-13").status_code == 200


@pytest.mark.parametrize(
    "query",
    ["/cooperation/?month=9999-12", "/cooperation/?month=0001-01", "/cooperation/list/?from=9999-12-31&to=9999-12-31",
     "/cooperation/list/?from=0001-01-01", "/cooperation/list/?to=9999-12-31"],
)  # fmt: skip
def test_the_calendar_answers_days_it_cannot_show_with_a_message(client, personas, query):
    """QA of 2026-12-05: the year 0001 or 9999 in the month or the list was a 500 (the next month of
    9999-12 is the year 10000); now the default view, with a message that says why."""
    login(client, personas.police_hilden)
    response = client.get(query)
    assert response.status_code == 200
    assert "kann der Kalender nicht zeigen" in text(response)


def test_list_view_groups_by_day(client, world):
    personas, w = world
    login(client, personas.district_coordinator)
    day = timezone.localtime(w.meeting_hilden.start).date()
    response = client.get(f"/cooperation/list/?from={day}&to={day + datetime.timedelta(days=1)}")
    page = text(response)
    assert w.series_hilden.title in page and w.series_velbert.title in page
    assert page.index(w.series_hilden.title) < page.index(w.series_velbert.title)
    response = client.get(
        f"/cooperation/list/?from={day + datetime.timedelta(days=1)}&to={day + datetime.timedelta(days=1)}"
    )
    assert w.series_hilden.title not in text(response)
    assert client.get("/cooperation/list/?from=x&to=y").status_code == 200


def test_confirmed_hospitation_and_registered_event_appear(client, world):
    personas, w = world
    Hospitation.objects.filter(pk=w.hospitation.pk).update(
        status=HospitationStatus.APPROVED, date=next_working_day(5), host_person=personas.caseworker_hilden
    )
    Registration.objects.create(event=w.event_police, person=personas.police_hilden, status="registered")
    login(client, personas.police_hilden)
    page = text(client.get(f"/cooperation/list/?from={timezone.localdate()}&to={next_working_day(60)}"))
    assert "Jugendamt Hilden" in page  # the hospitation, a whole day
    assert w.event_police.title in page
    assert w.series_hilden.title in page


# --- series ---------------------------------------------------------------------------------------


def series_form(personas, **overrides) -> dict:
    data = {
        "title": "Polizei – Jugendamt Velbert, Sachbearbeiter-Ebene",
        "agencies": [agency("JA-VEL").pk, agency("PW-VEL").pk],
        "invitees": [personas.caseworker_velbert.pk, personas.police_velbert.pk],
        "cadence": "quarterly_2tu",
        "rrule": "",
        "first_start": local(next_working_day(10)).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "90",
        "location": "Rathaus Velbert, Raum 2.14",
        "video_link": "",
    }
    data.update(overrides)
    return data


def test_series_form_creates_series(client, personas):
    login(client, personas.district_coordinator)
    page = text(client.get("/cooperation/series/new/"))
    assert "Jugendamt Velbert" in page and 'data-coop-invitee-group="' in page
    assert 'name="invitees"' in page and "caseworker_velbert" in page
    response = client.post("/cooperation/series/new/", series_form(personas))
    series = MeetingSeries.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cooperation/series/{series.pk}/"
    assert series.rrule == "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"
    assert set(series.invitees.all()) == {personas.caseworker_velbert, personas.police_velbert}
    assert series.meetings.filter(status=MeetingStatus.PROPOSED).exists()
    detail = text(client.get(response["Location"]))
    assert series.title in detail and "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU" not in detail
    assert "vierteljährlich am 2. Dienstag" in detail  # the cadence in words, never RRULE text (issue 16)
    assert "vierteljährlich am 2. Dienstag" in text(client.get("/cooperation/series/"))
    preview = text(client.post("/cooperation/series/new/", {**series_form(personas), "preview": "1"}))
    assert "Rhythmus: vierteljährlich am 2. Dienstag" in preview


def test_series_form_with_custom_rrule(client, personas):
    login(client, personas.district_coordinator)
    data = series_form(personas, cadence="custom", rrule="rrule:freq=monthly;byday=1we")
    assert client.post("/cooperation/series/new/", data).status_code == 302
    assert MeetingSeries.objects.get().rrule == "FREQ=MONTHLY;BYDAY=1WE"


def test_series_form_errors_keep_input(client, personas):
    login(client, personas.district_coordinator)
    data = series_form(personas, title="", cadence="custom", rrule="FREQ=SECONDLY", location="Raum 7")
    response = client.post("/cooperation/series/new/", data)
    assert response.status_code == 200
    page = text(response)
    assert "error-summary" in page
    assert 'href="#id_title"' in page and 'href="#id_rrule"' in page
    assert 'value="Raum 7"' in page and 'value="FREQ=SECONDLY"' in page
    assert f'value="{personas.caseworker_velbert.pk}" id="id_invitees_' in page
    box = f"id_invitees_{agency('JA-VEL').pk}_{personas.caseworker_velbert.pk}"
    assert f'value="{personas.caseworker_velbert.pk}" id="{box}" checked' in page
    assert not MeetingSeries.objects.exists()


def test_series_form_service_errors_land_on_fields(client, personas):
    login(client, personas.district_coordinator)
    # A person of another agency: the service refuses, the page names the field.
    data = series_form(personas, invitees=[personas.caseworker_hilden.pk])
    response = client.post("/cooperation/series/new/", data)
    assert response.status_code == 200
    assert 'href="#invitees-fieldset"' in text(response)
    assert not MeetingSeries.objects.exists()


@pytest.mark.parametrize("persona", ["caseworker_velbert", "lead_velbert", "police_coordinator", "no_role"])
def test_series_form_is_the_coordinators(client, personas, persona):
    login(client, getattr(personas, persona))
    assert client.get("/cooperation/series/new/").status_code == 403
    assert client.post("/cooperation/series/new/", series_form(personas)).status_code == 403


def test_series_list_and_edit(client, world):
    personas, w = world
    page = text(login(client, personas.lead_hilden).get("/cooperation/series/"))
    assert w.series_hilden.title in page and w.series_velbert.title not in page
    assert "/cooperation/series/new/" not in page
    assert client.get(f"/cooperation/series/{w.series_velbert.pk}/").status_code == 404
    assert client.get(f"/cooperation/series/{w.series_hilden.pk}/edit/").status_code == 403

    login(client, personas.district_coordinator)
    assert "/cooperation/series/new/" in text(client.get("/cooperation/series/"))
    edit = client.get(f"/cooperation/series/{w.series_hilden.pk}/edit/")
    assert 'value="Polizei – Jugendamt Hilden"' in text(edit)
    data = series_form(
        personas,
        title="Polizei – Jugendamt Hilden (neu)",
        agencies=[agency("JA-HIL").pk, agency("PW-HIL").pk],
        invitees=[personas.caseworker_hilden.pk, personas.police_hilden.pk],
        first_start=timezone.localtime(w.series_hilden.first_start).strftime("%Y-%m-%dT%H:%M"),
        location="Wache Hilden",
    )
    response = client.post(f"/cooperation/series/{w.series_hilden.pk}/edit/", data)
    assert response.status_code == 302
    w.series_hilden.refresh_from_db()
    assert w.series_hilden.title == "Polizei – Jugendamt Hilden (neu)" and w.series_hilden.location == "Wache Hilden"


# --- meetings -------------------------------------------------------------------------------------


def test_meeting_page_for_coordinator_and_invitee(client, world):
    personas, w = world
    url = f"/cooperation/meetings/{w.meeting_hilden.pk}/"
    page = text(login(client, personas.district_coordinator).get(url))
    for action in ("confirm", "move", "cancel", "agenda"):
        assert f'action="{url}{action}/"' in page, action
    page = text(login(client, personas.caseworker_hilden).get(url))
    assert f'action="{url}agenda/"' in page
    for action in ("confirm", "move", "cancel", "minutes"):
        assert f'action="{url}{action}/"' not in page, action
    assert "Liste aktualisieren" in page
    assert login(client, personas.caseworker_velbert).get(url).status_code == 404


def test_confirm_and_invitation(client, world):
    personas, w = world
    personas.caseworker_hilden.email = "cw.hilden@example.org"
    personas.caseworker_hilden.save()
    url = f"/cooperation/meetings/{w.meeting_hilden.pk}/"
    assert login(client, personas.caseworker_hilden).post(f"{url}confirm/").status_code == 403
    response = login(client, personas.district_coordinator).post(f"{url}confirm/")
    assert response.status_code == 302 and response["Location"] == url
    w.meeting_hilden.refresh_from_db()
    assert w.meeting_hilden.status == MeetingStatus.CONFIRMED
    (message,) = Notification.objects.filter(channel="email", kind="meeting_invitation")
    assert message.recipient_email == "cw.hilden@example.org"
    assert personas.caseworker_hilden.username not in message.body
    assert message.attachment_type.startswith("text/calendar")
    event = icalendar.Calendar.from_ical(message.attachment_content).walk("VEVENT")[0]
    assert str(event["UID"]) == str(w.meeting_hilden.uid)
    assert Notification.objects.filter(recipient_user=personas.police_hilden, kind="meeting_invitation").exists()
    # Confirming again: the page says why not.
    response = client.post(f"{url}confirm/", follow=True)
    assert "message--error" in text(response)


def test_move_errors_keep_input_then_move(client, world):
    personas, w = world
    url = f"/cooperation/meetings/{w.meeting_hilden.pk}/"
    login(client, personas.district_coordinator)
    start = local(next_working_day(30), 9)
    bad = {
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "location": "Raum 5",
        "video_link": "",
    }
    response = client.post(f"{url}move/", bad)
    assert response.status_code == 200
    page = text(response)
    assert 'href="#move_end"' in page and 'value="Raum 5"' in page
    response = client.post(f"{url}move/", {**bad, "end": ""})
    assert response.status_code == 302
    w.meeting_hilden.refresh_from_db()
    assert w.meeting_hilden.start == start and w.meeting_hilden.location == "Raum 5"
    assert login(client, personas.police_hilden).post(f"{url}move/", bad).status_code == 403


def test_the_move_form_leaves_the_end_empty_so_the_meeting_keeps_its_length(client, world):
    """QA of 2026-12-05: the end field came filled with the old end, so changing only the start shortened
    the meeting (or was refused) although its hint says "empty: the meeting keeps its length"."""
    personas, w = world
    url = f"/cooperation/meetings/{w.meeting_hilden.pk}/"
    login(client, personas.district_coordinator)
    page = text(client.get(url))
    end_input = re.search(r'<input[^>]*id="move_end"[^>]*>', page).group(0)
    assert "value=" not in end_input, end_input
    length = w.meeting_hilden.end - w.meeting_hilden.start
    later = timezone.localtime(w.meeting_hilden.start) + datetime.timedelta(hours=1)
    assert client.post(f"{url}move/", {"start": later.strftime("%Y-%m-%dT%H:%M"), "end": ""}).status_code == 302
    w.meeting_hilden.refresh_from_db()
    assert w.meeting_hilden.end - w.meeting_hilden.start == length


def test_cancel_asks_for_confirmation(client, world):
    personas, w = world
    url = f"/cooperation/meetings/{w.meeting_hilden.pk}/"
    login(client, personas.district_coordinator)
    response = client.post(f"{url}cancel/", {"reason": ""})
    assert response.status_code == 200 and 'href="#cancel_reason"' in text(response)
    response = client.post(f"{url}cancel/", {"reason": "Personalengpass"})
    assert response.status_code == 200
    assert 'name="confirm" value="1"' in text(response) and "Personalengpass" in text(response)
    assert Meeting.objects.get(pk=w.meeting_hilden.pk).status == MeetingStatus.PROPOSED
    response = client.post(f"{url}cancel/", {"reason": "Personalengpass", "confirm": "1"})
    assert response.status_code == 302
    assert Meeting.objects.get(pk=w.meeting_hilden.pk).status == MeetingStatus.CANCELLED
    page = text(client.get(url))
    assert "Personalengpass" in page and f'action="{url}confirm/"' not in page


def test_agenda_minutes_attendance_and_action_items(client, world):
    personas, w = world
    url = f"/cooperation/meetings/{w.meeting_hilden.pk}/"
    login(client, personas.police_hilden)
    response = client.post(f"{url}agenda/", {"title": "", "notes": "Notiz bleibt"})
    assert response.status_code == 200 and "Notiz bleibt" in text(response)
    assert client.post(f"{url}agenda/", {"title": "Erreichbarkeit am Wochenende", "notes": ""}).status_code == 302
    assert "Erreichbarkeit am Wochenende" in text(client.get(url))

    # A meeting that has taken place: minutes, attendance, action items.
    Meeting.objects.filter(pk=w.meeting_hilden.pk).update(
        status=MeetingStatus.CONFIRMED,
        start=timezone.now() - datetime.timedelta(hours=2),
        end=timezone.now() - datetime.timedelta(minutes=30),
    )
    assert client.post(f"{url}minutes/", {"minutes": "x"}).status_code == 403
    login(client, personas.district_coordinator)
    assert f'action="{url}minutes/"' in text(client.get(url))
    data = {"minutes": "1. Erreichbarkeit: geklärt.", "present": [personas.caseworker_hilden.pk]}
    assert client.post(f"{url}minutes/", data).status_code == 302
    meeting = Meeting.objects.get(pk=w.meeting_hilden.pk)
    assert meeting.status == MeetingStatus.HELD and meeting.minutes == "1. Erreichbarkeit: geklärt."
    page = text(client.get(url))
    assert "1. Erreichbarkeit: geklärt." in page

    due = (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    response = client.post(f"{url}actions/", {"title": "Flyer", "owner": personas.police_hilden.pk, "due_on": ""})
    assert response.status_code == 200 and 'value="Flyer"' in text(response)
    item = {"title": "Flyer verteilen", "owner": personas.police_hilden.pk, "due_on": due}
    assert client.post(f"{url}actions/", item).status_code == 302
    created = ActionItem.objects.get(title="Flyer verteilen")
    login(client, personas.caseworker_hilden)
    assert client.post(f"{url}actions/{created.pk}/done/").status_code == 403
    login(client, personas.police_hilden)
    assert client.post(f"{url}actions/{created.pk}/done/").status_code == 302
    assert ActionItem.objects.get(pk=created.pk).done_at is not None


def test_meeting_ics_download(client, world):
    personas, w = world
    response = login(client, personas.caseworker_hilden).get(
        f"/cooperation/meetings/{w.meeting_hilden.pk}/invitation.ics"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert str(icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]["UID"]) == str(w.meeting_hilden.uid)
    assert (
        login(client, personas.caseworker_velbert)
        .get(f"/cooperation/meetings/{w.meeting_hilden.pk}/invitation.ics")
        .status_code
        == 404
    )


# --- hospitations ---------------------------------------------------------------------------------


def test_hospitation_request_form(client, personas):
    login(client, personas.caseworker_velbert)
    page = text(client.get("/cooperation/hospitations/new/"))
    assert "Polizeiwache Velbert" in page and "Jugendamt Hilden" not in page
    data = {
        "host_agency": agency("PW-VEL").pk,
        "wished_date_1": "",
        "wished_date_2": "",
        "wished_date_3": "",
        "purpose": "Streifendienst",
    }
    response = client.post("/cooperation/hospitations/new/", data)
    assert response.status_code == 200 and "Streifendienst" in text(response)
    assert 'href="#id_wished_date_1"' in text(response)
    data["wished_date_1"] = next_working_day(10).isoformat()
    data["wished_date_2"] = next_working_day(17).isoformat()
    data["wished_date_3"] = "9999-12-31"  # the message stands at this field, not at the valid first date (QA)
    response = client.post("/cooperation/hospitations/new/", data)
    assert response.status_code == 200 and 'href="#id_wished_date_3"' in text(response)
    assert 'href="#id_wished_date_1"' not in text(response) and "9999-12-31" in text(response)
    data["wished_date_3"] = ""
    response = client.post("/cooperation/hospitations/new/", data)
    hospitation = Hospitation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cooperation/hospitations/{hospitation.pk}/"
    assert hospitation.requester_agency.code == "JA-VEL" and len(hospitation.wished_dates) == 2
    assert login(client, personas.district_coordinator).get("/cooperation/hospitations/new/").status_code == 403


def test_hospitation_programme_approve_decline_complete(client, world):
    personas, w = world
    url = f"/cooperation/hospitations/{w.hospitation.pk}/"
    page = text(login(client, personas.lead_hilden).get("/cooperation/hospitations/"))
    assert url in page and "message--warning" in page  # one request waits for a decision
    page = text(client.get(url))
    assert f'action="{url}approve/"' in page and f'action="{url}decline/"' in page
    # The visitor sees the request, but no decision forms.
    page = text(login(client, personas.police_hilden).get(url))
    assert f'action="{url}approve/"' not in page
    assert client.post(f"{url}approve/", {}).status_code == 403
    assert login(client, personas.lead_velbert).get(url).status_code == 404

    login(client, personas.lead_hilden)
    response = client.post(f"{url}approve/", {"date": "", "host_person": personas.caseworker_hilden.pk})
    assert response.status_code == 200 and 'href="#approve_date"' in text(response)
    day = next_working_day(12)
    response = client.post(f"{url}approve/", {"date": day.isoformat(), "host_person": personas.caseworker_hilden.pk})
    assert response.status_code == 302
    hospitation = Hospitation.objects.get(pk=w.hospitation.pk)
    assert hospitation.status == HospitationStatus.APPROVED and hospitation.host_person == personas.caseworker_hilden

    # Completion after the day, by the visitor or the host person.
    Hospitation.objects.filter(pk=hospitation.pk).update(date=timezone.localdate())
    assert client.post(f"{url}complete/", {"feedback": "gut"}).status_code == 403  # the lead
    login(client, personas.caseworker_hilden)
    assert f'action="{url}complete/"' in text(client.get(url))
    assert client.post(f"{url}complete/", {"feedback": "Sehr hilfreich."}).status_code == 302
    assert Hospitation.objects.get(pk=hospitation.pk).status == HospitationStatus.COMPLETED


def test_hospitation_decline(client, world):
    personas, w = world
    url = f"/cooperation/hospitations/{w.hospitation.pk}/"
    login(client, personas.lead_hilden)
    assert client.post(f"{url}decline/", {"reason": ""}).status_code == 200
    assert client.post(f"{url}decline/", {"reason": "Keine Kapazität im April."}).status_code == 302
    page = text(login(client, personas.police_hilden).get(url))
    assert "Keine Kapazität im April." in page


def test_withdrawing_an_approval_asks_first_and_says_what_happened(client, world):
    """QA of 2026-12-05: "Zusage zurückziehen" withdrew at once and then said "Anfrage abgelehnt"."""
    personas, w = world
    url = f"/cooperation/hospitations/{w.hospitation.pk}/"
    login(client, personas.lead_hilden)
    day = next_working_day(12)
    assert client.post(f"{url}approve/", {"date": day.isoformat(), "host_person": personas.caseworker_hilden.pk})
    assert "Grund für das Zurückziehen der Zusage" in text(client.get(url))
    asked = client.post(f"{url}decline/", {"reason": "Personalausfall"})
    assert asked.status_code == 200 and 'name="confirm" value="1"' in text(asked) and "Personalausfall" in text(asked)
    assert Hospitation.objects.get(pk=w.hospitation.pk).status == HospitationStatus.APPROVED  # nothing yet
    done = client.post(f"{url}decline/", {"reason": "Personalausfall", "confirm": "1"}, follow=True)
    assert "Zusage zurückgezogen" in text(done) and "Anfrage abgelehnt" not in text(done)
    assert Hospitation.objects.get(pk=w.hospitation.pk).status == HospitationStatus.DECLINED


def test_hospitation_totals(client, world):
    personas, w = world
    Hospitation.objects.filter(pk=w.hospitation.pk).update(
        status=HospitationStatus.COMPLETED, date=timezone.localdate()
    )
    page = text(login(client, personas.district_coordinator).get("/cooperation/hospitations/totals/"))
    assert "Jugendamt Hilden" in page and "Polizeiwache Hilden" in page
    assert login(client, personas.lead_hilden).get("/cooperation/hospitations/totals/").status_code == 200
    assert login(client, personas.caseworker_hilden).get("/cooperation/hospitations/totals/").status_code == 403


# --- events ---------------------------------------------------------------------------------------


def event_form(**overrides) -> dict:
    start = local(next_working_day(30), 14)
    data = {
        "host_agency": agency("JA-VEL").pk,
        "title": "Gefährdungseinschätzung erklärt",
        "description": "Wie ein Jugendamt eine Mitteilung bearbeitet.",
        "audience": "police",
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "place": "Rathaus Velbert",
        "capacity": "1",
        "registration_deadline": (start - datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return data


def test_event_create_register_waitlist_attendance(client, personas):
    login(client, personas.lead_velbert)
    response = client.post("/cooperation/events/new/", event_form(end=event_form()["start"], place="Saal 3"))
    assert response.status_code == 200 and 'href="#id_end"' in text(response) and 'value="Saal 3"' in text(response)
    response = client.post("/cooperation/events/new/", event_form())
    assert response.status_code == 302
    url = response["Location"]

    login(client, personas.police_hilden)
    listing = text(client.get("/cooperation/events/"))
    assert "Gefährdungseinschätzung erklärt" in listing
    assert client.post(f"{url}register/").status_code == 302
    login(client, personas.police_velbert)
    client.post(f"{url}register/")
    page = text(client.get(url))
    assert f'action="{url}cancel-registration/"' in page
    event_id = int(url.rstrip("/").rsplit("/", 1)[1])
    assert Registration.objects.get(event_id=event_id, person=personas.police_velbert).status == "waitlisted"
    assert client.get(f"{url}attendance/").status_code == 403

    login(client, personas.lead_velbert)
    page = text(client.get(f"{url}attendance/"))
    assert "police_hilden" in page and "police_velbert" in page

    login(client, personas.police_hilden)
    confirm = client.post(f"{url}cancel-registration/")  # asked first: the seat goes to the waiting list
    assert confirm.status_code == 200 and 'name="confirm" value="1"' in text(confirm)
    assert Registration.objects.get(event_id=event_id, person=personas.police_velbert).status == "waitlisted"
    assert client.post(f"{url}cancel-registration/", {"confirm": "1"}).status_code == 302
    promoted = Registration.objects.get(event_id=event_id, person=personas.police_velbert)
    assert promoted.status == RegistrationStatus.REGISTERED
    assert login(client, personas.caseworker_hilden).get(url).status_code == 404


def test_event_create_is_for_leads_and_coordinator(client, personas):
    assert login(client, personas.police_hilden).get("/cooperation/events/new/").status_code == 403
    assert login(client, personas.caseworker_velbert).get("/cooperation/events/new/").status_code == 403
    page = text(login(client, personas.lead_hilden).get("/cooperation/events/new/"))
    assert "Jugendamt Hilden" in page and "Jugendamt Velbert" not in page
    page = text(login(client, personas.district_coordinator).get("/cooperation/events/new/"))
    assert "Jugendamt Velbert" in page and "Polizeiwache Hilden" in page


def test_event_list_scoping(client, world):
    personas, w = world
    for persona, visible in VISIBLE_MEETINGS.items():
        page = text(login(client, getattr(personas, persona)).get("/cooperation/events/"))
        for key in ("event_police", "event_offices"):
            assert (getattr(w, key).title in page) == (key in visible), (persona, key)


# --- calendar subscription ------------------------------------------------------------------------


def test_subscription_create_show_revoke(client, world):
    personas, w = world
    login(client, personas.caseworker_hilden)
    assert "webcal://" not in text(client.get("/cooperation/subscription/"))
    assert client.post("/cooperation/subscription/").status_code == 302
    token = CalendarFeedToken.objects.get(user=personas.caseworker_hilden).token
    page = text(client.get("/cooperation/subscription/"))
    assert f"webcal://testserver/cooperation/calendar/{token}.ics" in page

    client.logout()
    feed = client.get(f"/cooperation/calendar/{token}.ics")
    assert feed.status_code == 200 and "no-store" in feed["Cache-Control"]
    icalendar.Calendar.from_ical(feed.content)

    login(client, personas.caseworker_hilden)
    response = client.post("/cooperation/subscription/revoke/")
    assert response.status_code == 200 and 'name="confirm" value="1"' in text(response)
    assert CalendarFeedToken.objects.filter(user=personas.caseworker_hilden).exists()
    assert client.post("/cooperation/subscription/revoke/", {"confirm": "1"}).status_code == 302
    assert not CalendarFeedToken.objects.filter(user=personas.caseworker_hilden).exists()
    client.logout()
    assert client.get(f"/cooperation/calendar/{token}.ics").status_code == 404


def test_feed_of_a_deactivated_person_is_gone(client, personas):
    token = CalendarFeedToken.objects.create(user=personas.police_hilden, token="a" * 43)
    assert client.get(f"/cooperation/calendar/{token.token}.ics").status_code == 200
    personas.police_hilden.is_active = False
    personas.police_hilden.save()
    assert client.get(f"/cooperation/calendar/{token.token}.ics").status_code == 404


# --- annual report --------------------------------------------------------------------------------


def test_report_page_and_csv(client, world):
    personas, w = world
    year = timezone.localdate().year
    Hospitation.objects.filter(pk=w.hospitation.pk).update(
        status=HospitationStatus.COMPLETED, date=timezone.localdate()
    )
    login(client, personas.district_coordinator)
    page = text(client.get(f"/cooperation/report/?year={year}"))
    assert "Jugendamt Hilden – Polizeiwache Hilden" in page
    assert f"/cooperation/report.csv?year={year}" in page
    response = client.get(f"/cooperation/report.csv?year={year}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"kooperationsbericht-{year}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode()), delimiter=";"))
    assert len(rows[0]) == 6
    pair = next(r for r in rows if r[0] == "Jugendamt Hilden – Polizeiwache Hilden")
    assert pair[3] == "1"
    assert client.get("/cooperation/report/?year=1999").status_code == 404  # no fallback to another year (issue 15)
    for persona in ("caseworker_hilden", "lead_hilden", "police_coordinator"):
        login(client, getattr(personas, persona))
        assert client.get("/cooperation/report/").status_code == 403
        assert client.get("/cooperation/report.csv").status_code == 403


# --- access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, world):
    _personas, w = world
    for path in (
        "/cooperation/",
        "/cooperation/list/",
        "/cooperation/series/",
        f"/cooperation/meetings/{w.meeting_hilden.pk}/",
        "/cooperation/hospitations/",
        "/cooperation/events/",
        "/cooperation/subscription/",
        "/cooperation/report/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path


def test_pages_render_for_every_persona(client, world):
    personas, w = world
    for persona in VISIBLE_MEETINGS:
        login(client, getattr(personas, persona))
        for path in ("/cooperation/", "/cooperation/list/", "/cooperation/series/", "/cooperation/hospitations/",
                     "/cooperation/events/", "/cooperation/subscription/"):  # fmt: skip
            assert client.get(path).status_code == 200, (persona, path)


# --- query counts ---------------------------------------------------------------------------------


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_list_pages_do_not_grow_with_rows(client, world):
    """The count with the world's rows equals the count with many more (no query per row)."""
    personas, w = world
    login(client, personas.district_coordinator)
    paths = ("/cooperation/series/", "/cooperation/events/", "/cooperation/hospitations/", "/cooperation/list/")
    before = {path: _queries(client, path) for path in paths}
    for index in range(5):
        series = MeetingSeries.objects.create(
            district=w.series_hilden.district, title=f"Reihe {index}", rrule=w.series_hilden.rrule,
            first_start=w.series_hilden.first_start, created_by=personas.district_coordinator,
        )  # fmt: skip
        series.agencies.set([agency("JA-HIL"), agency("PW-HIL")])
        series.invitees.set([personas.caseworker_hilden])
        Meeting.objects.create(
            series=series, occurrence=w.meeting_hilden.start, start=w.meeting_hilden.start,
            end=w.meeting_hilden.end, status=MeetingStatus.PROPOSED,
        )  # fmt: skip
        Hospitation.objects.create(
            requester=personas.police_velbert, requester_agency=agency("PW-VEL"), host_agency=agency("JA-VEL"),
            wished_dates=[], purpose="x",
        )  # fmt: skip
        w.event_police.pk = None
        w.event_police.uid = uuid.uuid4()
        w.event_police.save()
    assert {path: _queries(client, path) for path in paths} == before
