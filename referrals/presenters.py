"""How the pages present referrals: the coded police feedback as text, the state of the assessment,
the case history with names instead of ids, hints of earlier referrals of a child. Read-only helpers
of ``referrals.views``; queries go through ``Referral.objects.visible_to`` where a referral is named."""

import datetime
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from agencies.models import Agency

from .dialogue_models import event_label
from .models import Outcome, Referral, ReferralEvent, Urgency
from .selectors import FeedbackCode, police_code
from .transitions import is_closeable


def feedback_label(feedback: dict) -> str:
    """The coded feedback as police read it (Rückmeldung)."""
    code = feedback["code"]
    if code == FeedbackCode.FORWARDED:  # offered, not yet taken over: "Abgegeben" read as done (QA of 2026-12-05)
        office = feedback["office"]["name"] if feedback["office"] else "?"
        return _("Being handed over to %(office)s") % {"office": office}
    if code == FeedbackCode.HANDED_OVER:  # to an office outside the system (referrals.handover)
        return _("Handed over to %(office)s") % {"office": feedback["handed_over_to"]}
    return {
        FeedbackCode.SUBMITTED: _("Submitted"),
        FeedbackCode.TRIAGE: _("Being clarified"),
        FeedbackCode.RECEIVED: _("Receipt acknowledged"),  # the words of the status in the police list
        FeedbackCode.IN_PROGRESS: _("In progress"),
        FeedbackCode.CLOSED: _("Closed"),
    }[code]


def police_badge(referral: Referral) -> tuple[str, str]:
    """(code, words) of the coded status as the police's badge shows it — a row of the police list, the
    top of the police's referral page — in the words of ``feedback_label``: no office name, no query; a
    draft is a draft."""
    if referral.is_draft:
        return "draft", _("Draft")
    code = police_code(referral)
    if code == FeedbackCode.FORWARDED:
        return code, _("Being handed over")
    return code, feedback_label({"code": code})


GRANT_KINDS = (ReferralEvent.Kind.GRANTED, ReferralEvent.Kind.GRANT_ENDED)


def person_name(user) -> str:
    return user.get_full_name() or user.get_username()


def assessment_state(referral: Referral, assessments: list) -> SimpleNamespace:
    """The latest assessment, whether it waits for a sign-off, and whether the case may be closed
    (``transitions.is_closeable``, the rule of the close transition)."""
    latest = assessments[0] if assessments else None
    pending = latest if latest is not None and not latest.is_complete else None
    return SimpleNamespace(latest=latest, pending=pending, closeable=is_closeable(referral, latest))


def describe_events(events: list) -> list[SimpleNamespace]:
    """The timeline with what each entry's codes and ids mean (offices, people, urgencies), looked up
    in one query per kind of id instead of one per entry."""
    office_ids, user_ids = set(), set()
    for event in events:
        data = event.data or {}
        office_ids |= {data[k] for k in ("to_office", "from_office", "by_office", "youth_office") if data.get(k)}
        if data.get("assignee"):
            user_ids.add(data["assignee"])
        if data.get("to_person"):  # a sign-off request to a named colleague (referrals.followthrough)
            user_ids.add(data["to_person"])
        if data.get("person") and event.kind in GRANT_KINDS:  # whom a read grant let in (referrals.grants)
            user_ids.add(data["person"])
    offices = dict(Agency.objects.filter(pk__in=office_ids).values_list("pk", "name")) if office_ids else {}
    people = {u.pk: person_name(u) for u in get_user_model().objects.filter(pk__in=user_ids)} if user_ids else {}

    described = []
    for event in events:
        data = event.data or {}
        details = []
        for key in ("to_office", "youth_office"):
            if data.get(key):
                details.append(_("to %(office)s") % {"office": offices.get(data[key], "?")})
        if data.get("by_office"):
            details.append(_("by %(office)s") % {"office": offices.get(data["by_office"], "?")})
        if data.get("from_office"):
            details.append(_("from %(office)s") % {"office": offices.get(data["from_office"], "?")})
        if data.get("assignee"):
            details.append(_("to %(name)s") % {"name": people.get(data["assignee"], "?")})
        if data.get("to_person"):
            details.append(_("to %(name)s") % {"name": people.get(data["to_person"], "?")})
        if data.get("person") and event.kind in GRANT_KINDS:  # the history names who got (or lost) access (QA)
            details.append(_("for %(name)s") % {"name": people.get(data["person"], "?")})
        if data.get("task_title"):  # the task's title, for its office only (the timeline is the office's)
            details.append(f"„{data['task_title']}“")
        if data.get("urgency") in Urgency.values:
            previous = Urgency(data["previous"]).label if data.get("previous") in Urgency.values else "–"
            current = Urgency(data["urgency"]).label
            details.append(_("from %(previous)s to %(urgency)s") % {"previous": previous, "urgency": current})
        if event.kind == ReferralEvent.Kind.CLOSED and data.get("outcome") in Outcome.values:
            details.append(str(Outcome(data["outcome"]).label))
        described.append(
            SimpleNamespace(
                at=event.at,
                kind=event.kind,
                label=event_label(event),
                actor=person_name(event.actor) if event.actor else _("System"),
                details=", ".join(details),
                reason=data.get("reason", ""),
            )
        )
    return described


def repeat_hints(user, events: list) -> list[SimpleNamespace]:
    """Earlier referrals of the same child (events of kind "repeat"): date and office, with a link
    only to a referral the person may open."""
    earlier = {}
    for event in events:
        if event.kind != ReferralEvent.Kind.REPEAT:
            continue
        for item in (event.data or {}).get("earlier", []):
            key = (item.get("office"), item.get("date"), item.get("referral"))
            earlier.setdefault(key, item)
    ids = [item["referral"] for item in earlier.values() if item.get("referral")]
    openable = set(Referral.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    hints = []
    for item in earlier.values():
        try:
            day = datetime.date.fromisoformat(item.get("date") or "")
        except ValueError:
            day = None
        referral_id = item.get("referral")
        hints.append(
            SimpleNamespace(
                office=item.get("office") or "?", date=day, referral_id=referral_id if referral_id in openable else None
            )
        )
    return sorted(hints, key=lambda h: (h.date or datetime.date.min), reverse=True)


def repeat_total(events: list) -> int:
    """How many earlier referrals of the children were found in all: an event names only the most
    recent ones and carries the ``count`` (``services._repeat_check``); older events name them all."""
    return max(
        (
            (event.data or {}).get("count", len((event.data or {}).get("earlier", [])))
            for event in events
            if event.kind == ReferralEvent.Kind.REPEAT
        ),
        default=0,
    )
