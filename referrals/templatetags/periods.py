"""``{{ days|period }}``: a length of time given in days, said the way people say it — in years and
months ("2 Jahre und 6 Monate"), or in days when it is shorter than a month (issue 16 § 5)."""

from django import template
from django.utils.translation import gettext, ngettext

register = template.Library()

DAYS_PER_MONTH = 365.25 / 12


def period_in_words(days: int) -> str:
    """913 → "2 Jahre und 6 Monate (913 Tage)"; 20 → "20 Tage". Months are counted as a twelfth of a
    year and rounded; the exact number of days follows in brackets, as that is what the rule keeps."""
    in_days = ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
    months_total = round(days / DAYS_PER_MONTH)
    if days < 28 or months_total == 0:
        return in_days
    years, months = divmod(months_total, 12)
    parts = []
    if years:
        parts.append(ngettext("%(count)s year", "%(count)s years", years) % {"count": years})
    if months:
        parts.append(ngettext("%(count)s month", "%(count)s months", months) % {"count": months})
    text = (
        parts[0] if len(parts) == 1 else gettext("%(first)s and %(second)s") % {"first": parts[0], "second": parts[1]}
    )
    return f"{text} ({in_days})"


@register.filter
def period(days):
    try:
        return period_in_words(int(days))
    except (TypeError, ValueError):
        return ""
