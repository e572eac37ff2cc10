"""The office dashboard (issue 15 §§ 1, 4): golden numbers of a fixture month, the lead's and the
caseworker's part, no figure of another office, the links to the inbox, CSV, the API, bad input and a
bounded number of queries."""

import datetime
import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Agency
from referrals import dashboard
from referrals.models import Assessment, Outcome, Referral, ReferralEvent, SignOffRequest, Status
from referrals.task_models import SignOffSubject
from tests.factories import make_referral

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN)
NOVEMBER = "from=2026-11-01&to=2026-11-30"


def at(day, hour, minute=0, month=11):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def _set(referral, **fields):
    Referral.objects.filter(pk=referral.pk).update(**fields)
    referral.refresh_from_db()
    return referral


def golden_month(personas):
    """November 2026 at the youth office Hilden, with known answers (see the tests), plus one referral
    received in October, and one of Velbert offered to Hilden (a hand-over in)."""
    with time_machine.travel(at(20, 12), tick=False):
        hil = lambda urgency: make_referral(personas.police_hilden, postcode="40723", city="Hilden", urgency=urgency)  # noqa: E731
        r = SimpleNamespace(
            r1=hil("immediate"), r2=hil("immediate"), r3=hil("immediate"), r4=hil("immediate"),
            u1=hil("urgent"), u2=hil("urgent"), october=hil("routine"),
            v1=make_referral(personas.police_velbert, postcode="42551", city="Velbert", urgency="urgent"),
        )  # fmt: skip
    ReferralEvent.objects.filter(kind=ReferralEvent.Kind.REPEAT).delete()  # same child each time
    cw, lead = personas.caseworker_hilden, personas.lead_hilden
    hour = datetime.timedelta(hours=1)
    for name, received, ack, status, assignee in (
        ("r1", at(2, 10), at(2, 10, 30), Status.ACKNOWLEDGED, cw),  # 30 min, in time
        ("r2", at(3, 10), at(3, 10, 50), Status.IN_ASSESSMENT, cw),  # 50 min, in time
        ("r3", at(4, 10), at(4, 12), Status.CLOSED, None),  # 120 min, late
        ("r4", at(5, 10), at(5, 10, 10), Status.ACKNOWLEDGED, None),  # 10 min, in time
    ):
        _set(getattr(r, name), received_at=received, submitted_at=received, due_at=received + hour,
             acknowledged_at=ack, status=status, assignee=assignee)  # fmt: skip
    _set(r.u1, received_at=at(10, 9), submitted_at=at(10, 9), due_at=at(11, 9), status=Status.SUBMITTED)  # late
    _set(r.u2, received_at=at(10, 9), submitted_at=at(10, 9), due_at=at(11, 9), acknowledged_at=at(10, 15),
         status=Status.ACKNOWLEDGED, assignee=lead)  # fmt: skip  # 360 min, in time
    _set(r.october, received_at=at(20, 9, month=10), submitted_at=at(20, 9, month=10), due_at=at(23, 9, month=10),
         acknowledged_at=at(20, 10, month=10), status=Status.CLOSED)  # fmt: skip
    _set(r.v1, received_at=at(12, 9), submitted_at=at(12, 9), due_at=at(13, 9), acknowledged_at=at(12, 10),
         status=Status.FORWARDED, status_before_forward=Status.ACKNOWLEDGED,
         forwarded_to=Agency.objects.get(code="JA-HIL"), assignee=personas.caseworker_velbert)  # fmt: skip
    ReferralEvent.objects.create(referral=r.r1, kind=ReferralEvent.Kind.REPEAT, data={"count": 1})
    Assessment.objects.create(referral=r.r2, author=cw, summary="x", outcome=Outcome.SUPPORT_NEED)  # unsigned
    for referral, signed, outcome in (
        (r.r3, at(14, 10), Outcome.LATENT_RISK),
        (r.r1, at(7, 10), Outcome.NO_RISK_NO_NEED),
    ):
        Assessment.objects.create(referral=referral, author=cw, summary="x", outcome=outcome,
                                  signed_off_by=lead, signed_off_at=signed)  # fmt: skip
    # Screenings (issue 13): r4 "no", signed off a day after receipt; r2 "yes", recorded 50 minutes after.
    from referrals.screening_models import Screening

    no = Screening.objects.create(referral=r.r4, author=cw, weighty_indications=False, reason="x")
    yes = Screening.objects.create(referral=r.r2, author=cw, weighty_indications=True, reason="x")
    Screening.objects.filter(pk=no.pk).update(created_at=at(5, 12), signed_off_by=lead, signed_off_at=at(6, 10))
    Screening.objects.filter(pk=yes.pk).update(created_at=at(3, 10, 50))
    # u1: a "no" still waiting for its sign-off.
    waiting = Screening.objects.create(referral=r.u1, author=cw, weighty_indications=False, reason="x")
    # Sign-off requests (issue 14): r2's assessment asked of the lead, open; u1's screening asked and
    # sent back (no longer open); r3 (closed) asked and signed off.
    unsigned = Assessment.objects.get(referral=r.r2)
    for referral, subject, obj, state in (
        (r.r2, SignOffSubject.ASSESSMENT, unsigned.pk, SignOffRequest.State.OPEN),
        (r.u1, SignOffSubject.SCREENING, waiting.pk, SignOffRequest.State.RETURNED),
        (r.r3, SignOffSubject.ASSESSMENT, Assessment.objects.get(referral=r.r3).pk, SignOffRequest.State.SIGNED_OFF),
    ):
        SignOffRequest.objects.create(referral=referral, office=referral.youth_office, subject=subject, object_id=obj,
                                      requested_by=cw, requested_to=lead, state=state)  # fmt: skip
    return r


