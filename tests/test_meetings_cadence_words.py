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
