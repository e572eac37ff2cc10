"""The district dashboard (issue 15 §§ 2, 4): golden numbers per police station × youth office and
month, cells below 3 suppressed on the page, in the CSV and in the API, no personal data, the police
coordinator's own authority only, and a bounded number of queries."""

import datetime
import re

import pytest
import time_machine
from rest_framework.test import APIClient

from agencies.models import Agency
from referrals import dashboard, dashboard_views
from referrals.models import Referral, ReferralEvent, Status
from tests.factories import make_referral
from tests.test_dashboard_office import NOVEMBER, NOW, _set, _web, at

KEYS = ("station", "office", "month")


def golden_district(personas):
    """November 2026: four immediate referrals from the Hilden station to the Hilden office (one routed
    via the triage queue, one forwarded in from Velbert afterwards), two urgent ones from the Velbert
    station to the Velbert office, one from Hilden still in the triage queue."""
    with time_machine.travel(at(20, 12), tick=False):
        hil = [
            make_referral(personas.police_hilden, postcode="40723", city="Hilden", urgency="immediate")
            for _ in range(4)
        ]
        vel = [
            make_referral(personas.police_velbert, postcode="42551", city="Velbert", urgency="urgent") for _ in range(2)
        ]
        triage = make_referral(personas.police_hilden, postcode="10115", city="Berlin", urgency="routine")
    hour = datetime.timedelta(hours=1)
    for referral, day, minutes in zip(hil, (2, 3, 4, 5), (30, 50, 120, None), strict=True):
        ack = at(day, 10) + datetime.timedelta(minutes=minutes) if minutes is not None else None
        _set(referral, submitted_at=at(day, 10), received_at=at(day, 10), due_at=at(day, 10) + hour,
             acknowledged_at=ack, status=Status.ACKNOWLEDGED if ack else Status.SUBMITTED)  # fmt: skip
    _set(hil[0], triage_reason="postcode_unknown")
    ReferralEvent.objects.create(referral=hil[1], kind=ReferralEvent.Kind.FORWARD_ACCEPTED)
    for referral in vel:
        _set(
            referral, submitted_at=at(6, 8), received_at=at(6, 8), acknowledged_at=at(6, 9), status=Status.ACKNOWLEDGED
        )
    _set(triage, submitted_at=at(7, 8))
    return hil, vel, triage


@pytest.fixture
def district_month(personas):
    return golden_district(personas)


def _rows(user):
    period = dashboard.Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    authorities = [a.pk for a in dashboard.district_authorities(user)]
    rows = dashboard.district_figures(authority_ids=authorities, period=period, now=NOW)
    return {tuple(r[k] for k in KEYS): r for r in rows}


def test_golden_pair_month(personas, district_month):
    rows = _rows(personas.district_coordinator)
    hilden = rows[(_station("PW-HIL"), _office("JA-HIL"), "2026-11")]
    assert hilden["filed"] == 4
    assert hilden["urgent"] == dashboard.SUPPRESSED and hilden["routine"] == dashboard.SUPPRESSED
    # Secondary suppression (docs/kennzahlen.md): urgent and routine are both 0, so "4 immediate" of
    # 4 filed would tell it; one of 4 came via triage, so "3 direct" of 4 would tell that.
    assert hilden["immediate"] == dashboard.SUPPRESSED
    assert hilden["concern_domestic_violence"] == 4 and hilden["concern_neglect"] == dashboard.SUPPRESSED
    assert hilden["direct"] == dashboard.SUPPRESSED and hilden["via_triage"] == dashboard.SUPPRESSED
    assert hilden["forwarded"] == dashboard.SUPPRESSED
    assert hilden["feedback"] == 3  # three acknowledged: office and contact reached the police
    assert hilden["median_minutes"] == 50.0  # 30, 50, 120
    assert hilden["immediate_within_hour_share"] == 50.0  # 2 of 4 whose hour has ended
    velbert = rows[(_station("PW-VEL"), _office("JA-VEL"), "2026-11")]
    assert velbert["filed"] == dashboard.SUPPRESSED and velbert["median_minutes"] == dashboard.SUPPRESSED
    triage = rows[(_station("PW-HIL"), "Klärung / außerhalb des Systems", "2026-11")]
    assert triage["filed"] == dashboard.SUPPRESSED


def _station(code):
    return Agency.objects.get(code=code).name


def _office(code):
    return Agency.objects.get(code=code).name


COUNT_COLUMNS = dashboard.DISTRICT_COLUMNS[3:]


def district_outputs(user):
    """The district figures of November as ``user`` reads them: the page, the CSV and the API."""
    with time_machine.travel(NOW, tick=False):
        web = _web(user)
        page = web.get(f"/dashboard/district/?{NOVEMBER}").content.decode()
        csv = web.get(f"/dashboard/district/figures.csv?{NOVEMBER}").content.decode()
        client = APIClient()
        client.force_authenticate(user)
        api = client.get(f"/api/v1/dashboard/district/?{NOVEMBER}").json()
    return page, csv, api