@pytest.fixture
def month(personas):
    return golden_month(personas)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _hilden():
    return Agency.objects.get(code="JA-HIL")


def _figures(user, office=None):
    period = dashboard.Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    return dashboard.office_dashboard(user=user, office=office or _hilden(), period=period, now=NOW)


def test_golden_clock_compliance(personas, month, frozen):
    rows = {r["urgency"]: r for r in _figures(personas.lead_hilden)["clock"] if r["month"] == "2026-11"}
    immediate, urgent, routine = rows["immediate"], rows["urgent"], rows["routine"]
    assert (immediate["received"], immediate["in_time"], immediate["late"], immediate["running"]) == (4, 3, 1, 0)
    assert immediate["share_in_time"] == 75.0
    assert immediate["median_minutes"] == 40.0  # 10, 30, 50, 120
    assert immediate["p90_minutes"] == 99.0  # 50 + 0.7 × 70
    assert immediate["repeat"] == 1 and immediate["repeat_share"] == 25.0
    assert (urgent["received"], urgent["in_time"], urgent["late"], urgent["share_in_time"]) == (2, 1, 1, 50.0)
    assert urgent["median_minutes"] == 360.0 and urgent["p90_minutes"] == 360.0
    assert routine["received"] == 0 and routine["share_in_time"] is None and routine["median_minutes"] is None


def test_golden_workload(personas, month, frozen):
    workload = _figures(personas.lead_hilden)["workload"]
    by_status = {r["status"]: r["by_urgency"] for r in workload["open_by_status"]}
    assert by_status[Status.ACKNOWLEDGED] == {"immediate": 2, "urgent": 1, "routine": 0}
    assert by_status[Status.IN_ASSESSMENT] == {"immediate": 1, "urgent": 0, "routine": 0}
    assert by_status[Status.SUBMITTED] == {"immediate": 0, "urgent": 1, "routine": 0}
    assert workload["open_total"] == 5
    caseload = {r["person_id"]: (r["open"], r["overdue"]) for r in workload["caseload"]}
    assert caseload == {personas.caseworker_hilden.pk: (2, 0), personas.lead_hilden.pk: (1, 0), None: (2, 1)}
    # v1, offered to Hilden and counted below, is Velbert's caseworker's: no row of Velbert's people.
    assert workload["overdue"] == 1
    assert workload["waiting_signoff"] == 2  # r2's assessment, u1's screening "no"
    assert workload["signoff_requests"] == 1  # r2's (u1's was sent back, r3's signed off and closed)
    requested = {r["person_id"]: r["signoff_requests"] for r in workload["caseload"]}
    assert requested == {personas.caseworker_hilden.pk: 1, personas.lead_hilden.pk: 0, None: 0}
    assert (workload["handover_in"], workload["handover_out"]) == (1, 0)


def test_golden_assessments_and_outcomes(personas, month, frozen):
    figures = _figures(personas.lead_hilden)
    (november,) = figures["assessments"]["months"]
    assert november == {"month": "2026-11", "signed_off": 2, "median_days": 7.5, "p90_days": 9.5}
    outcomes = {r["outcome"]: r["count"] for r in figures["assessments"]["outcomes"]}
    assert outcomes == {
        "screening_no": 1, "acute_risk": 0, "latent_risk": 1, "support_need": 0, "no_risk_no_need": 1,
    }  # fmt: skip
    (screened,) = figures["assessments"]["screenings"]
    # 50 minutes and 1 day: median 0.5 × (0.0347 + 1) days, 90th percentile 0.0347 + 0.9 × 0.9653
    assert screened == {"month": "2026-11", "screened": 2, "no": 1, "median_days": 0.5, "p90_days": 0.9}
    assert figures["repeat"] == {"received": 6, "repeat": 1, "share": 16.7}


