"""The contact directory (Erreichbarkeiten, issue 9 §2): who sees which contact details on the page
and in the API, who keeps an entry, the edit page's validation, the placeholder seed, the contact
box after submission and the police feedback's contact person."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from agencies.directory import is_open, next_opening
from agencies.models import Agency, AgencyKind, ContactPerson, District, Membership, OfficeHours, Role
from agencies.services import district_seed
from notifications.models import Notification
from referrals.clocks import LOCAL_TZ
from referrals.selectors import police_feedback
from referrals.services import referral_acknowledge
from tests.factories import make_referral

HILDEN_ONCALL_PHONE = "02103 0000-199"
COORD_ONCALL_PHONE = "02104 0000-999"


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


def other_district_people():
    """A second district with a youth office, a police station and one person in each."""
    district = District.objects.create(slug="testkreis", name="Testkreis")
    authority = Agency.objects.create(
        district=district, kind=AgencyKind.POLICE_AUTHORITY, name="KPB Test", code="KPB-T"
    )
    station = Agency.objects.create(
        district=district, kind=AgencyKind.POLICE_STATION, name="Wache Test", code="PW-T", parent=authority
    )
    office = Agency.objects.create(
        district=district,
        kind=AgencyKind.YOUTH_OFFICE,
        name="Jugendamt Testkreis",
        code="JA-T",
        oncall_phone="0999 0000-111",
        oncall_email="rb@test.example",
    )
    users = {}
    for username, agency, role in (
        ("police_other", station, Role.POLICE_OFFICER),
        ("caseworker_other", office, Role.CASEWORKER),
    ):
        user = get_user_model().objects.create_user(username=username, password="Test-Passwort-123")
        Membership.objects.create(user=user, agency=agency, role=role)
        users[username] = user
    return office, users


def web(client, user):
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- visibility ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona,sees_oncall",
    [
        ("police_hilden", True),
        ("police_coordinator", True),
        ("caseworker_hilden", True),
        ("lead_velbert", True),
        ("district_coordinator", False),  # a coordination office is neither police nor youth office
    ],
)
def test_directory_page_shows_on_call_numbers_to_police_and_youth_offices_only(client, personas, persona, sees_oncall):
    response = web(client, getattr(personas, persona)).get("/directory/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Jugendamt Hilden" in text and "Kreispolizeibehörde Mettmann" in text and "02103 0000-100" in text
    assert (HILDEN_ONCALL_PHONE in text) is sees_oncall
    assert german("Placeholder data: this agency has not yet entered its real contact details.") in text


def test_the_coordinator_sees_the_own_on_call_number_it_keeps(client, personas):
    text = web(client, personas.district_coordinator).get("/directory/").content.decode()
    assert COORD_ONCALL_PHONE in text and HILDEN_ONCALL_PHONE not in text


def test_anonymous_and_other_district_see_nothing(client, personas):
    response = client.get("/directory/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert APIClient().get("/api/v1/agencies/").status_code in (401, 403)
    _office, users = other_district_people()
    text = web(client, users["police_other"]).get("/directory/").content.decode()
    assert "Jugendamt Testkreis" in text and "0999 0000-111" in text
    assert "Jugendamt Hilden" not in text and HILDEN_ONCALL_PHONE not in text
    hilden = Agency.objects.get(code="JA-HIL")
    assert api(users["police_other"]).get(f"/api/v1/agencies/{hilden.pk}/").status_code == 404
    assert web(client, users["caseworker_other"]).get(f"/directory/{hilden.pk}/edit/").status_code == 404


def test_no_membership_is_refused(client, personas):
    assert web(client, personas.no_role).get("/directory/").status_code == 403
    assert api(personas.no_role).get("/api/v1/agencies/").json() == []


def test_api_carries_contact_fields_with_the_same_rules(personas):
    hilden = Agency.objects.get(code="JA-HIL")
    police = api(personas.police_hilden).get(f"/api/v1/agencies/{hilden.pk}/").json()
    assert police["oncall_phone"] == HILDEN_ONCALL_PHONE and police["phone"] == "02103 0000-100"
    assert police["oncall_email"] == "rufbereitschaft@jugendamt-hilden.example"
    assert {p["name"] for p in police["contact_persons"]} == {
        "Anna Beispiel (Platzhalter)",
        "Bernd Muster (Platzhalter)",
    }
    assert police["office_hours"][0] == {"weekday": 0, "opens": "08:00", "closes": "16:00"}
    assert police["placeholder"] is True
    coordinator = api(personas.district_coordinator).get(f"/api/v1/agencies/{hilden.pk}/").json()
    assert coordinator["oncall_phone"] is None and coordinator["oncall_email"] is None
    assert coordinator["phone"] == "02103 0000-100"
    listed = api(personas.caseworker_velbert).get("/api/v1/agencies/").json()
    assert {a["name"] for a in listed} >= {"Jugendamt Hilden", "Koordinierungsstelle Kinderschutz Kreis Mettmann"}
    assert all(a["oncall_phone"] is not None for a in listed)
    assert api(personas.police_hilden).get("/api/v1/agencies/987654/").status_code == 404


def test_directory_is_in_the_openapi_schema(client, personas):
    schema = web(client, personas.police_hilden).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/agencies/" in schema["paths"] and "/api/v1/agencies/{id}/" in schema["paths"]
    assert "/api/v1/routing/preview/" in schema["paths"]


# --- keeping an entry ----------------------------------------------------------------------------


def _post_data(agency, **overrides):
    data = {
        "phone": "02103 72-100",
        "email": "kinderschutz@hilden.example",
        "oncall_phone": "0171 555 0101",
        "oncall_email": "rb@hilden.example",
        "hours_0": "08:00-12:00, 13:00-16:00",
        "hours_4": "08:00-12:30",
        "persons-TOTAL_FORMS": "3",
        "persons-INITIAL_FORMS": "2",
        "persons-MIN_NUM_FORMS": "0",
        "persons-MAX_NUM_FORMS": "1000",
    }
    for index, person in enumerate(agency.contact_persons.order_by("position", "id")):
        data.update(
            {
                f"persons-{index}-id": str(person.pk),
                f"persons-{index}-agency": str(agency.pk),
                f"persons-{index}-name": person.name,
                f"persons-{index}-function": person.function,
                f"persons-{index}-phone": person.phone,
                f"persons-{index}-email": person.email,
            }
        )
    data.update({"persons-0-DELETE": "on", "persons-2-name": "Eva Schmidt", "persons-2-function": "Leitung"})
    data["persons-2-phone"] = "02103 72-222"
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "persona,code,status",
    [
        ("lead_hilden", "JA-HIL", 200),
        ("caseworker_hilden", "JA-HIL", 403),
        ("lead_hilden", "JA-VEL", 403),
        ("police_coordinator", "KPB-ME", 200),
        ("police_coordinator", "PW-HIL", 200),
        ("police_hilden", "PW-HIL", 403),
        ("district_coordinator", "KOORD", 200),
        ("district_coordinator", "JA-HIL", 403),
    ],
)
def test_who_keeps_an_entry(client, personas, persona, code, status):
    agency = Agency.objects.get(code=code)
    assert web(client, getattr(personas, persona)).get(f"/directory/{agency.pk}/edit/").status_code == status


def test_office_lead_edits_the_entry(client, personas):
    hilden = Agency.objects.get(code="JA-HIL")
    response = web(client, personas.lead_hilden).post(f"/directory/{hilden.pk}/edit/", _post_data(hilden))
    assert response.status_code == 302
    hilden.refresh_from_db()
    assert hilden.oncall_phone == "0171 555 0101" and not hilden.contacts_placeholder and hilden.contacts_updated_at
    assert [str(h) for h in OfficeHours.objects.filter(agency=hilden)] == [
        f"{german('Monday')} 08:00–12:00",
        f"{german('Monday')} 13:00–16:00",
        f"{german('Friday')} 08:00–12:30",
    ]
    assert set(ContactPerson.objects.filter(agency=hilden).values_list("name", flat=True)) == {
        "Bernd Muster (Platzhalter)",
        "Eva Schmidt",
    }
    # a new seed run leaves an edited entry alone
    district_seed(slug="mettmann")
    hilden.refresh_from_db()
    assert hilden.oncall_phone == "0171 555 0101" and OfficeHours.objects.filter(agency=hilden).count() == 3


def test_invalid_input_comes_back_with_german_messages_and_the_input_kept(client, personas):
    hilden = Agency.objects.get(code="JA-HIL")
    data = _post_data(hilden, oncall_phone="ruf mich an", hours_1="8 bis 12", oncall_email="")
    response = web(client, personas.lead_hilden).post(f"/directory/{hilden.pk}/edit/", data)
    assert response.status_code == 200
    text = response.content.decode()
    assert german("Enter office hours as 08:00-12:00, several separated by commas.") in text
    assert german("Enter a phone number (digits, spaces, + ( ) / -).") in text
    assert german("This field is required.") in text  # the on-call mailbox of a youth office
    assert 'value="ruf mich an"' in text and 'value="8 bis 12"' in text and 'value="Eva Schmidt"' in text
    hilden.refresh_from_db()
    assert hilden.oncall_phone == HILDEN_ONCALL_PHONE  # nothing saved


def test_hours_must_be_times_in_order(client, personas):
    hilden = Agency.objects.get(code="JA-HIL")
    data = _post_data(hilden, hours_2="12:00-08:00", hours_3="08:00-12:00, 11:00-14:00")
    text = web(client, personas.lead_hilden).post(f"/directory/{hilden.pk}/edit/", data).content.decode()
    assert german("The opening hours overlap.") in text
    assert "12:00-08:00" in text


def test_coordinator_sets_the_triage_clock(client, personas):
    coordination = Agency.objects.get(code="KOORD")
    data = _post_data(coordination, clock_triage_hours="2")
    data.update({"persons-TOTAL_FORMS": "1", "persons-INITIAL_FORMS": "1"})
    data.pop("persons-2-name"), data.pop("persons-2-function"), data.pop("persons-2-phone")
    response = web(client, personas.district_coordinator).post(f"/directory/{coordination.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    coordination.refresh_from_db()
    assert coordination.clock_triage_hours == 2


# --- office hours -----------------------------------------------------------------------------------


def test_office_hours_and_nrw_holidays(personas):
    hilden = Agency.objects.get(code="JA-HIL")
    friday_evening = datetime.datetime(2026, 6, 12, 22, 13, tzinfo=LOCAL_TZ)
    assert not is_open(hilden, friday_evening)
    assert next_opening(hilden, friday_evening) == datetime.datetime(2026, 6, 15, 8, 0, tzinfo=LOCAL_TZ)
    assert is_open(hilden, datetime.datetime(2026, 6, 15, 9, 0, tzinfo=LOCAL_TZ))
    corpus_christi = datetime.datetime(2026, 6, 4, 10, 0, tzinfo=LOCAL_TZ)  # a Thursday, holiday in NRW
    assert not is_open(hilden, corpus_christi)
    assert next_opening(hilden, corpus_christi) == datetime.datetime(2026, 6, 5, 8, 0, tzinfo=LOCAL_TZ)
    assert is_open(Agency.objects.get(code="KPB-ME"), friday_evening)  # staffed round the clock


# --- where it is needed: after submission, in the police feedback --------------------------------------


def test_immediate_referral_confirmation_shows_the_on_call_number_in_red(client, personas):
    referral = make_referral(personas.police_hilden, urgency="immediate", postcode="40723", city="Hilden")
    text = web(client, personas.police_hilden).get(f"/referrals/{referral.pk}/").content.decode()
    assert "data-oncall-now" in text and "oncall-now" in text
    assert german("Immediate: phone the on-call service now:") in text and HILDEN_ONCALL_PHONE in text


def test_triage_confirmation_shows_the_coordination_on_call(client, personas):
    referral = make_referral(personas.police_hilden, urgency="immediate", postcode="10115", city="Berlin")
    text = web(client, personas.police_hilden).get(f"/referrals/{referral.pk}/").content.decode()
    assert COORD_ONCALL_PHONE in text and german("The district coordination office decides") in text


def test_urgent_referral_out_of_hours_says_next_working_day(client, personas, time_machine):
    time_machine.move_to(datetime.datetime(2026, 6, 12, 22, 13, tzinfo=LOCAL_TZ), tick=False)
    referral = make_referral(personas.police_hilden, urgency="urgent", postcode="40723", city="Hilden")
    text = web(client, personas.police_hilden).get(f"/referrals/{referral.pk}/").content.decode()
    assert "data-after-hours" in text and "15.06.2026" in text and "08:00" in text and HILDEN_ONCALL_PHONE in text
    assert "data-oncall-now" not in text
    time_machine.move_to(datetime.datetime(2026, 6, 15, 9, 0, tzinfo=LOCAL_TZ), tick=False)
    text = web(client, personas.police_hilden).get(f"/referrals/{referral.pk}/").content.decode()
    assert "data-after-hours" not in text  # the office is open again
    # filed within office hours, looked at in the evening: no "next working day"
    time_machine.move_to(datetime.datetime(2026, 6, 15, 10, 0, tzinfo=LOCAL_TZ), tick=False)
    daytime = make_referral(personas.police_hilden, urgency="urgent", postcode="40723", city="Hilden")
    time_machine.move_to(datetime.datetime(2026, 6, 15, 21, 0, tzinfo=LOCAL_TZ), tick=False)
    text = web(client, personas.police_hilden).get(f"/referrals/{daytime.pk}/").content.decode()
    assert "data-after-hours" not in text


def test_police_feedback_names_the_contact_person_with_full_name_and_phone(personas):
    referral = make_referral(personas.police_hilden, urgency="urgent", postcode="40723", city="Hilden")
    user = personas.caseworker_hilden
    user.first_name, user.last_name = "Petra", "Sander"
    user.save()
    hilden = Agency.objects.get(code="JA-HIL")
    referral_acknowledge(referral=referral, user=user)
    referral.refresh_from_db()
    assert police_feedback(referral)["contact"]["name"] == "Petra Sander"
    assert police_feedback(referral)["contact"]["phone"] == hilden.phone
    ContactPerson.objects.create(agency=hilden, user=user, name="Petra Sander", phone="02103 72-345")
    assert police_feedback(referral)["contact"]["phone"] == "02103 72-345"


def test_no_on_call_number_in_any_email(personas):
    """Every kind of message the safety net writes, then a search of the whole outbox."""
    from referrals.services import referral_assign_office, referral_forward, referral_rerate

    triage = make_referral(personas.police_hilden, urgency="immediate", postcode="10115", city="Berlin")
    referral_assign_office(
        referral=triage, user=personas.district_coordinator, office=Agency.objects.get(code="JA-HIL")
    )
    routine = make_referral(personas.police_hilden, urgency="routine", postcode="40723", city="Hilden")
    referral_rerate(referral=routine, user=personas.caseworker_hilden, urgency="immediate", reason="neu bewertet")
    referral_forward(
        referral=routine, user=personas.caseworker_hilden, to_office=Agency.objects.get(code="JA-VEL"), reason="Umzug"
    )
    numbers = {n for n in Agency.objects.values_list("oncall_phone", flat=True) if n}
    numbers |= {n for n in ContactPerson.objects.values_list("phone", flat=True) if n}
    emails = Notification.objects.filter(channel="email")
    assert emails.filter(kind__startswith="oncall_").count() == 4  # triage, assigned, rerated, forwarded
    for notification in Notification.objects.all():
        for number in numbers:
            assert number not in notification.subject + notification.body, (notification.kind, number)
