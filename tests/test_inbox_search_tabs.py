"""Inbox search looks in every tab and says in which tab each hit lies (issue 16 § 2 and § 4)."""

import pytest
from django.urls import reverse

from referrals.models import Referral
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
