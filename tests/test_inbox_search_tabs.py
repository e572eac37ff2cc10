"""Inbox search looks in every tab and says in which tab each hit lies (issue 16 § 2 and § 4)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agencies.models import Agency
from referrals import services
from referrals.forms import INBOX_SORTS
from referrals.models import Child, Referral, Status
from tests.factories import make_referral


@pytest.mark.django_db
def test_search_covers_every_tab_and_names_the_tab_of_each_hit(client, personas):
    open_one = make_referral(personas.police_hilden)
    closed_one = make_referral(personas.police_hilden)
    Referral.objects.filter(pk=closed_one.pk).update(status="closed")
    client.force_login(personas.caseworker_hilden)
    # Searching from the "Open" tab: the answer shows every tab's hits.
    response = client.post(reverse("referrals:inbox"), {"q": "Mia", "tab": "open", "sort": "urgency"})
    assert response.status_code == 302 and "tab=all" in response["Location"]
    page = client.get(response["Location"])
    listed = {r.pk for r in page.context["page"].items}
    assert {open_one.pk, closed_one.pk} <= listed
    text = page.content.decode()
    assert "In: Offen, Nicht zugewiesen" in text
    assert "In: Abgeschlossen" in text
    # Without a search term the tab chosen stays, and no row names its tab.
    plain = client.post(reverse("referrals:inbox"), {"q": "", "tab": "open", "sort": "urgency"})
    assert "tab=open" in plain["Location"]
    assert "inbox-table__tabs" not in client.get(plain["Location"]).content.decode()


def _found(client, person, term: str) -> set[int]:
    client.force_login(person)
    return {r.pk for r in client.get(reverse("referrals:inbox"), {"tab": "all", "q": term}).context["page"].items}


@pytest.mark.django_db
def test_search_follows_the_case_through_forwarding_and_acceptance(client, personas):
    """On PostgreSQL the search matches children per office (``Child.youth_office``, kept by the
    database's triggers, migration 0023): a hand-over must move the children's office with the case —
    the receiving office finds it while it is offered, and only it once it accepted."""
    referral = make_referral(personas.police_hilden)
    velbert = Agency.objects.get(code="JA-VEL")
    hilden, receiving = personas.caseworker_hilden, personas.caseworker_velbert
    assert referral.pk in _found(client, hilden, "Beispiel")
    assert referral.pk not in _found(client, receiving, "Beispiel")
    services.referral_forward(referral=referral, user=hilden, to_office=velbert, reason="Umzug")
    assert referral.pk in _found(client, hilden, "Beispiel") and referral.pk in _found(client, receiving, "Beispiel")
    services.referral_accept(referral=Referral.objects.get(pk=referral.pk), user=receiving)
    assert referral.pk in _found(client, receiving, "Mia") and referral.pk not in _found(client, hilden, "Mia")
    if connection.vendor == "postgresql":
        assert set(Child.objects.filter(referral=referral).values_list("youth_office_id", flat=True)) == {velbert.pk}


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the copy is kept by PostgreSQL triggers only")
def test_children_carry_the_referrals_office_on_every_write(personas):
    """Every way a child or an office is written keeps ``Child.youth_office`` equal to the
    referral's office: a child created or saved from Python (which sends NULL), a plain UPDATE of the
    referral, a bulk insert."""
    referral = make_referral(personas.police_hilden)
    hilden, velbert = Agency.objects.get(code="JA-HIL"), Agency.objects.get(code="JA-VEL")

    def offices():
        return set(Child.objects.filter(referral=referral).values_list("youth_office_id", flat=True))

    assert offices() == {hilden.pk}
    child = Child.objects.create(referral=referral, first_name="Ben", last_name="Neu")
    Child.objects.bulk_create([Child(referral=referral, first_name="Lena", last_name="Neu")])
    assert offices() == {hilden.pk}
    Referral.objects.filter(pk=referral.pk).update(youth_office=velbert)
    assert offices() == {velbert.pk}
    child.last_name = "Neumann"
    child.save()  # the object still holds NULL: the database keeps the office
    assert offices() == {velbert.pk}
    Referral.objects.filter(pk=referral.pk).update(youth_office=None)
    assert offices() == {None}


@pytest.mark.django_db
def test_a_search_matches_the_children_once_per_page(client, personas):
    """A search's counts (every tab, exactly) come with its page in one query: window counts over the
    matches, the tab and the cursor applied after them (issue 12; an aggregate and the page before,
    seven queries before that). Only when the tab's page is empty do the counts take a second query."""
    referral = make_referral(personas.police_hilden)
    client.force_login(personas.caseworker_hilden)
    for tab, found, queries in (("all", [referral.pk], 1), ("open", [referral.pk], 1), ("closed", [], 2)):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("referrals:inbox"), {"tab": tab, "q": "Beispiel"})
        assert [r.pk for r in response.context["page"].items] == found, tab
        tabs = {tab.key: tab.count for tab in response.context["tabs"]}
        assert tabs["all"] == tabs["open"] == tabs["unassigned"] == 1 and tabs["closed"] == 0, tab
        matching = [q["sql"] for q in captured.captured_queries if '"referrals_child"' in q["sql"]]
        assert len(matching) == queries, (tab, matching)


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(INBOX_SORTS))
def test_the_second_page_of_a_search_counts_every_match_not_only_those_after_the_cursor(client, personas, sort):
    """The cursor narrows the rows after the window counts: page 2 shows the same counts as page 1,
    and the two pages hold every open match once, in every sort order."""
    filed = [make_referral(personas.police_hilden) for _ in range(27)]
    Referral.objects.filter(pk=filed[0].pk).update(status=Status.CLOSED)
    client.force_login(personas.caseworker_hilden)
    query = {"tab": "open", "q": "Beispiel", "sort": sort}
    first = client.get(reverse("referrals:inbox"), query)
    assert len(first.context["page"].items) == 25 and first.context["page"].has_next
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("referrals:inbox"), {**query, "cursor": cursor})
    assert len(second.context["page"].items) == 1 and not second.context["page"].has_next
    shown = {r.pk for r in first.context["page"].items} | {r.pk for r in second.context["page"].items}
    assert shown == {r.pk for r in filed[1:]}
    for response in (first, second):
        tabs = {tab.key: tab.count for tab in response.context["tabs"]}
        assert (tabs["all"], tabs["open"], tabs["closed"]) == (27, 26, 1)


@pytest.mark.django_db
def test_the_inbox_finds_a_name_in_its_other_german_spellings(client, personas):
    """QA of 2026-12-05: "Mueller" found Müller in the police list but not in the inbox."""
    mueller, oeztuerk = make_referral(personas.police_hilden), make_referral(personas.police_hilden)
    Child.objects.filter(referral=mueller).update(last_name="Müller")
    Child.objects.filter(referral=oeztuerk).update(last_name="Öztürk")
    for term, referral in (("Mueller", mueller), ("Müller", mueller), ("Oeztuerk", oeztuerk), ("öztürk", oeztuerk)):
        assert referral.pk in _found(client, personas.caseworker_hilden, term), term
    assert mueller.pk not in _found(client, personas.caseworker_hilden, "Oeztuerk")
