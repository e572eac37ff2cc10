"""Cadences in words (issue 16 § 5): every rule the series form accepts is shown as words on the
pages, never as RRULE text."""

import pytest
from django.utils import translation

from meetings.cadence_words import cadence_in_words


@pytest.mark.parametrize(
    ("rule", "german", "english"),
    [
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU", "vierteljährlich am 2. Dienstag", "quarterly on the 2nd Tuesday"),
        ("RRULE:FREQ=MONTHLY;BYDAY=-1FR", "monatlich am letzten Freitag", "monthly on the last Friday"),
        ("FREQ=WEEKLY;BYDAY=MO,WE", "wöchentlich am Montag und Mittwoch", "weekly on Monday and Wednesday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "alle 2 Wochen am Donnerstag", "every 2 weeks on Thursday"),
        ("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15", "halbjährlich am 15.", "every six months on the 15th"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "monatlich am letzten Tag", "monthly on the last day"),
        (
            "FREQ=YEARLY;BYMONTH=3,9;BYDAY=1MO",
            "jährlich am 1. Montag im März und September",
            "yearly on the 1st Monday in March and September",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "monatlich am letzten Tag der Tage Montag, Dienstag, Mittwoch, Donnerstag und Freitag",
            "monthly on the last day of Monday, Tuesday, Wednesday, Thursday and Friday",
        ),
        (
            "FREQ=MONTHLY;BYDAY=2TU;COUNT=8",
            "monatlich am 2. Dienstag, 8 Termine",
            "monthly on the 2nd Tuesday, 8 dates",
        ),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU;UNTIL=20271231",
            "vierteljährlich am 2. Dienstag, bis 31.12.2027",
            "quarterly on the 2nd Tuesday, until 2027-12-31",
        ),
        ("FREQ=YEARLY;INTERVAL=2", "alle 2 Jahre", "every 2 years"),
    ],
)
def test_cadence_in_words(rule, german, english):
    with translation.override("de"):
        assert cadence_in_words(rule) == german
    with translation.override("en"):
        assert cadence_in_words(rule) == english


def test_no_words_for_what_is_no_cadence():
    assert cadence_in_words("FREQ=DAILY") == ""
    assert cadence_in_words("Quatsch") == ""
    assert cadence_in_words("") == ""


@pytest.mark.django_db
def test_coordinator_puts_the_cadence_together_from_choices(client, personas):
    """Issue 16 § 5: rhythm, week and weekday from lists; the RRULE stays what is stored."""
    from meetings.models import MeetingSeries
    from tests.test_meetings_pages import series_form

    client.force_login(personas.district_coordinator)
    page = client.get("/cooperation/series/new/").content.decode()
    assert 'name="cadence_every"' in page and 'name="cadence_weekday"' in page
    data = series_form(personas, cadence="built", cadence_every="2", cadence_week="-1", cadence_weekday="TH")
    response = client.post("/cooperation/series/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    series = MeetingSeries.objects.get()
    assert series.rrule == "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1TH"
    assert "alle 2 Monate am letzten Donnerstag" in client.get(response["Location"]).content.decode()
    # The edit form shows the same three choices again.
    edit = client.get(f"/cooperation/series/{series.pk}/edit/").content.decode()
    assert '<option value="built" selected>' in edit and '<option value="-1" selected>' in edit
    # The preview while typing follows the choices.
    preview = client.get(
        "/cooperation/series/preview/",
        {"cadence": "built", "cadence_every": "3", "cadence_week": "2", "cadence_weekday": "TU",
         "first_start": data["first_start"]},
    ).content.decode()  # fmt: skip
    assert "Rhythmus: vierteljährlich am 2. Dienstag" in preview
