"""Query plans of the police list's search and open-question badges on PostgreSQL (issue 14 §3, on the
seeded world of tests/test_query_plans.py): every query of the page reads referrals, children, the
access log and the questions through an index — the search by the child's family name (in each of
its spellings), by police case number and by reference as well."""

import pytest
from django.db import connection
from django.urls import reverse

from referrals.dialogue import question_ask
from referrals.models import Referral
from tests.test_query_plans import GUARDED_TABLES, SEARCHED, _assert_indexed, _plans, seeded  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are PostgreSQL's (see test_query_plans)"),
]


@pytest.mark.parametrize("term", [SEARCHED, SEARCHED.lower(), "ME-1", "KPB"])
def test_police_search_uses_indexes(client, seeded, term):  # noqa: F811
    police = seeded.police
    referral = Referral.objects.filter(created_by=police).exclude(status="draft").order_by("-id").first()
    office_person = seeded.caseworker
    if referral.youth_office_id in {m.agency_id for m in office_person.memberships.all()}:
        question_ask(referral=referral, user=office_person, text="Gab es eine Anzeige?")
    client.force_login(police)
    client.post(reverse("referrals:list"), {"q": term})
    plans = _plans(lambda: client.get(reverse("referrals:list")))
    assert any("referrals_child" in sql for sql, plan in plans) or not term.isalpha()
    _assert_indexed(plans)


def test_guarded_tables_are_those_of_the_list():
    assert "referrals_referral" in GUARDED_TABLES
