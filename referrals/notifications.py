"""Who is told about a referral, and what the message says: a reference, an urgency and a link —
never a name or any other content of the referral."""

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from agencies.models import OFFICE_ROLES, Agency, AgencyKind, Membership, Role
from notifications.models import Channel
from notifications.services import notification_create

from .clocks import LOCAL_TZ
from .models import Referral, ReferralEvent, Urgency


def _local(moment) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


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
    emails = [office.email]  # an immediate referral's on-call alert is its own message (``alert_oncall``)
    users = [
        m.user
        for m in Membership.objects.active()
        .filter(agency=office, role__in=OFFICE_ROLES)
        .select_related("user")
        .order_by("user_id")
    ]
    _send(referral, "referral_received", subject, body, users=users, emails=emails)


def notify_coordination_of_triage(referral: Referral) -> None:
    """A referral that could not be routed: the district's coordination office decides (its
    functional mailbox and the district coordinators in the application). An immediate one names its
    triage deadline; its on-call alert is ``alert_oncall``."""
    district_id = referral.police_authority.district_id
    offices = list(Agency.objects.filter(kind=AgencyKind.COORDINATION, district_id=district_id, is_active=True))
    with translation.override("de"):
        if referral.urgency == Urgency.IMMEDIATE and referral.due_at:
            values = {"reference": referral.reference, "due": _local(referral.due_at)}
            subject = _("IMMEDIATE referral %(reference)s needs triage now") % values
            body = (
                _(
                    "An immediate police referral (acute danger) could not be routed automatically and waits in the "
                    "triage queue.\nReference: %(reference)s\nAssign it to a youth office by: %(due)s\n"
                    "Open it in Kinderschutz-Kooperation (login required):"
                )
                % values
            )
        else:
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


class PoliceChange:
    """What changed for the police (issue 14 §3): their notification says it — "Eingang bestätigt von
    Jugendamt Hilden", "an Jugendamt Velbert abgegeben" — instead of "status changed"."""

    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    IN_ASSESSMENT = "in_assessment"
    FORWARDED = "forwarded"
    FORWARD_ACCEPTED = "forward_accepted"
    FORWARD_RETURNED = "forward_returned"
    CLOSED = "closed"
    REOPENED = "reopened"
    EXPORTED = "exported"


def police_change_text(referral: Referral, change: str | None) -> str:
    """The change in the words police read: an office's name and what it did — never a person's name,
    never anything of the casework (the coded feedback, docs/domain.md "Wer sieht was")."""
    office = referral.youth_office.name if referral.youth_office_id else _("the district coordination office")
    values = {"office": office, "to": referral.forwarded_to.name if referral.forwarded_to_id else "?"}
    texts = {
        PoliceChange.ACKNOWLEDGED: _("receipt confirmed by %(office)s"),
        PoliceChange.ASSIGNED: _("contact person named by %(office)s"),
        PoliceChange.IN_ASSESSMENT: _("being assessed by %(office)s"),
        PoliceChange.FORWARDED: _("handed over to %(to)s"),
        PoliceChange.FORWARD_ACCEPTED: _("taken over by %(office)s"),
        PoliceChange.FORWARD_RETURNED: _("hand-over declined, back with %(office)s"),
        PoliceChange.CLOSED: _("closed by %(office)s"),
        PoliceChange.REOPENED: _("reopened by %(office)s"),
        PoliceChange.EXPORTED: _("handed over outside the system by %(office)s"),
    }
    if change is None:  # a caller that does not say: what the new status tells
        change = {"closed": PoliceChange.CLOSED, "in_assessment": PoliceChange.IN_ASSESSMENT}.get(referral.status)
    return texts[change] % values if change in texts else _("status changed")


def notify_police_of_status(referral: Referral, change: str | None = None) -> None:
    """The filing officer learns each change of the coded status, saying what changed and which
    office did it (``PoliceChange``) — never any content of the office, never a child's name."""
    with translation.override("de"):
        what = police_change_text(referral, change)
        subject = _("Referral %(reference)s: %(change)s") % {"reference": referral.reference, "change": what}
        body = _("Your referral %(reference)s: %(change)s.\nOpen it in Kinderschutz-Kooperation (login required):") % {
            "reference": referral.reference,
            "change": what,
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


def notify_office_of_acceptance(referral: Referral, forwarding_office) -> None:
    """The forwarding office learns that the other office accepted its hand-over: the case is now
    entirely with that office (its old links lead to a page that says so, referrals.handed_over)."""
    with translation.override("de"):
        subject = _("Referral %(reference)s accepted by %(office)s") % {
            "reference": referral.reference,
            "office": referral.youth_office.name,
        }
        body = _(
            "%(office)s has accepted referral %(reference)s from %(forwarding)s. The case is now with %(office)s "
            "and no longer visible to %(forwarding)s."
        ) % {
            "office": referral.youth_office.name,
            "reference": referral.reference,
            "forwarding": forwarding_office.name,
        }
    users = _office_people(forwarding_office)
    _send(referral, "referral_forward_accepted", subject, body, users=users, emails=[forwarding_office.email])


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


class AlertCause:
    """Why an on-call service is alerted (the ``cause`` of the timeline entry)."""

    RECEIVED = "received"  # an immediate referral routed straight to the office
    TRIAGE = "triage"  # an immediate referral in the triage queue: the coordination office's on-call
    ASSIGNED = "assigned"  # the coordinator assigned an immediate referral from triage to the office
    FORWARDED = "forwarded"  # an immediate or overdue case offered to the office
    RERATED = "rerated"  # a case not yet acknowledged was re-rated to immediate


def alert_oncall(referral: Referral, agency, *, cause: str, actor=None) -> None:
    """Alert ``agency``'s on-call service (Rufbereitschaft) at once, through the outbox, and record
    it in the case history. The e-mail carries the reference, the urgency, the deadline and a link —
    never a name, an address or a phone number. An agency without an on-call mailbox is alerted
    through its functional mailbox, so the alert never goes nowhere (docs/domain.md "Sofort-Fälle")."""
    mailbox = agency.oncall_email or agency.email
    with translation.override("de"):
        values = {
            "reference": referral.reference,
            "urgency": str(Urgency(referral.urgency).label) if referral.urgency in Urgency.values else "",
            "agency": agency.name,
            "due": _local(referral.due_at) if referral.due_at else "–",
        }
        reasons = {
            AlertCause.RECEIVED: _("An immediate police referral has reached %(agency)s."),
            AlertCause.TRIAGE: _(
                "An immediate police referral could not be routed to a youth office and waits in the triage queue "
                "of %(agency)s."
            ),
            AlertCause.ASSIGNED: _(
                "The district coordination office has assigned an immediate referral to %(agency)s."
            ),
            AlertCause.FORWARDED: _(
                "An immediate or overdue case has been handed over to %(agency)s and is not yet acknowledged."
            ),
            AlertCause.RERATED: _("A case of %(agency)s not yet acknowledged has been re-rated to immediate."),
        }
        subject = _("ON-CALL: immediate referral %(reference)s – act now") % values
        body = (
            reasons[cause] % values
            + "\n"
            + _(
                "Reference: %(reference)s\nUrgency: %(urgency)s\nDeadline: %(due)s\n"
                "Open it in Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    if mailbox:
        _send(referral, f"oncall_{cause}", subject, body, users=[], emails=[mailbox])
    ReferralEvent.objects.create(
        referral=referral,
        actor=actor,
        kind=ReferralEvent.Kind.ALERTED,
        data={"to_office": agency.pk, "cause": cause, "mailbox": "oncall" if agency.oncall_email else "functional"},
    )
