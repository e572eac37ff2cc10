"""Retention periods in years and months (issue 16 § 5), with the exact days the rule keeps."""

import pytest
from django.utils import translation

from referrals.templatetags.periods import period_in_words


@pytest.mark.parametrize(
    ("days", "german", "english"),
    [
        (1, "1 Tag", "1 day"),
        (20, "20 Tage", "20 days"),
        (30, "1 Monat (30 Tage)", "1 month (30 days)"),
        (183, "6 Monate (183 Tage)", "6 months (183 days)"),
        (365, "1 Jahr (365 Tage)", "1 year (365 days)"),
        (913, "2 Jahre und 6 Monate (913 Tage)", "2 years and 6 months (913 days)"),
        (3650, "10 Jahre (3650 Tage)", "10 years (3650 days)"),
    ],
)
def test_period_in_words(days, german, english):
    with translation.override("de"):
        assert period_in_words(days) == german
    with translation.override("en"):
        assert period_in_words(days) == english


@pytest.mark.django_db
def test_retention_page_shows_years_and_months(client, personas):
    import datetime

    from agencies.models import Agency
    from referrals.models import RetentionRule

    RetentionRule.objects.create(
        office=Agency.objects.get(code="JA-HIL"),
        outcome="no_risk_no_need",
        keep_days=913,
        valid_from=datetime.date(2026, 1, 1),
    )
    client.force_login(personas.lead_hilden)
    assert "2 Jahre und 6 Monate (913 Tage)" in client.get("/retention/").content.decode()
