"""``{% handovers_of referral as handovers %}``: the hand-overs outside the system of a closed case,
for the links on the office's case page (issue 15 § 3). One query of three columns; the stored PDF and
export are not read. Only the case page of the referral's office uses it, so the people who see the
links are those ``referrals.handover.handovers_for`` lets fetch the documents."""

from django import template

from referrals.handover_models import Handover

register = template.Library()


@register.simple_tag
def handovers_of(referral):
    return list(Handover.objects.filter(referral=referral).only("pk", "recipient", "at").order_by("at", "pk"))
