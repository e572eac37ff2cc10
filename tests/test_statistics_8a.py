"""The § 8a statistic (issue 13 §3; docs/statistik-8a.md): a fixture year with known cases gives exactly
the expected CSV (golden file); the repeated-notice flag; other offices' records never appear; the
validation report lists exactly the incomplete ones; the records survive the retention deletion;
district figures suppress cells below 3."""

import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from referrals import services
from referrals.models import Assessment, AssessmentChild, Referral, StatisticRecord
from referrals.retention import _purge
from referrals.screening import screening_save, screening_sign_off
from referrals.statistics import csv_of, statistics_8a, summary
from tests.factories import make_referral

GOLDEN = Path(__file__).parent / "data" / "statistik_8a_2025.csv"
BERLIN = ZoneInfo("Europe/Berlin")
MIA = {"first_name": "Mia", "last_name": "Beispiel", "date_of_birth": "2019-04-02", "sex": "female"}
BEN = {"first_name": "Ben", "last_name": "Beispiel", "date_of_birth": "2010-05-06", "sex": "male"}
NOAH = {"first_name": "Noah", "last_name": "Anders", "date_of_birth": None, "sex": "unknown"}
MOTHER = {"role": "mother", "first_name": "Eva", "last_name": "Beispiel", "date_of_birth": "2000-02-01"}


def at(day, hour=10):
    return time_machine.travel(
        datetime.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=BERLIN), tick=False
    )


def part(child, result, **kw):
    base = {
        "child": child.pk, "result": result, "kinds": [], "danger_from": [], "residence": "both_parents",
        "foreign_origin": "no", "german_spoken": True, "help_before": ["none"], "help_new": ["none"],
    }  # fmt: skip
    if result in ("acute_risk", "latent_risk"):
        base.update(kinds=["neglect"], danger_from=["father"])
    return {**base, **kw}


def assessed(p, referral, parts, *, signed):
    """Acknowledge, assess (``parts(children)``) and sign off at the given day."""
    referral = Referral.objects.get(pk=referral.pk)
    services.referral_acknowledge(referral=referral, user=p.caseworker_hilden)
    services.assessment_save(
        referral=referral, user=p.caseworker_hilden, summary="Hausbesuch", measures=["offer_of_help"],
        impressions=["home_visit"], professionals=[p.caseworker_hilden.pk, p.lead_hilden.pk],
        children=parts(list(referral.children.order_by("id"))),
    )  # fmt: skip
    with at(signed):
        services.assessment_sign_off(referral=referral, user=p.lead_hilden)


@pytest.fixture
def year_2025(personas):
    """Hilden: Mia referred in Nov 2024, in March 2025 (first of the year: no repeat) and in June 2025
    with her brother Ben (repeat for Mia only); Noah without a date of birth (estimated); a screening
    "no" (no record); an old single-outcome assessment (incomplete). Velbert: one case (never in
    Hilden's export)."""
    p = personas
    with at("2024-11-20"):
        make_referral(p.police_hilden, children=[MIA])
    with at("2025-03-10"):
        first = make_referral(p.police_hilden, children=[MIA])
        assessed(
            p, first, lambda c: [part(c[0], "acute_risk", kinds=["neglect", "physical_abuse"])], signed="2025-03-12"
        )
    with at("2025-06-01"):
        second = make_referral(p.police_hilden, children=[MIA, BEN], persons=[MOTHER])
        assessed(
            p, second,
            lambda c: [part(c[0], "latent_risk", help_new=["s31"]),
                       part(c[1], "no_risk_no_need", foreign_origin="unknown", german_spoken=False)],
            signed="2025-06-05",
        )  # fmt: skip
    with at("2025-09-15"):
        estimated = make_referral(p.police_hilden, children=[NOAH], persons=[])
        assessed(
            p, estimated,
            lambda c: [part(c[0], "support_need", birth_month=7, birth_year=2021, residence="single_parent",
                            help_before=["s16_19"], help_new=["s30"])],
            signed="2025-09-20",
        )  # fmt: skip
    with at("2025-10-01"):
        screened = make_referral(p.police_hilden, children=[BEN])
        services.referral_acknowledge(referral=screened, user=p.caseworker_hilden)
        screening_save(
            referral=screened, user=p.caseworker_hilden, weighty_indications=False, reason="Information",
            next_step="information_only",
        )  # fmt: skip
        screening_sign_off(referral=screened, user=p.lead_hilden)
    with at("2025-11-03"):
        old = make_referral(p.police_hilden, children=[BEN])
        services.referral_acknowledge(referral=old, user=p.caseworker_hilden)
        # As migration 0016 leaves an assessment recorded before issue 13: the result only.
        assessment = Assessment.objects.create(
            referral=old, author=p.caseworker_hilden, summary="Alt", outcome="support_need", measures=["none"]
        )
        AssessmentChild.objects.create(assessment=assessment, child=old.children.get(), result="support_need")
        Assessment.objects.filter(pk=assessment.pk).update(
            signed_off_by=p.lead_hilden, signed_off_at=datetime.datetime(2025, 11, 4, 9, tzinfo=BERLIN)
        )
    with at("2025-05-05"):
        velbert = make_referral(p.police_velbert, postcode="42551", city="Velbert", children=[MIA])
        velbert = Referral.objects.get(pk=velbert.pk)
        services.referral_acknowledge(referral=velbert, user=p.caseworker_velbert)
        services.assessment_save(
            referral=velbert, user=p.caseworker_velbert, summary="x", measures=["none"],
            professionals=[p.caseworker_velbert.pk, p.lead_velbert.pk],
            children=[part(velbert.children.get(), "acute_risk")],
        )  # fmt: skip
        services.assessment_sign_off(referral=velbert, user=p.lead_velbert)
    return {"first": first, "second": second, "old": old, "velbert": velbert}


