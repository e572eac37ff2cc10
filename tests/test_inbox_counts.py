"""The inbox tab counts at any table size (issue 12): the open tabs exact, "closed" and "all" exact
up to ``TAB_COUNT_LIMIT`` and "mehr als …" above it — a bounded read instead of a count over every
referral the office ever had."""

import pytest
from django.urls import reverse

from referrals import selectors
from referrals.models import Referral, Status
from tests.factories import make_referral


def _tabs(client) -> dict:
    response = client.get(reverse("referrals:inbox"))
    assert response.status_code == 200
    return {tab.key: tab.count for tab in response.context["tabs"]}


@pytest.mark.django_db
def test_closed_and_all_say_more_than_the_limit(client, personas, monkeypatch):
    monkeypatch.setattr(selectors, "TAB_COUNT_LIMIT", 2)
    referrals = [make_referral(personas.police_hilden) for _ in range(4)]
    Referral.objects.filter(pk__in=[r.pk for r in referrals[:3]]).update(status=Status.CLOSED)
    client.force_login(personas.caseworker_hilden)
    counts = _tabs(client)
    assert counts["open"] == 1 and counts["unassigned"] == 1 and counts["mine"] == 0
    assert counts["closed"] == "mehr als 2"
    assert counts["all"] == "mehr als 2"
    text = client.get(reverse("referrals:inbox")).content.decode()
    assert 'data-count="closed">mehr als 2<' in text

    Referral.objects.filter(pk=referrals[0].pk).update(status=Status.SUBMITTED)
    assert _tabs(client)["closed"] == 2  # at the limit: exact


@pytest.mark.django_db
def test_a_case_forwarded_between_two_offices_of_one_person_counts_once(client, personas):
    from agencies.models import Agency, Membership, Role

    both = personas.caseworker_hilden
    Membership.objects.create(user=both, agency=Agency.objects.get(code="JA-VEL"), role=Role.CASEWORKER)
    referral = make_referral(personas.police_hilden)
    Referral.objects.filter(pk=referral.pk).update(
        status=Status.FORWARDED, status_before_forward=Status.SUBMITTED, forwarded_to=Agency.objects.get(code="JA-VEL")
    )
    client.force_login(both)
    response = client.get(reverse("referrals:inbox"), {"tab": "all"})
    assert [r.pk for r in response.context["page"].items] == [referral.pk]
    counts = {tab.key: tab.count for tab in response.context["tabs"]}
    assert counts["all"] == 1 and counts["open"] == 1
