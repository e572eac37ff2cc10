"""Labels of the codes of the per-child assessment (issue 13 §2) for the office page."""

from django import template

from referrals.assessment_models import DangerFrom, EndangermentKind, Help, Impression, Residence, YesNoUnknown
from referrals.models import Outcome

register = template.Library()

LISTS = {
    "kinds": EndangermentKind,
    "danger_from": DangerFrom,
    "help": Help,
    "impressions": Impression,
    "residence": Residence,
    "yes_no_unknown": YesNoUnknown,
    "result": Outcome,
}


@register.filter
def code_labels(values, kind):
    """``["neglect"]|code_labels:"kinds"`` → "Anzeichen für Vernachlässigung" (unknown codes as they are)."""
    choices = LISTS[kind]
    if isinstance(values, str):
        values = [values]
    return ", ".join(str(choices(v).label) if v in choices.values else str(v) for v in values or [])


@register.filter
def people_names(ids, people):
    """Names of the people with ``ids`` from the mapping ``people`` (id → name)."""
    return ", ".join(people.get(i, "?") for i in ids or [])
