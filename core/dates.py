"""Dates typed by hand (issue 16 § 1): where the browser offers no date picker, the field is plain text
(``static/js/german-dates.js`` turns every field marked with ``GERMAN_DATE`` into one) and people type
German dates — "21.11.2026 23:40", "21.11.2026" — whatever language the page or the browser is in. A
field marked for the script must accept these formats as well as the picker's ISO format."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext

DATE_FORMAT = "%Y-%m-%d"  # what <input type="date"> sends and expects, whatever the language
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"  # likewise for <input type="datetime-local">
# Marks a date field that accepts German input (the attribute static/js/german-dates.js looks for).
GERMAN_DATE = {"data-german-date": ""}
DATE_INPUT_FORMATS = [DATE_FORMAT, "%d.%m.%Y", "%d.%m.%y"]
DATETIME_INPUT_FORMATS = [
    DATETIME_FORMAT,
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y, %H:%M",
    "%d.%m.%Y %H.%M",
    "%d.%m.%y %H:%M",
]


# The days a person can mean in a filter, a period or the calendar: from 2000 (no referral or meeting
# lies earlier) to ten years ahead. Beyond them the day arithmetic overflows (the year 10000 behind
# "next month", 0001-01-01 in UTC), so the pages, the dashboards and the API's date filters all refuse
# them with one message (QA of 2026-12-05: 500s and messages without a field).
FIRST_PLAUSIBLE_DAY = datetime.date(2000, 1, 1)
YEARS_AHEAD = 10


def last_plausible_year() -> int:
    return timezone.localdate().year + YEARS_AHEAD


def plausible_day(day: datetime.date) -> bool:
    return FIRST_PLAUSIBLE_DAY <= day <= datetime.date(last_plausible_year(), 12, 31)


def plausible_day_message() -> str:
    return gettext("Give a day from 2000 to %(last)s.") % {"last": last_plausible_year()}
