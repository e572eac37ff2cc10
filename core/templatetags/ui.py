"""Template helpers of every app's pages (in core: meetings and referrals both load them): the current
person's roles (for the navigation), short ages and the ids that tie a form field to its hint and
error message."""

from datetime import timedelta
from types import SimpleNamespace

from django import template
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext_lazy

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES, POLICE_ROLES, Role
from referrals.clocks import is_overdue, time_left
from referrals.forms import measure_choices
from referrals.models import OPEN_STATUSES

register = template.Library()

SHORT_TIME_STRINGS = {
    "year": ngettext_lazy("%(num)d yr.", "%(num)d yrs.", "num"),
    "month": ngettext_lazy("%(num)d mo.", "%(num)d mos.", "num"),
    "week": ngettext_lazy("%(num)d wk.", "%(num)d wks.", "num"),
    "day": ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    "hour": ngettext_lazy("%(num)d hr.", "%(num)d hrs.", "num"),
    "minute": ngettext_lazy("%(num)d min.", "%(num)d min.", "num"),
}


@register.simple_tag
def roles_of(user):
    """What the navigation needs to know about ``user`` (memberships are loaded once per request)."""
    actor = actor_of(user)
    return SimpleNamespace(
        police=actor.has_role(*POLICE_ROLES),
        office=actor.has_role(*OFFICE_ROLES),
        coordinator=actor.has_role(Role.DISTRICT_COORDINATOR),
        police_coordinator=actor.has_role(Role.POLICE_COORDINATOR),
        lead=actor.has_role(Role.OFFICE_LEAD),
        protection=actor.has_role(Role.OFFICE_LEAD, Role.DATA_PROTECTION_OFFICER),
        memberships=list(actor.memberships),
    )


@register.filter
def age(value):
    """How long ago ``value`` was, in its largest unit and short: "3 hrs. ago" ("vor 3 Std.")."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(age)s ago") % {"age": timesince(value, timezone.now(), depth=1, time_strings=SHORT_TIME_STRINGS)}


@register.filter
def describedby(field):
    """The ids of a field's hint and error message, for ``aria-describedby`` on a fieldset (single
    inputs get the attribute from Django itself)."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    if field.errors:
        ids.append(f"{field.auto_id}_error")
    return " ".join(ids)


URGENCY_CLASSES = {"immediate": "badge--immediate", "urgent": "badge--urgent", "routine": "badge--routine"}


@register.filter
def urgency_class(value):
    return URGENCY_CLASSES.get(value, "badge--none")


@register.filter
def label(obj, name):
    """The verbose name of a model field, capitalised: ``{{ referral|label:"urgency" }}``."""
    return capfirst(obj._meta.get_field(name).verbose_name)


@register.filter
def yes_no(value):
    """ "Yes", "No", or None for an unknown (None) value."""
    if value is None:
        return None
    return gettext("Yes") if value else gettext("No")


def _duration(start, end) -> str:
    """The time from ``start`` to ``end`` in its two largest units, short: "1 day, 3 hrs."."""
    return timesince(start, end, depth=2, time_strings=SHORT_TIME_STRINGS)


@register.simple_tag
def clock(referral, now=None):
    """The acknowledgement clock of a referral as the pages show it (``referrals.clocks``):

    - ``overdue``: not acknowledged in time ("overdue by 3 hrs.");
    - ``running``: waiting for acknowledgement ("2 days, 4 hrs. left");
    - ``stopped``: acknowledged, or no longer open — nothing to count;
    - ``none``: no deadline set.
    """
    now = now or timezone.now()
    due = referral.due_at
    if due is None:
        return SimpleNamespace(state="none", text="", due_at=None)
    if is_overdue(referral, now):
        text = gettext("overdue by %(time)s") % {"time": _duration(due, now)}
        return SimpleNamespace(state="overdue", text=text, due_at=due)
    if referral.acknowledged_at is None and referral.status in OPEN_STATUSES:
        left = time_left(due, now)
        text = gettext("%(time)s left") % {"time": _duration(now, now + left)}
        return SimpleNamespace(state="running", text=text, due_at=due)
    return SimpleNamespace(state="stopped", text="", due_at=due)


@register.filter
def person_name(user):
    """A staff member's full name, or the username when no name is recorded."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def measure_labels(values):
    """The labels of an assessment's measures (codes), in the order recorded."""
    labels = dict(measure_choices())
    return [str(labels[v]) for v in values or [] if v in labels]
