"""Dates typed by hand (issue 16 § 1): where the browser offers no date picker, the field is plain text
(``static/js/german-dates.js`` turns every field marked with ``GERMAN_DATE`` into one) and people type
German dates — "21.11.2026 23:40", "21.11.2026" — whatever language the page or the browser is in. A
field marked for the script must accept these formats as well as the picker's ISO format."""

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
