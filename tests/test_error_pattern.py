"""One error pattern (issue 16 § 3): a failed casework, retention or directory form shows the same
error summary as the police form (``data-error-summary``, which static/js/app.js focuses), with a
link to every field in error, re-rendered in place."""

import re

import pytest
from django.urls import reverse

from tests.factories import make_referral


def summary_of(response) -> str:
    match = re.search(r'<div class="error-summary"[^>]*data-error-summary>(.*?)</div>', response.content.decode(), re.S)
    return match.group(1) if match else ""


@pytest.mark.django_db
def test_a_failed_casework_form_shows_the_summary_with_links(client, personas):
    referral = make_referral(personas.police_hilden)
    client.force_login(personas.caseworker_hilden)
    url = reverse("referrals:rerate", args=[referral.pk])
    response = client.post(url, {"version": referral.version, "urgency": "", "reason": ""})
    assert response.status_code in (200, 400, 409)  # re-rendered in place, not redirected
    summary = summary_of(response)
    assert summary, "no error summary"
    links = re.findall(r'<a href="#([^"]+)">', summary)
    assert links
    for target in links:
        assert f'id="{target}"' in response.content.decode(), target


@pytest.mark.django_db
def test_filter_forms_show_the_summary_too(client, personas):
    from agencies.models import Agency, Membership, Role

    Membership.objects.create(
        user=personas.lead_hilden, agency=Agency.objects.get(code="JA-HIL"), role=Role.DATA_PROTECTION_OFFICER
    )
    client.force_login(personas.lead_hilden)
    response = client.get(reverse("referrals:access_log"), {"date_from": "gestern"})
    assert response.status_code == 200
    assert 'href="#filter_date_from"' in summary_of(response)