def hilden(referral):
    return referral.youth_office_id


def test_the_fixture_year_gives_exactly_the_golden_csv(year_2025, django_assert_max_num_queries):
    office = hilden(year_2025["first"])
    with django_assert_max_num_queries(6):
        records, problems = statistics_8a(office_id=office, year=2025)
    assert csv_of(records) == GOLDEN.read_text(encoding="utf-8")
    assert statistics_8a(office_id=office, year=2024) == ([], [])


def test_repeated_notice_only_for_the_second_referral_of_the_child_in_the_year(year_2025):
    records, _ = statistics_8a(office_id=hilden(year_2025["first"]), year=2025)
    flags = [(r.monat_ende, r.geburtsjahr, r.wiederholt) for r in records]
    # Mia (2019) in March: referred in Nov 2024 only, so no repeat in 2025; in June: repeat. Ben: first.
    assert ("3", "2019", "0") in flags and ("6", "2019", "1") in flags and ("6", "2010", "0") in flags


def test_other_offices_records_never_appear(year_2025):
    velbert = year_2025["velbert"].youth_office_id
    records, _ = statistics_8a(office_id=velbert, year=2025)
    assert len(records) == 1
    hilden_records, _ = statistics_8a(office_id=hilden(year_2025["first"]), year=2025)
    assert len(hilden_records) == 5  # Mia twice, Ben, Noah, the old one — not Velbert's, not the screening


def test_validation_lists_exactly_the_incomplete_ones(year_2025):
    _records, problems = statistics_8a(office_id=hilden(year_2025["first"]), year=2025)
    assert [(p.reference, p.child_number) for p in problems] == [(year_2025["old"].reference, 1)]
    assert problems[0].link == f"/referrals/{year_2025['old'].pk}/#assessment-title"
    assert len(problems[0].messages) == 5  # residence, origin, language, help before, help new


def test_an_incomplete_signed_off_assessment_is_fixed_by_a_signed_off_revision(personas, year_2025):
    """The validation link leads to the case; reopening it, revising the assessment and signing the
    revision off replaces its record — the corrected assessment is counted once, not twice."""
    office = hilden(year_2025["first"])
    old = Referral.objects.get(pk=year_2025["old"].pk)
    with at("2025-11-10"):
        # A signed-off assessment is read-only: its case, closed before issue 13, is reopened by the lead.
        Referral.objects.filter(pk=old.pk).update(status="closed", closed_at=timezone.now())
        old = Referral.objects.get(pk=old.pk)
        old = services.referral_reopen(referral=old, user=personas.lead_hilden, reason="Statistikangaben ergänzen")
        services.assessment_save(
            referral=old, user=personas.caseworker_hilden, summary="Ergänzt", measures=["none"],
            professionals=[personas.caseworker_hilden.pk, personas.lead_hilden.pk],
            children=[part(old.children.get(), "support_need", help_new=["s31"])],
        )  # fmt: skip
        # Not signed off yet: the old version still counts, and is still listed as incomplete.
        records, problems = statistics_8a(office_id=office, year=2025)
        assert (len(records), len(problems)) == (5, 1)
        services.assessment_sign_off(referral=old, user=personas.lead_hilden)
    records, problems = statistics_8a(office_id=office, year=2025)
    assert (len(records), problems) == (5, [])
    assert ("11", "2010", "3") in [(r.monat_ende, r.geburtsjahr, r.ergebnis) for r in records]  # 3: support need


