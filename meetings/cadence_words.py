"""A series' cadence in words ("vierteljährlich am 2. Dienstag"), never as RRULE text (issue 16 § 5).

The RRULE stays the storage format and the API field; pages show these words. Covers every part
``meetings.services.rrule_problem`` allows (FREQ WEEKLY/MONTHLY/YEARLY, INTERVAL, BYDAY with or
without an ordinal, BYMONTHDAY, BYMONTH, BYSETPOS, BYWEEKNO, BYYEARDAY, COUNT, UNTIL; WKST changes no
date a person reads about). German and English, following the page's language.
"""

import datetime

from django.utils.translation import get_language

from meetings.services import _normalised_rrule, _rrule_parts, rrule_problem

WEEKDAYS = {
    "de": {"MO": "Montag", "TU": "Dienstag", "WE": "Mittwoch", "TH": "Donnerstag", "FR": "Freitag",
           "SA": "Samstag", "SU": "Sonntag"},
    "en": {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday",
           "SA": "Saturday", "SU": "Sunday"},
}  # fmt: skip
MONTHS = {
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}  # fmt: skip
WORDS = {
    "de": {
        "weekly": "wöchentlich", "every_weeks": "alle {n} Wochen", "monthly": "monatlich",
        "every_months": "alle {n} Monate", "quarterly": "vierteljährlich", "half_yearly": "halbjährlich",
        "yearly": "jährlich", "every_years": "alle {n} Jahre", "on": "am", "and": "und", "last": "letzten",
        "second_last": "vorletzten", "from_end": "{n}.-letzten", "day": "Tag", "last_day": "letzten Tag",
        "in_months": "im {months}", "in_weeks": "in Kalenderwoche {weeks}", "year_day": "am {n}. Tag des Jahres",
        "count": "{n} Termine", "count_one": "1 Termin", "until": "bis {date}", "of": "der Tage",
    },
    "en": {
        "weekly": "weekly", "every_weeks": "every {n} weeks", "monthly": "monthly",
        "every_months": "every {n} months", "quarterly": "quarterly", "half_yearly": "every six months",
        "yearly": "yearly", "every_years": "every {n} years", "on": "on the", "and": "and", "last": "last",
        "second_last": "second to last", "from_end": "{n}th to last", "day": "day", "last_day": "last day",
        "in_months": "in {months}", "in_weeks": "in calendar week {weeks}", "year_day": "on day {n} of the year",
        "count": "{n} dates", "count_one": "1 date", "until": "until {date}", "of": "of",
    },
}  # fmt: skip


def _language() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


def _ordinal(n: int, lang: str) -> str:
    if lang == "de":
        return f"{n}."
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _position(n: int, lang: str) -> str:
    """1 → "2." / "2nd", -1 → "letzten" / "last"."""
    words = WORDS[lang]
    if n == -1:
        return words["last"]
    if n == -2:
        return words["second_last"]
    if n < 0:
        return words["from_end"].format(n=-n)
    return _ordinal(n, lang)


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {WORDS[lang]['and']} " + items[-1]


def _frequency(freq: str, interval: int, lang: str) -> str:
    w = WORDS[lang]
    if freq == "WEEKLY":
        return w["weekly"] if interval == 1 else w["every_weeks"].format(n=interval)
    if freq == "MONTHLY":
        named = {1: w["monthly"], 3: w["quarterly"], 6: w["half_yearly"], 12: w["yearly"]}
        return named.get(interval) or w["every_months"].format(n=interval)
    return w["yearly"] if interval == 1 else w["every_years"].format(n=interval)


def _days(value: str, setpos: str | None, lang: str) -> str:
    """BYDAY (with ordinals such as 2TU or -1FR), with BYSETPOS choosing among the days."""
    w = WORDS[lang]
    names, ordinals = [], False
    for item in value.split(","):
        item = item.strip()
        day, number = item[-2:], item[:-2]
        name = WEEKDAYS[lang].get(day, day)
        if number.lstrip("+-").isdigit():
            ordinals = True
            names.append(f"{_position(int(number), lang)} {name}")
        else:
            names.append(name)
    text = _join(names, lang)
    if setpos:
        positions = _join([_position(int(p), lang) for p in setpos.split(",") if p.lstrip("+-").isdigit()], lang)
        return f"{w['on']} {positions} {w['day']} {w['of']} {text}"
    # "on the 2nd Tuesday", but "on Monday and Wednesday" (German: "am" in both cases).
    return f"{w['on'] if ordinals or lang == 'de' else 'on'} {text}"


def _month_days(value: str, lang: str) -> str:
    w = WORDS[lang]
    days = []
    for item in value.split(","):
        n = int(item)
        days.append(w["last_day"] if n == -1 else _position(n, lang))
    return f"{w['on']} {_join(days, lang)}"


def cadence_in_words(rule: str) -> str:
    """``FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU`` → "vierteljährlich am 2. Dienstag" (German pages) or
    "quarterly on the 2nd Tuesday" (English). A rule that is no cadence at all gives "" (pages then
    show nothing rather than raw RRULE text)."""
    if not rule or rrule_problem(rule):
        return ""
    parts = _rrule_parts(_normalised_rrule(rule)) or {}
    lang = _language()
    w = WORDS[lang]
    words = [_frequency(parts["FREQ"], int(parts.get("INTERVAL", "1")), lang)]
    if "BYDAY" in parts:
        words.append(_days(parts["BYDAY"], parts.get("BYSETPOS"), lang))
    if "BYMONTHDAY" in parts:
        words.append(_month_days(parts["BYMONTHDAY"], lang))
    if "BYMONTH" in parts:
        months = [MONTHS[lang][int(m) - 1] for m in parts["BYMONTH"].split(",") if m.isdigit() and 1 <= int(m) <= 12]
        words.append(w["in_months"].format(months=_join(months, lang)))
    if "BYWEEKNO" in parts:
        words.append(w["in_weeks"].format(weeks=_join(parts["BYWEEKNO"].split(","), lang)))
    if "BYYEARDAY" in parts:
        words.append(w["year_day"].format(n=parts["BYYEARDAY"]))
    text = " ".join(words)
    tail = []
    if "COUNT" in parts:
        count = int(parts["COUNT"])
        tail.append(w["count_one"] if count == 1 else w["count"].format(n=count))
    if "UNTIL" in parts:
        until = parts["UNTIL"][:8]
        try:
            day = datetime.datetime.strptime(until, "%Y%m%d").date()  # noqa: DTZ007 - a date only
            tail.append(w["until"].format(date=day.strftime("%d.%m.%Y" if lang == "de" else "%Y-%m-%d")))
        except ValueError:
            pass
    return ", ".join([text, *tail])
