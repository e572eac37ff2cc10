"""Template tags of the contact directory: the contact box police see after submitting."""

from django import template
from django.utils import timezone

from ..directory import submission_contacts

register = template.Library()


@register.inclusion_tag("agencies/_submission_contacts.html", takes_context=True)
def submission_contacts_box(context, referral):
    """Whom the officer phones about ``referral`` now (docs/domain.md "Sofort-Fälle")."""
    request = context.get("request")
    user = getattr(request, "user", None)
    contacts = submission_contacts(referral, user, timezone.now()) if user is not None else None
    return {"contacts": contacts, "referral": referral}
