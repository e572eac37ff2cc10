"""The list of hand-overs outside the system (issue 15 § 3, ``/handovers/``): the people of a youth
office see their office's hand-overs, the district coordinator those from the triage queue — the same
rule as the confirmation page of one hand-over (``referrals.handover.handovers_for``) —, newest first,
25 a page by keyset, each row linking to its confirmation; another office's hand-over is not listed;
everyone else gets 403; the query count does not grow with the rows."""

import datetime
import re
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from referrals.handover import HANDOVERS_PER_PAGE, referral_hand_over
from referrals.handover_models import Handover
from tests.factories import make_referral

STUB = b"%PDF-1.7 stub"


def web(user):
    client = APIClient()
    client.force_login(user)
    return client


def _hand_over(referral, user, recipient):
    with mock.patch("referrals.handover.print_pdf", return_value=STUB):
        return referral_hand_over(referral=referral, user=user, recipient=recipient)


@pytest.fixture
def three(personas):
    """One hand-over each by Hilden's lead, Velbert's lead and the district coordinator (triage)."""
    hilden = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    triage = make_referral(personas.police_hilden, postcode="10115", city="Berlin")
    return {
        "hilden": _hand_over(hilden, personas.lead_hilden, "Jugendamt Solingen"),
        "velbert": _hand_over(velbert, personas.lead_velbert, "Jugendamt Wuppertal"),
        "triage": _hand_over(triage, personas.district_coordinator, "Jugendamt Berlin-Mitte"),
    }


def _listed(response) -> set[int]:
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r'data-handover="(\d+)"', response.content.decode())}


def test_each_sees_only_their_offices_hand_overs(personas, three):
    expected = {
        "caseworker_hilden": {"hilden"},
        "lead_hilden": {"hilden"},
        "caseworker_velbert": {"velbert"},
        "lead_velbert": {"velbert"},
        "district_coordinator": {"triage"},
    }
    for persona, keys in expected.items():
        listed = _listed(web(getattr(personas, persona)).get("/handovers/"))
        assert listed == {three[k].pk for k in keys}, persona


def test_another_offices_hand_over_is_not_listed(personas, three):
    page = web(personas.lead_hilden).get("/handovers/").content.decode()
    assert three["velbert"].referral.reference not in page and "Jugendamt Wuppertal" not in page
    assert three["triage"].referral.reference not in page


def test_each_row_links_to_its_confirmation(personas, three):
    handover = three["hilden"]
    client = web(personas.caseworker_hilden)
    page = client.get("/handovers/").content.decode()
    link = f"/referrals/{handover.referral_id}/handovers/{handover.pk}/"
    assert f'href="{link}"' in page and "Jugendamt Solingen" in page
    assert client.get(link).status_code == 200
    assert 'href="/handovers/"' in page  # in the navigation


def test_others_get_403(personas, three):
    for persona in ("police_hilden", "police_coordinator", "no_role"):
        assert web(getattr(personas, persona)).get("/handovers/").status_code == 403, persona
    assert APIClient().get("/handovers/").status_code == 302  # to the login


def _many(referral, agency, user, n):
    start = timezone.now() - datetime.timedelta(days=n)
    return Handover.objects.bulk_create(
        Handover(referral=referral, agency=agency, recipient=f"Amt {i}", handed_over_by=user,
                 at=start + datetime.timedelta(days=i), document={}, pdf=STUB)
        for i in range(n)
    )  # fmt: skip


def test_newest_first_a_page_at_a_time(personas, three):
    hilden = three["hilden"]
    _many(hilden.referral, hilden.agency, personas.lead_hilden, 30)
    client = web(personas.lead_hilden)
    first = client.get("/handovers/").content.decode()
    rows = [int(pk) for pk in re.findall(r'data-handover="(\d+)"', first)]
    assert len(rows) == HANDOVERS_PER_PAGE
    ordered = list(Handover.objects.filter(agency=hilden.agency).order_by("-at", "-id").values_list("pk", flat=True))
    assert rows == ordered[:HANDOVERS_PER_PAGE] and rows[0] == hilden.pk  # the real one is the newest
    following = re.search(r'href="(/handovers/\?before=[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = [int(pk) for pk in re.findall(r'data-handover="(\d+)"', client.get(following).content.decode())]
    assert second == ordered[HANDOVERS_PER_PAGE:] and len(second) == 6
    assert client.get("/handovers/?before=nonsense").status_code == 200  # the first page


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_bounded_queries(personas, three):
    client = web(personas.lead_hilden)
    client.get("/handovers/")
    few = _queries(client, "/handovers/")
    _many(three["hilden"].referral, three["hilden"].agency, personas.lead_hilden, 40)
    assert _queries(client, "/handovers/") == few
