"""One instance for several districts (issue 18): Kreis Mettmann and the city of Düsseldorf, which
shares 40721 with Hilden and 40472 with Ratingen. Postcodes are rows per (postcode, municipality,
office); seeding one district never changes another's; routing crosses district borders by the
child's address; what cannot be resolved goes to the filing police's district; people stay in their
district (docs/jurisdiction.md)."""

import json
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from agencies import services as agency_services
from agencies.models import Agency, JurisdictionArea, Membership, Role
from agencies.routing import TriageReason, route_address
from agencies.services import SeedConflict, district_seed
from referrals.models import Referral, Status
from referrals.services import referral_accept, referral_assign_office, referral_forward, referral_return
from tests.factories import make_referral


def _person(username, code, role):
    user = get_user_model().objects.create_user(username=username, password="Test-Passwort-123")
    Membership.objects.create(user=user, agency=Agency.objects.get(code=code), role=role)
    return user


@pytest.fixture
def duesseldorf(district):
    return district_seed(slug="duesseldorf").district


@pytest.fixture
def people(duesseldorf):
    return {
        "police_hilden": _person("police_hilden", "PW-HIL", Role.POLICE_OFFICER),
        "police_d": _person("police_d", "PW-D-ALT", Role.POLICE_OFFICER),
        "police_coordinator_me": _person("police_coordinator_me", "KPB-ME", Role.POLICE_COORDINATOR),
        "police_coordinator_d": _person("police_coordinator_d", "PP-D", Role.POLICE_COORDINATOR),
        "caseworker_hilden": _person("caseworker_hilden", "JA-HIL", Role.CASEWORKER),
        "caseworker_d": _person("caseworker_d", "JA-D", Role.CASEWORKER),
        "coordinator_me": _person("coordinator_me", "KOORD", Role.DISTRICT_COORDINATOR),
        "coordinator_d": _person("coordinator_d", "KOORD-D", Role.DISTRICT_COORDINATOR),
    }


def _table():
    """The whole jurisdiction table as comparable tuples."""
    return {
        (a.postcode, a.municipality, a.youth_office.code, a.youth_office.district.slug, a.ags, a.shared_with)
        for a in JurisdictionArea.objects.select_related("youth_office__district")
    }


# --- routing across the instance ------------------------------------------------------------------


@pytest.mark.parametrize(
    "postcode, city, office",
    [
        ("40721", "Hilden", "JA-HIL"),
        ("40721", "Düsseldorf", "JA-D"),
        ("40721", "Duesseldorf", "JA-D"),
        ("40472", "Ratingen", "JA-RAT"),
        ("40472", "Düsseldorf", "JA-D"),
        ("40210", "Düsseldorf", "JA-D"),
        ("40723", "Hilden", "JA-HIL"),
    ],
)
def test_postcode_and_municipality_decide_across_districts(duesseldorf, postcode, city, office):
    result = route_address(postcode=postcode, city=city)
    assert result.office is not None and result.office.code == office, result


def test_shared_postcode_with_a_third_city_goes_to_triage(duesseldorf):
    result = route_address(postcode="40721", city="Erkrath")
    assert (result.office, result.reason) == (None, TriageReason.SHARED_POSTCODE)
    assert "Düsseldorf" in result.detail and "Hilden" in result.detail


def test_seeding_duesseldorf_leaves_mettmann_rows_alone(district):
    before = _table()
    district_seed(slug="duesseldorf")
    after = _table()
    assert before <= after
    assert after - before == {
        ("40210", "Düsseldorf", "JA-D", "duesseldorf", "05111000", ""),
        ("40721", "Düsseldorf", "JA-D", "duesseldorf", "05111000", "Hilden"),
        ("40472", "Düsseldorf", "JA-D", "duesseldorf", "05111000", "Ratingen"),
    }


