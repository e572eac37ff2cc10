"""``{% inbox_tabs_of referral user now as labels %}``: the inbox tabs a referral appears in, for a
search that looks through every tab and says where each hit lies (issue 16 § 2). The same rules as
the tabs themselves (``referrals.views._tab_q``): open, assigned to me, unassigned, overdue, closed."""

from django import template

from referrals.clocks import is_overdue
from referrals.forms import INBOX_TABS, InboxTab
from referrals.models import OPEN_STATUSES, Status

register = template.Library()


def inbox_tab_keys(referral, user, now) -> list[str]:
    keys = []
    if referral.status in OPEN_STATUSES:
        keys.append(InboxTab.OPEN)
        keys.append(InboxTab.MINE if referral.assignee_id == user.pk else None)
        keys.append(InboxTab.UNASSIGNED if referral.assignee_id is None else None)
    keys.append(InboxTab.OVERDUE if is_overdue(referral, now) else None)
    keys.append(InboxTab.SCREENING if referral.status == Status.ACKNOWLEDGED else None)
    keys.append(InboxTab.ASSESSMENT if referral.status == Status.IN_ASSESSMENT else None)
    keys.append(InboxTab.CLOSED if referral.status == Status.CLOSED else None)
    return [key for key in keys if key]


@register.simple_tag
def inbox_tabs_of(referral, user, now):
    labels = dict(INBOX_TABS)
    return [str(labels[key]) for key in inbox_tab_keys(referral, user, now)]
