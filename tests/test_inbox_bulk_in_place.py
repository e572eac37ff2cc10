"""A failed bulk assignment in the inbox comes back in place (issue 16 § 3, one error pattern): the
inbox page it was sent from with the shared error summary (focused by static/js/app.js, links to the
fields), the ticked rows still ticked and the chosen person still chosen — no redirect that loses them."""

import re

import pytest
from django.urls import reverse

from referrals.services import referral_close
from tests.factories import make_referral
from tests.test_error_pattern import summary_of
from tests.test_pages_casework import fresh, signed

pytestmark = pytest.mark.django_db


def post(client, data):
    return client.post(reverse("referrals:bulk_assign"), data)


def ticked(response) -> set[int]:
    html = response.content.decode()
    return {int(pk) for pk in re.findall(r'name="referral" value="(\d+)"[^>]*\bchecked\b', html)}


def test_without_a_person_the_ticks_stay_and_the_summary_links_to_the_choice(client, personas):
    first, second, third = (make_referral(personas.police_hilden) for _ in range(3))
    client.force_login(personas.lead_hilden)
    data = {"referral": [first.pk, third.pk], "assignee": "", "next": "/inbox/?tab=all&sort=oldest"}
    data.update({f"version_{r.pk}": r.version for r in (first, second, third)})
    response = post(client, data)
    assert response.status_code == 200  # in place, not a redirect
    html = response.content.decode()
    summary = summary_of(response)
    assert 'href="#bulk_assignee"' in summary and 'id="bulk_assignee"' in html
    assert ticked(response) == {first.pk, third.pk}
    # The page it was sent from (tab, sort), and the form sends there again.
    assert response.context["form"].current_tab == "all" and response.context["form"].current_sort == "oldest"
    assert 'name="next" value="/inbox/?tab=all&amp;sort=oldest"' in html
    # Tabs lead to the inbox, not to the form's address.
    assert 'href="/inbox/?' in html and 'href="?' not in html
    assert all(fresh(r).assignee is None for r in (first, second, third))


def test_without_a_selection_the_chosen_person_stays(client, personas):
    make_referral(personas.police_hilden)
    client.force_login(personas.lead_hilden)
    response = post(client, {"assignee": personas.caseworker_hilden.pk, "next": "/inbox/"})
    assert response.status_code == 200
    assert "Select at least one referral." in summary_of(response) or "Wählen Sie" in summary_of(response)
    html = response.content.decode()
    assert re.search(rf'<option value="{personas.caseworker_hilden.pk}" selected>', html), "the person was lost"
    assert ticked(response) == set()


def test_a_row_that_cannot_be_assigned_is_named_and_every_tick_stays(client, personas):
    good = make_referral(personas.police_hilden)
    closed = make_referral(personas.police_hilden)
    signed(closed, personas)
    referral_close(referral=closed, user=personas.caseworker_hilden)
    client.force_login(personas.lead_hilden)
    data = {"referral": [good.pk, closed.pk], "assignee": personas.caseworker_hilden.pk, "next": "/inbox/?tab=all"}
    data.update({f"version_{r.pk}": fresh(r).version for r in (good, closed)})
    response = post(client, data)
    assert response.status_code == 200
    assert closed.reference in summary_of(response)
    assert ticked(response) == {good.pk, closed.pk}
    assert fresh(good).assignee is None
    # Sent again without the closed one, it goes through (POST/redirect/GET on success).
    data["referral"] = [good.pk]
    response = post(client, data)
    assert response.status_code == 302 and response["Location"] == "/inbox/?tab=all"
    assert fresh(good).assignee == personas.caseworker_hilden


def test_a_foreign_row_is_neither_assigned_nor_shown(client, personas):
    own = make_referral(personas.police_hilden)
    foreign = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    client.force_login(personas.lead_hilden)
    data = {"referral": [own.pk, foreign.pk], "assignee": personas.caseworker_hilden.pk, "next": "/inbox/?tab=all"}
    data.update({f"version_{r.pk}": r.version for r in (own, foreign)})
    response = post(client, data)
    assert response.status_code == 200
    assert summary_of(response)
    assert foreign.reference not in response.content.decode()
    assert ticked(response) == {own.pk}
    assert fresh(own).assignee is None and fresh(foreign).assignee is None


def test_reopening_the_form_address_leads_to_the_inbox(client, personas):
    client.force_login(personas.lead_hilden)
    response = client.get(reverse("referrals:bulk_assign"), headers={"Sec-Fetch-Dest": "document"})
    assert response.status_code in (302, 303) and response["Location"].startswith("/inbox/")