def test_a_caseworker_sees_only_their_own_part(personas, month, frozen):
    figures = _figures(personas.caseworker_hilden)
    assert figures["scope"] == "own" and "clock" not in figures
    workload = figures["workload"]
    assert workload["open_total"] == 2
    assert [(r["person_id"], r["open"]) for r in workload["caseload"]] == [(personas.caseworker_hilden.pk, 2)]
    assert workload["waiting_signoff"] == 1 and workload["handover_in"] == 0


def test_no_figure_of_another_office(personas, month, frozen):
    velbert = Agency.objects.get(code="JA-VEL")
    workload = _figures(personas.lead_velbert, office=velbert)["workload"]
    assert workload["open_total"] == 1 and workload["handover_out"] == 1 and workload["handover_in"] == 0
    assert sum(r["received"] for r in _figures(personas.lead_velbert, office=velbert)["clock"]) == 1
    client = APIClient()
    client.force_authenticate(personas.lead_velbert)
    body = client.get(f"/api/v1/dashboard/office/?{NOVEMBER}").json()
    assert body["office"]["name"] == velbert.name
    assert personas.caseworker_hilden.username not in str(body)
    # Hilden's office asked for by a Velbert lead: not theirs, 404 (page) and 404 (API).
    web = _web(personas.lead_velbert)
    assert web.get(f"/dashboard/?office={_hilden().pk}").status_code == 404
    assert client.get(f"/api/v1/dashboard/office/?office={_hilden().pk}").status_code == 404


def _web(user):
    from django.test import Client

    client = Client()
    # Logged in at the moment the tests look from: a session started at another test clock (.ci/run's
    # TEST_CLOCK) would have timed out by NOW.
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)
    return client


def _references(html):
    return set(re.findall(r"KPB-ME-\d{4}-\d{5}", html))


def test_each_figure_links_to_exactly_its_cases(personas, month, frozen):
    web = _web(personas.lead_hilden)
    page = web.get(f"/dashboard/?{NOVEMBER}").content.decode()
    hilden = _hilden().pk
    expected = {
        f"clock:{hilden}:2026-11:immediate:late": {month.r3},
        f"clock:{hilden}:2026-11:immediate:in_time": {month.r1, month.r2, month.r4},
        f"clock:{hilden}:2026-11:urgent:late": {month.u1},
        f"clock:{hilden}:2026-11:immediate:repeat": {month.r1},
        f"overdue:{hilden}": {month.u1},
        f"signoff:{hilden}": {month.r2, month.u1},
        f"signoff_request:{hilden}": {month.r2},
        f"signoff_request:{hilden}:p{personas.caseworker_hilden.pk}": {month.r2},
        f"outcome:{hilden}:2026-11-01:2026-11-30:screening_no": {month.r4},
        f"handover_in:{hilden}": {month.v1},
        f"unassigned:{hilden}": {month.r4, month.u1},
        f"open:{hilden}:p{personas.caseworker_hilden.pk}": {month.r1, month.r2},
        f"open:{hilden}:acknowledged:immediate": {month.r1, month.r4},
        f"outcome:{hilden}:2026-11-01:2026-11-30:latent_risk": {month.r3},
    }
    for figure, cases in expected.items():
        assert f"figure={figure.replace(':', '%3A')}" in page, figure
        inbox = web.get("/inbox/", {"tab": "all", "figure": figure}).content.decode()
        assert _references(inbox) == {c.reference for c in cases}, figure


def test_a_figure_of_another_office_lists_nothing(personas, month, frozen):
    web = _web(personas.lead_velbert)
    inbox = web.get("/inbox/", {"tab": "all", "figure": f"overdue:{_hilden().pk}"}).content.decode()
    assert _references(inbox) == set()


def test_page_csv_and_api_agree(personas, month, frozen):
    web = _web(personas.lead_hilden)
    response = web.get(f"/dashboard/clock.csv?{NOVEMBER}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Monat;Dringlichkeit;Eingegangen")
    assert "2026-11;Sofort;4;3;1;0;75,0;40,0;99,0;1" in lines
    client = APIClient()
    client.force_authenticate(personas.lead_hilden)
    body = client.get(f"/api/v1/dashboard/office/?{NOVEMBER}").json()
    immediate = next(r for r in body["clock"] if r["urgency"] == "immediate")
    assert (immediate["received"], immediate["median_minutes"], immediate["p90_minutes"]) == (4, 40.0, 99.0)
    assert body["workload"]["waiting_signoff"] == 2
    assert body["workload"]["signoff_requests"] == 1
    caseload = web.get(f"/dashboard/caseload.csv?{NOVEMBER}").content.decode().splitlines()
    assert caseload[0] == "Fachkraft;Offen;Überfällig;Gegenzeichnung erbeten"
    assert any(line.endswith(";2;0;1") for line in caseload[1:]), caseload  # the caseworker: r1, r2; r2 asked