def test_the_records_survive_the_retention_deletion(year_2025):
    office = hilden(year_2025["first"])
    before, _ = statistics_8a(office_id=office, year=2025)
    _purge(Referral.objects.get(pk=year_2025["second"].pk))
    after, _ = statistics_8a(office_id=office, year=2025)
    assert sorted(csv_of(before).splitlines()) == sorted(csv_of(after).splitlines())
    assert StatisticRecord.objects.filter(office_id=office).count() == 2  # Mia and Ben, no names, no ids


def test_district_figures_suppress_cells_below_three(year_2025):
    records, _ = statistics_8a(office_id=hilden(year_2025["first"]), year=2025)
    shown = summary(records, suppress=True)
    cells = [c for row in shown["rows"] for c in row["cells"]]
    assert all(c is None or c == 0 or c >= 3 for c in cells)
    assert summary(records)["rows"] and not summary(records)["suppressed"]


def test_page_and_api_for_leads_only(client, personas, year_2025):
    client.force_login(personas.lead_hilden)
    page = client.get("/statistics/8a/?year=2025")
    assert page.status_code == 200 and year_2025["old"].reference in page.content.decode()
    csv = client.get("/statistics/8a/?year=2025&format=csv")
    assert csv["X-Statistics-Complete"] == "false" and csv.content.decode() == GOLDEN.read_text(encoding="utf-8")
    assert client.get("/statistics/8a/?year=abc").status_code == 400
    client.force_login(personas.caseworker_hilden)
    assert client.get("/statistics/8a/?year=2025").status_code == 403
    api = APIClient()
    api.force_authenticate(personas.lead_hilden)
    data = api.get("/api/v1/statistics/8a/?year=2025").json()
    assert data["complete"] is False and len(data["records"]) == 5 and len(data["problems"]) == 1
    assert api.get("/api/v1/statistics/8a/?year=1700").status_code == 400
    assert api.get("/api/v1/statistics/8a/?year=\uff12\uff10\uff12\uff15").status_code == 400  # full-width digits
    api.force_authenticate(personas.district_coordinator)
    data = api.get("/api/v1/statistics/8a/?year=2025").json()
    assert set(data) == {"year", "summary"} and data["summary"]["suppressed"] is True
    api.force_authenticate(personas.police_hilden)
    assert api.get("/api/v1/statistics/8a/?year=2025").status_code == 403


def test_an_assessment_without_childrens_parts_makes_the_statistic_incomplete(personas, year_2025):
    """The API still takes an assessment the old way (one ``outcome``): it gives no record, and the
    statistic said it was complete (QA of 2026-12-05). It is listed as a problem of the assessment."""
    with at("2025-12-01"):
        single = make_referral(personas.police_hilden, children=[MIA])
        services.referral_acknowledge(referral=single, user=personas.caseworker_hilden)
        services.assessment_save(
            referral=Referral.objects.get(pk=single.pk), user=personas.caseworker_hilden, summary="Alt",
            outcome="support_need", measures=["none"],
        )  # fmt: skip
        services.assessment_sign_off(referral=Referral.objects.get(pk=single.pk), user=personas.lead_hilden)
    records, problems = statistics_8a(office_id=hilden(year_2025["first"]), year=2025)
    assert [(p.reference, p.child_number) for p in problems] == [
        (year_2025["old"].reference, 1),
        (single.reference, 0),
    ]
    assert problems[1].messages == [
        "Ohne Angaben je Kind erfasst: Überarbeiten Sie die Einschätzung je Kind und lassen Sie sie gegenzeichnen."
    ]
