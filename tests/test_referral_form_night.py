"""The police form at night (issue 16 § 1): required fields marked and explained, what is known
prefilled (incident time, the station's callback number, the station), section links and a submit
bar, German dates and times accepted whatever the language."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from agencies.models import Agency
from referrals.forms import SECTIONS, SUBMIT_REQUIRED, ReferralForm
from referrals.models import Referral, Status
from tests.test_pages import form_data, input_value, page_text


@pytest.fixture
def police(client, personas):
    client.force_login(personas.police_hilden)
    return client


@pytest.mark.django_db
def test_required_fields_are_marked_and_explained(police):
    text = police.get(reverse("referrals:create")).content.decode()
    assert "Mit * markierte Felder sind zum Absenden der Mitteilung nötig" in text
    assert "Einen Entwurf können Sie jederzeit auch ohne sie speichern" in text
    for name in ("police_case_number", "incident_location", "household_postcode", "children-0-last_name"):
        label = re.search(rf'<label class="field__label" for="id_{name}">(.*?)</label>', text, re.S).group(1)
        assert 'class="field__required"' in label, name
        assert "zum Absenden erforderlich" in label, name
    # Optional fields carry no mark.
    for name in ("household_house_number", "injuries", "children-0-school_or_kita"):
        label = re.search(rf'<label class="field__label" for="id_{name}">(.*?)</label>', text, re.S).group(1)
        assert "field__required" not in label, name
    # Groups of choices (urgency, concerns) are marked in their legend.
    assert text.count('class="field__required"') >= len(SUBMIT_REQUIRED) + 2


@pytest.mark.django_db
def test_known_things_are_prefilled_and_nothing_personal_is_remembered(police, personas):
    station = Agency.objects.get(code="PW-HIL")
    response = police.get(reverse("referrals:create"))
    text = page_text(response)
    assert f"Mitteilung für: {station.name}" in text
    assert station.phone and input_value(response, "callback_phone") == station.phone
    prefilled = datetime.datetime.strptime(input_value(response, "incident_at"), "%Y-%m-%dT%H:%M")
    now = timezone.localtime().replace(tzinfo=None)
    assert abs(now - prefilled) < datetime.timedelta(minutes=2)
    # After a referral was filed, the next form starts empty of everything personal.
    assert police.post(reverse("referrals:create"), form_data()).status_code == 302
    text = page_text(police.get(reverse("referrals:create")))
    for personal in ("Mia", "Beispiel", "Mittelstraße", "ME-2026-123456"):
        assert personal not in text


@pytest.mark.django_db
def test_section_links_and_a_submit_bar(police):
    text = police.get(reverse("referrals:create")).content.decode()
    nav = re.search(r'<nav class="form-jump".*?</nav>', text, re.S).group(0)
    for key, _title, _names in SECTIONS:
        assert f'href="#{key}-section"' in nav
        assert f'id="{key}-section"' in text
    assert 'class="form-actions form-actions--sticky"' in text


@pytest.mark.django_db
def test_a_german_date_and_time_is_accepted(police):
    incident = timezone.localtime() - datetime.timedelta(hours=2)
    data = form_data(incident_at=incident.strftime("%d.%m.%Y %H:%M"))
    response = police.post(reverse("referrals:create"), data)
    assert response.status_code == 302, page_text(response)[:2000]
    referral = Referral.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert referral.status == Status.SUBMITTED
    assert timezone.localtime(referral.incident_at).strftime("%d.%m.%Y %H:%M") == incident.strftime("%d.%m.%Y %H:%M")


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("typed", ["21.11.2026 23:40", "21.11.2026, 23:40", "2026-11-21T23:40"])
def test_german_date_formats_whatever_the_language(language, typed):
    with translation.override(language):
        field = ReferralForm().fields["incident_at"]
        value = field.clean(typed)
    assert timezone.localtime(value).strftime("%Y-%m-%d %H:%M") == "2026-11-21 23:40"