def test_seeding_order_does_not_matter(district):
    JurisdictionArea.objects.all().delete()
    district_seed(slug="mettmann")
    district_seed(slug="duesseldorf")
    first = _table()
    JurisdictionArea.objects.all().delete()
    district_seed(slug="duesseldorf")
    district_seed(slug="mettmann")
    assert _table() == first
    district_seed(slug="duesseldorf")  # and again: idempotent
    district_seed(slug="mettmann")
    assert _table() == first and len(first) == 23


def _district_file(tmp_path, monkeypatch, slug, change):
    """A copy of the district files in ``tmp_path`` with ``slug``'s data changed by ``change``."""
    for path in agency_services.DISTRICTS_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    data = json.loads((tmp_path / f"{slug}.json").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / f"{slug}.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(agency_services, "DISTRICTS_DIR", tmp_path)


def test_a_claim_on_another_districts_municipality_is_refused(duesseldorf, tmp_path, monkeypatch):
    def claim_hilden(data):
        data["youth_offices"][0]["postcodes"].append({"postcode": "40723", "municipality": "Hilden"})

    _district_file(tmp_path, monkeypatch, "duesseldorf", claim_hilden)
    before = _table()
    with pytest.raises(SeedConflict) as refused:
        district_seed(slug="duesseldorf")
    message = str(refused.value)
    assert "40723 Hilden" in message and "Jugendamt Hilden" in message and "Jugendamt Düsseldorf" in message
    assert _table() == before
    with pytest.raises(CommandError, match="40723 Hilden"):
        call_command("seed_district", "duesseldorf")
    assert _table() == before


def test_two_offices_of_one_file_claiming_a_municipality_are_refused(district, tmp_path, monkeypatch):
    def double(data):
        velbert = next(o for o in data["youth_offices"] if o["code"] == "JA-VEL")
        velbert["postcodes"].append({"postcode": "40723", "city_names": "Hilden"})

    _district_file(tmp_path, monkeypatch, "mettmann", double)
    with pytest.raises(SeedConflict, match="40723 Hilden: claimed by Jugendamt Hilden and Jugendamt Velbert"):
        district_seed(slug="mettmann")


def test_admin_form_refuses_a_second_office_for_a_municipality(duesseldorf):
    from django.core.exceptions import ValidationError
    from django.utils import translation

    area = JurisdictionArea(youth_office=Agency.objects.get(code="JA-D"), postcode="40721", municipality="HILDEN")
    with translation.override("en"), pytest.raises(ValidationError, match="40721 Hilden already belongs to Jugendamt"):
        area.full_clean()


# --- submission, triage and hand-over across districts ------------------------------------------


def test_duesseldorf_police_for_a_hilden_family(people):
    referral = make_referral(people["police_d"], postcode="40723", city="Hilden")
    assert referral.status == Status.SUBMITTED and referral.youth_office.code == "JA-HIL"
    assert referral.police_authority.code == "PP-D"  # the police side stays with the filing district
    assert Referral.objects.visible_to(people["caseworker_hilden"]).filter(pk=referral.pk).exists()
    assert Referral.objects.visible_to(people["police_coordinator_d"]).filter(pk=referral.pk).exists()
    for other in ("caseworker_d", "police_coordinator_me", "coordinator_me", "coordinator_d"):
        assert not Referral.objects.visible_to(people[other]).filter(pk=referral.pk).exists(), other


def test_hilden_police_for_a_duesseldorf_family(people):
    for postcode in ("40210", "40721", "40472"):
        referral = make_referral(people["police_hilden"], postcode=postcode, city="Düsseldorf")
        assert referral.status == Status.SUBMITTED and referral.youth_office.code == "JA-D", postcode
        assert referral.police_authority.code == "KPB-ME"
        assert Referral.objects.visible_to(people["caseworker_d"]).filter(pk=referral.pk).exists()
        assert not Referral.objects.visible_to(people["caseworker_hilden"]).filter(pk=referral.pk).exists()


def test_unresolvable_goes_to_the_filing_police_districts_triage(people):
    from_d = make_referral(people["police_d"], postcode="10115", city="Berlin")
    from_me = make_referral(people["police_hilden"], postcode="40721", city="Erkrath")
    assert from_d.status == from_me.status == Status.TRIAGE
    for coordinator, own, other in (("coordinator_d", from_d, from_me), ("coordinator_me", from_me, from_d)):
        client = Client()
        client.force_login(people[coordinator])
        page = client.get("/triage/").content.decode()
        assert own.reference in page and other.reference not in page, coordinator
        assert client.get(f"/referrals/{other.pk}/").status_code == 404
        assert set(Referral.objects.visible_to(people[coordinator])) == {own}


def test_coordinator_assigns_from_triage_to_another_districts_office(people):
    referral = make_referral(people["police_hilden"], postcode="40721", city="Erkrath")
    with pytest.raises(Exception):  # noqa: B017,PT011 - the other district's coordinator may not
        referral_assign_office(referral=referral, user=people["coordinator_d"], office=Agency.objects.get(code="JA-D"))
    referral_assign_office(referral=referral, user=people["coordinator_me"], office=Agency.objects.get(code="JA-D"))
    assert Referral.objects.visible_to(people["caseworker_d"]).filter(pk=referral.pk).exists()


def test_forwarding_across_districts_works_like_within_one(people):
    hilden, duesseldorf = people["caseworker_hilden"], people["caseworker_d"]
    referral = make_referral(people["police_hilden"], postcode="40723", city="Hilden")
    referral_forward(referral=referral, user=hilden, to_office=Agency.objects.get(code="JA-D"), reason="Umzug")
    assert Referral.objects.visible_to(duesseldorf).filter(pk=referral.pk).exists()
    assert Referral.objects.visible_to(hilden).filter(pk=referral.pk).exists()  # until accepted
    referral_return(referral=referral, user=duesseldorf, reason="Nicht zuständig")
    assert not Referral.objects.visible_to(duesseldorf).filter(pk=referral.pk).exists()
    referral_forward(referral=referral, user=hilden, to_office=Agency.objects.get(code="JA-D"), reason="Umzug")
    referral_accept(referral=referral, user=duesseldorf)
    assert Referral.objects.visible_to(duesseldorf).filter(pk=referral.pk, youth_office__code="JA-D").exists()
    assert not Referral.objects.visible_to(hilden).filter(pk=referral.pk).exists()
    assert Referral.objects.visible_to(people["police_hilden"]).filter(pk=referral.pk).exists()


def test_the_forward_form_offers_the_other_districts_office(people):
    referral = make_referral(people["police_hilden"], postcode="40723", city="Hilden")
    client = Client()
    client.force_login(people["caseworker_hilden"])
    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Jugendamt Düsseldorf" in page


# --- demo people -------------------------------------------------------------------------------


def test_demo_people_belong_to_one_district(district):
    district_seed(slug="mettmann", demo_users=True)
    district_seed(slug="duesseldorf", demo_users=True)
    district_seed(slug="mettmann", demo_users=True)  # again: nobody moves
    users = get_user_model().objects.prefetch_related("memberships__agency")
    for user in users:
        districts = {m.agency.district_id for m in user.memberships.all()}
        assert len(districts) <= 1, user.username
    expected = {
        "polizei.koordination.mettmann": "KPB-ME",
        "kreis.koordination.mettmann": "KOORD",
        "polizei.koordination.duesseldorf": "PP-D",
        "kreis.koordination.duesseldorf": "KOORD-D",
        "polizei.hilden": "PW-HIL",
        "jugendamt.hilden": "JA-HIL",
        "polizei.duesseldorf": "PW-D-ALT",
        "jugendamt.duesseldorf": "JA-D",
        "jugendamt.duesseldorf.leitung": "JA-D",
    }
    for username, code in expected.items():
        user = users.get(username=username)
        assert [m.agency.code for m in user.memberships.all()] == [code], username


def test_police_of_another_district_get_the_routed_offices_oncall_number(people):
    """An immediate referral across the border: the officer must phone the receiving office's on-call
    now, so the contact box and the preview show its number; the directory stays per district."""
    from django.utils import timezone

    from agencies.directory import directory_for, submission_contacts
    from agencies.routing import route_preview

    hilden = Agency.objects.get(code="JA-HIL")
    referral = make_referral(people["police_d"], postcode="40723", city="Hilden", urgency="immediate")
    contacts = submission_contacts(referral, people["police_d"], timezone.now())
    assert contacts["agency"] == hilden and contacts["oncall_phone"] == hilden.oncall_phone
    preview = route_preview(postcode="40723", city="Hilden", user=people["police_d"])
    assert preview["office"]["id"] == hilden.pk and preview["oncall_phone"] == hilden.oncall_phone
    assert hilden not in directory_for(people["police_d"])
    # a district coordinator of another district is no filing officer: no on-call number
    assert route_preview(postcode="40723", city="Hilden", user=people["coordinator_d"])["oncall_phone"] == ""


# --- district-scoped views: reports and retention --------------------------------------------


def test_each_coordinators_annual_report_counts_only_its_district(people):
    import datetime

    from django.utils import timezone

    from meetings.models import InfoEvent

    now = timezone.now()
    for code in ("JA-HIL", "JA-VEL", "JA-D"):
        InfoEvent.objects.create(
            host_agency=Agency.objects.get(code=code), title=f"Fachtag {code}", place="Saal", capacity=10,
            start=now, end=now + datetime.timedelta(hours=1), registration_deadline=now,
            created_by=people["coordinator_me"],
        )  # fmt: skip
    totals = {}
    for coordinator in ("coordinator_me", "coordinator_d"):
        client = Client()
        client.force_login(people[coordinator])
        response = client.get(f"/cooperation/report.csv?year={timezone.localdate(now).year}")
        assert response.status_code == 200
        # The cooperation table comes first; the referral figures follow after an empty line (issue 15 § 2).
        cooperation = response.content.decode().strip().split("\r\n\r\n")[0]
        totals[coordinator] = cooperation.splitlines()[-1].split(";")
    events = 4  # the columns: agencies, meetings held, attendance, hospitations done, events, participants
    assert (totals["coordinator_me"][events], totals["coordinator_d"][events]) == ("2", "1")


def test_each_coordination_office_keeps_only_its_districts_handovers(people):
    """Retention of the coordination office covers what its district handed over from triage."""
    import datetime

    from django.utils import timezone

    from referrals.models import RetentionRule
    from referrals.retention import retention_dry_run
    from referrals.services import referral_export

    handed_over = {}
    for police, coordinator in (("police_hilden", "coordinator_me"), ("police_d", "coordinator_d")):
        referral = make_referral(people[police], postcode="10115", city="Berlin")
        referral_export(referral=referral, user=people[coordinator], recipient="Jugendamt Berlin-Mitte")
        Referral.objects.filter(pk=referral.pk).update(closed_at=timezone.now() - datetime.timedelta(days=400))
        handed_over[coordinator] = referral.pk
    with pytest.raises(Exception):  # noqa: B017,PT011 - the other district's triage is out of reach
        referral_export(
            referral=make_referral(people["police_d"], postcode="10115", city="Berlin"),
            user=people["coordinator_me"], recipient="Jugendamt Berlin-Mitte",
        )  # fmt: skip
    for coordinator, code in (("coordinator_me", "KOORD"), ("coordinator_d", "KOORD-D")):
        rule = RetentionRule.objects.create(
            office=Agency.objects.get(code=code), outcome="handed_over", keep_days=30,
            valid_from=timezone.localdate() + datetime.timedelta(days=1),
        )  # fmt: skip
        listed = [r.pk for r in retention_dry_run(rule=rule).referrals]
        assert listed == [handed_over[coordinator]], coordinator


@pytest.mark.parametrize("postcode", ["４０７２３", "٤٠٧٢٣", "40723\n", "4072"])
def test_the_postcode_rule_takes_ascii_digits_only(postcode):
    """``\\d`` in Python matches digits of every script; the stored postcode must be ASCII."""
    from django.core.exceptions import ValidationError

    from agencies.models import postcode_validator

    with pytest.raises(ValidationError):
        postcode_validator(postcode)
    postcode_validator("40723")