def test_bad_period_keeps_the_input_and_says_why(personas, frozen):
    web = _web(personas.lead_hilden)
    response = web.get("/dashboard/?from=2026-13-01&to=gestern")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="2026-13-01"' in html and 'value="gestern"' in html
    assert "JJJJ-MM-TT" in html
    response = web.get("/dashboard/?from=2026-11-30&to=2026-11-01")
    assert response.status_code == 400
    client = APIClient()
    client.force_authenticate(personas.lead_hilden)
    answer = client.get("/api/v1/dashboard/office/?from=1.1.&to=2020-01-01")
    assert answer.status_code == 400 and "from" in answer.json()
    answer = client.get("/api/v1/dashboard/office/?from=\uff12\uff10\uff12\uff16-11-01")  # full-width digits
    assert answer.status_code == 400 and list(answer.json()) == ["from"], answer.json()
    answer = client.get("/api/v1/dashboard/office/?from=9999-12-01&to=9999-12-31")  # was a 400 without a field
    assert answer.status_code == 400 and set(answer.json()) == {"from", "to"}, answer.json()
    last = timezone.localdate().year + 10
    assert answer.json()["from"] == [f"Geben Sie einen Tag von 2000 bis {last} an."]  # the format was right
    only_to = client.get("/api/v1/dashboard/office/?to=2025-06-01")  # refused: "before the default start"
    assert only_to.status_code == 200, only_to.json()
    assert only_to.json()["period"] == {"from": "2024-07-01", "to": "2025-06-01"}, only_to.json()["period"]
    only_from = client.get("/api/v1/dashboard/office/?from=2027-01-01")  # refused at "to", never sent
    assert only_from.status_code == 200, only_from.json()
    assert client.get("/api/v1/dashboard/office/?from=2020-01-01&to=2026-11-30").status_code == 400  # > 36 months


def test_roles_without_an_office_get_403(personas, frozen):
    for persona in ("police_hilden", "district_coordinator", "no_role"):
        assert _web(getattr(personas, persona)).get("/dashboard/").status_code == 403, persona
        client = APIClient()
        client.force_authenticate(getattr(personas, persona))
        assert client.get("/api/v1/dashboard/office/").status_code == 403, persona


def test_charts_are_accessible_svg(personas, month, frozen):
    html = _web(personas.lead_hilden).get(f"/dashboard/?{NOVEMBER}").content.decode()
    charts = re.findall(r"<svg[^>]*>.*?</svg>", html, flags=re.S)
    assert len(charts) == 3
    for svg in charts:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg and "aria-labelledby" in svg
    assert "<script" not in html.split("</head>")[1]


def _count_queries(request) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as captured:
        assert request().status_code == 200
    return len(captured.captured_queries)


@time_machine.travel(NOW, tick=False)  # the session's clock (see _web)
def test_bounded_queries(personas):
    """As many queries for one referral as for a month of them with people, assessments and hand-overs:
    every figure is an aggregate (the query count of the page and the API is pinned)."""
    web, client = _web(personas.lead_hilden), APIClient()
    client.force_authenticate(personas.lead_hilden)
    page = lambda: web.get(f"/dashboard/?{NOVEMBER}")  # noqa: E731
    api = lambda: client.get(f"/api/v1/dashboard/office/?{NOVEMBER}")  # noqa: E731
    with time_machine.travel(at(20, 12), tick=False):
        make_referral(personas.police_hilden, postcode="40723", city="Hilden", urgency="routine")
    page(), api()  # warmed up
    few = (_count_queries(page), _count_queries(api))
    golden_month(personas)
    many = (_count_queries(page), _count_queries(api))
    assert few == many
    assert many[0] <= PAGE_QUERIES and many[1] <= API_QUERIES, many


# Measured on SQLite: the page 15 (session, person, second factor, memberships, unread notifications,
# session save; then the figures: 1 of the workload — open cases by person, status and urgency, with
# the hand-overs offered counted in the same statement —, 1 of the clock, 1 of the screenings, 1 of the
# assessments and their outcomes, plus one each for the Python percentiles that PostgreSQL computes in
# the aggregate), the API 7. Was 17 and 9 while the table by status, the caseload and the hand-overs
# offered were three queries.
PAGE_QUERIES = 15
API_QUERIES = 7
