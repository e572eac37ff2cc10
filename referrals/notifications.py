"""Who is told about a referral, and what the message says: a reference, an urgency and a link —
never a name or any other content of the referral."""

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from agencies.models import OFFICE_ROLES, Agency, AgencyKind, Membership, Role
from notifications.models import Channel
from notifications.services import notification_create

from .models import Referral, Urgency


def _send(referral: Referral, kind: str, subject: str, body: str, *, users, emails) -> None:
    link = reverse("referrals:detail", args=[referral.pk])
    for email in dict.fromkeys(e for e in emails if e):
        notification_create(channel=Channel.EMAIL, kind=kind, subject=subject, body=body, link=link, email=email)
    for user in dict.fromkeys(users):
        notification_create(channel=Channel.IN_APP, kind=kind, subject=subject, body=body, link=link, user=user)


def notify_office_of_new_referral(referral: Referral) -> None:
    """The receiving office's functional mailbox, its caseworkers and lead in the application, and
    for an immediate referral the on-call mailbox too."""
    office = referral.youth_office
    with translation.override("de"):
        urgency = str(Urgency(referral.urgency).label)
        subject = _("New police referral %(reference)s (%(urgency)s)") % {
            "reference": referral.reference,
            "urgency": urgency,
        }
        body = _(
            "A new police referral has reached %(office)s.\nReference: %(reference)s\nUrgency: %(urgency)s\n"
            "Open it in Kinderschutz-Kooperation (login required):"
        ) % {"office": office.name, "reference": referral.reference, "urgency": urgency}
    emails = [office.email]
    if referral.urgency == Urgency.IMMEDIATE:
        emails.append(office.oncall_email)
    users = [
        m.user
        for m in Membership.objects.active()
        .filter(agency=office, role__in=OFFICE_ROLES)
        .select_related("user")
        .order_by("user_id")
    ]
    _send(referral, "referral_received", subject, body, users=users, emails=emails)


def notify_coordination_of_triage(referral: Referral) -> None:
    """A referral that could not be routed: the district's coordination office decides."""
    district_id = referral.police_authority.district_id
    offices = list(Agency.objects.filter(kind=AgencyKind.COORDINATION, district_id=district_id, is_active=True))
    with translation.override("de"):
        subject = _("Referral %(reference)s needs triage") % {"reference": referral.reference}
        body = _(
            "A police referral could not be routed automatically and waits in the triage queue.\n"
            "Reference: %(reference)s\nOpen it in Kinderschutz-Kooperation (login required):"
        ) % {"reference": referral.reference}
    users = [
        m.user
        for m in Membership.objects.active()
        .filter(agency__in=offices, role=Role.DISTRICT_COORDINATOR)
        .select_related("user")
        .order_by("user_id")
    ]
    _send(referral, "referral_triage", subject, body, users=users, emails=[o.email for o in offices])


def _office_people(office, roles=OFFICE_ROLES):
    return [
        m.user
        for m in Membership.objects.active()
        .filter(agency=office, role__in=roles)
        .select_related("user")
        .order_by("user_id")
    ]


def notify_police_of_status(referral: Referral) -> None:
    """The filing officer learns each change of the coded status (never any content of the office)."""
    with translation.override("de"):
        subject = _("Referral %(reference)s: status changed") % {"reference": referral.reference}
        body = _("The youth office has updated the status of your referral %(reference)s.") % {
            "reference": referral.reference
        }
    _send(referral, "police_feedback", subject, body, users=[referral.created_by], emails=[])


def notify_office_of_forward(referral: Referral) -> None:
    office = referral.forwarded_to
    with translation.override("de"):
        subject = _("Referral %(reference)s forwarded to your office") % {"reference": referral.reference}
        body = _(
            "%(sender)s has forwarded referral %(reference)s to %(office)s. Please accept or return it.\n"
            "Open it in Kinderschutz-Kooperation (login required):"
        ) % {"sender": referral.youth_office.name, "reference": referral.reference, "office": office.name}
    _send(referral, "referral_forwarded", subject, body, users=_office_people(office), emails=[office.email])


def notify_office_of_return(referral: Referral, returned_by_office) -> None:
    office = referral.youth_office
    with translation.override("de"):
        subject = _("Referral %(reference)s returned") % {"reference": referral.reference}
        body = _("%(other)s has returned referral %(reference)s to %(office)s.") % {
            "other": returned_by_office.name,
            "reference": referral.reference,
            "office": office.name,
        }
    _send(referral, "referral_returned", subject, body, users=_office_people(office), emails=[office.email])


def notify_assignee(referral: Referral, kind: str) -> None:
    """Tell the assigned caseworker (or, if nobody is assigned, the office's people) about a change."""
    users = [referral.assignee] if referral.assignee_id else _office_people(referral.youth_office)
    with translation.override("de"):
        if kind == "assigned":
            subject = _("Referral %(reference)s assigned to you") % {"reference": referral.reference}
        else:
            subject = _("Referral %(reference)s: follow-up from police") % {"reference": referral.reference}
        body = _("Referral %(reference)s has news for you. Open it in Kinderschutz-Kooperation (login required):") % {
            "reference": referral.reference
        }
    _send(referral, kind, subject, body, users=users, emails=[])