def test_no_cell_below_3_anywhere(personas, district_month):
    page, csv, api = district_outputs(personas.district_coordinator)
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert cells and "&lt; 3" in cells and not {"0", "1", "2"} & set(cells)
    lines = csv.splitlines()
    assert len(lines) == 4  # header and three rows
    for line in lines[1:]:
        values = line.split(";")[3:]
        assert not {"0", "1", "2"} & set(values), line
    assert "< 3" in csv
    assert len(api["rows"]) == 3
    for row in api["rows"]:
        for column in COUNT_COLUMNS:
            assert row[column] not in (0, 1, 2), (column, row)
    hilden = next(r for r in api["rows"] if r["office"] == _office("JA-HIL"))
    assert (hilden["filed"], hilden["via_triage"], hilden["median_minutes"]) == (4, "< 3", 50.0)


def test_no_personal_data(personas, district_month):
    web = _web(personas.police_coordinator)
    for path in ("/dashboard/district/", "/dashboard/district/figures.csv"):
        text = web.get(f"{path}?{NOVEMBER}").content.decode()
        for word in ("Beispiel", "Mia", "Mittelstraße", "ME-2026-123456", "KPB-ME-2026"):
            assert word not in text, (path, word)


def test_the_police_coordinator_sees_their_authority_only(personas, district_month):
    from agencies.models import Membership, Role
    from agencies.services import district_seed

    district_seed(slug="duesseldorf")
    other = Agency.objects.get(code="PW-D-ALT")
    assert Referral.objects.filter(police_authority=other.parent).count() == 0
    authorities = dashboard.district_authorities(personas.police_coordinator)
    assert [a.code for a in authorities] == ["KPB-ME"]
    from django.contrib.auth import get_user_model

    coordinator = get_user_model().objects.create_user(username="koord_d")
    Membership.objects.create(
        user=coordinator, agency=Agency.objects.get(code="KOORD-D"), role=Role.DISTRICT_COORDINATOR
    )
    assert _rows(coordinator) == {}


@time_machine.travel(NOW, tick=False)  # the session's clock (see test_dashboard_office._web)
def test_bounded_queries(personas):
    """As many queries for one referral as for the golden month: the figures are one aggregate."""
    from tests.test_dashboard_office import _count_queries

    web, client = _web(personas.district_coordinator), APIClient()
    client.force_authenticate(personas.district_coordinator)
    page = lambda: web.get(f"/dashboard/district/?{NOVEMBER}")  # noqa: E731
    api = lambda: client.get(f"/api/v1/dashboard/district/?{NOVEMBER}")  # noqa: E731
    with time_machine.travel(at(20, 12), tick=False):
        make_referral(personas.police_hilden, postcode="40723", city="Hilden", urgency="routine")
    page(), api()  # warmed up
    few = (_count_queries(page), _count_queries(api))
    golden_district(personas)
    many = (_count_queries(page), _count_queries(api))
    assert few == many
    assert many[0] <= PAGE_QUERIES and many[1] <= API_QUERIES, many


# Measured on SQLite: the page 12 (session, person, second factor, memberships, unread notifications
# and the session's save around the figures: the authorities, the aggregate, the agencies' names, and
# one for the Python medians that PostgreSQL computes in the aggregate), the API 4.
PAGE_QUERIES = 12
API_QUERIES = 4


def test_a_median_of_too_few_cases_says_so_and_a_month_of_hidden_cells_draws_no_bar(personas, district_month):
    """QA of 2026-12-05: a median shown as "< 3" read as "less than three minutes", and the chart drew
    a bar of 0 for a month whose cells were all hidden."""
    page, csv, api = district_outputs(personas.district_coordinator)
    velbert = next(r for r in api["rows"] if r["office"] == _office("JA-VEL"))
    assert velbert["median_minutes"] == "< 3"  # the API keeps its one marker of a hidden cell
    assert "<td>n &lt; 3</td>" in page and ";n < 3" in csv
    alone = make_referral(personas.police_velbert, postcode="42551", city="Velbert", urgency="urgent")
    _set(
        alone, submitted_at=at(20, 8) - datetime.timedelta(days=31), received_at=at(20, 8) - datetime.timedelta(days=31)
    )
    table = dashboard_views.district_table(
        dashboard.district_figures(
            authority_ids=[a.pk for a in dashboard.district_authorities(personas.district_coordinator)],
            period=dashboard.Period(datetime.date(2026, 10, 1), datetime.date(2026, 11, 30)),
            now=NOW,
        )
    )
    assert "2026-10" in str(table.chart) and ">–</text>" in str(table.chart)
