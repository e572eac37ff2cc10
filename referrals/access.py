"""Who a person is to one referral, decided once: the referral-access value.

``Referral.objects.visible_to`` is the list scope (which referrals a person may see at all; out of
scope answers 404). Inside the scope, ``referral_access`` says *how* the person relates to one
referral — as an enum, ``Relation`` — and what that allows: reading the case contents, working on
the casework, reading it as police, acting as the lead of the acting office. Pages, API, services and
the access log all ask this one function (rules: docs/domain.md, "Wer sieht was"); the transitions a
relation may make are declared in ``referrals.transitions``.

``referral_for`` is the one lookup by id for pages and API: the referral from the scope together with
its access value, else 404 with a "denied" entry in the access log.
"""

from __future__ import annotations

import enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.http import Http404

from agencies.actor import Actor, actor_of
from agencies.models import OFFICE_ROLES, POLICE_ROLES, Membership, Role
from core.queries import one_or_none

from .models import AccessLogEntry, Referral, ReferralGroupObjectPermission, ReferralUserObjectPermission, Status

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest

__all__ = ["ReferralAccess", "Relation", "referral_access", "referral_for"]


class Relation(enum.StrEnum):
    """How a person relates to a referral, strongest first (the order of ``RELATION_ORDER``)."""

    OWN_OFFICE = "own_office"  # caseworker or lead of the responsible youth office
    RECEIVING_OFFICE = "receiving_office"  # of the office a pending hand-over is offered to
    FILING_STATION = "filing_station"  # officer of the filing station, or the filing officer
    AUTHORITY = "authority"  # police coordinator of the filing authority
    COORDINATOR = "coordinator"  # district coordinator, while the referral is in triage
    GRANT = "grant"  # an individual guardian grant (``view_referral``) on this referral


RELATION_ORDER = tuple(Relation)
OFFICE_RELATIONS = frozenset({Relation.OWN_OFFICE, Relation.RECEIVING_OFFICE})
POLICE_RELATIONS = frozenset({Relation.FILING_STATION, Relation.AUTHORITY})


def _has_grant(user: Any, referral: Referral) -> bool:
    """An individual guardian grant on ``referral``, to the person or a group of theirs (queried on
    the direct-foreign-key tables: guardian's own checker would say yes to any superuser, and
    administrators do not read case contents)."""
    if not getattr(user, "pk", None):
        return False
    return (
        ReferralUserObjectPermission.objects.filter(
            user_id=user.pk, content_object=referral, permission__codename="view_referral"
        ).exists()
        or ReferralGroupObjectPermission.objects.filter(
            group__user=user.pk, content_object=referral, permission__codename="view_referral"
        ).exists()
    )


class ReferralAccess:
    """The relations of one actor to one referral and what they allow.

    The relations from memberships are computed at once (no query); the guardian grant, one query,
    only when asked for and no membership relates the person to the referral.
    """

    def __init__(self, actor: Actor, referral: Referral) -> None:
        self.actor = actor
        self.referral = referral
        self.membership_relations: tuple[Relation, ...] = self._membership_relations()

    def __repr__(self) -> str:
        return f"<ReferralAccess {self.actor.pk} → {self.referral.pk}: {self.relation}>"

    def _membership_relations(self) -> tuple[Relation, ...]:
        actor, referral = self.actor, self.referral
        found = set()
        if referral.status != Status.DRAFT:
            offices = actor.office_ids
            if referral.youth_office_id is not None and referral.youth_office_id in offices:
                found.add(Relation.OWN_OFFICE)
            if referral.forwarded_to_id is not None and referral.forwarded_to_id in offices:
                found.add(Relation.RECEIVING_OFFICE)
            if referral.station_id in actor.station_ids:
                found.add(Relation.FILING_STATION)
            if referral.police_authority_id in actor.authority_ids:
                found.add(Relation.AUTHORITY)
            districts = actor.coordinator_district_ids
            if districts and referral.status == Status.TRIAGE and referral.police_authority.district_id in districts:
                found.add(Relation.COORDINATOR)
        if actor.pk is not None and referral.created_by_id == actor.pk:
            found.add(Relation.FILING_STATION)  # the filing officer, wherever they work now
        return tuple(r for r in RELATION_ORDER if r in found)

    @cached_property
    def relations(self) -> tuple[Relation, ...]:
        """Every relation, strongest first; the grant only when no membership relates."""
        if self.membership_relations:
            return self.membership_relations
        if self.referral.status != Status.DRAFT and _has_grant(self.actor.user, self.referral):
            return (Relation.GRANT,)
        return ()

    @property
    def relation(self) -> Relation | None:
        """The strongest relation: the one the person acts in."""
        return self.relations[0] if self.relations else None

    def has(self, *relations: Relation) -> bool:
        return any(r in self.relations for r in relations)

    # --- what the relation allows --------------------------------------------------------------

    @property
    def reads_contents(self) -> bool:
        """Children, persons and facts: everyone related except the district coordinator, who routes
        a triaged referral from a summary (reference, urgency, concerns, address, triage reason)."""
        return any(r != Relation.COORDINATOR for r in self.relations)

    @property
    def works_on_case(self) -> bool:
        """Office casework (notes, attachments, timeline): the responsible office, and the receiving
        office of a pending hand-over (read-only until it accepts)."""
        return self.has(*OFFICE_RELATIONS)

    @property
    def reads_as_police(self) -> bool:
        """Police (filing station or officer, authority) with no office relation: the referral as filed
        plus the coded feedback (Rückmeldung); the casework stays with the office."""
        return self.relation in POLICE_RELATIONS

    @property
    def is_police(self) -> bool:
        """Police of the filing station or authority, or the filing officer (adds follow-ups)."""
        return self.has(*POLICE_RELATIONS)

    @property
    def case_role(self) -> str | None:
        """How the office page presents the case: ``office`` (the responsible office works on it),
        ``sender`` (forwarded away, read-only until the other office decides), ``receiving`` (offered
        to this office), or None (not an office of the case)."""
        if Relation.OWN_OFFICE in self.relations:
            return "sender" if self.referral.status == Status.FORWARDED else "office"
        if Relation.RECEIVING_OFFICE in self.relations:
            return "receiving"
        return None

    @property
    def acting_office_id(self) -> int | None:
        """The youth office the person acts for: the responsible one, else the receiving one."""
        if Relation.OWN_OFFICE in self.relations:
            return self.referral.youth_office_id
        if Relation.RECEIVING_OFFICE in self.relations:
            return self.referral.forwarded_to_id
        return None

    @property
    def is_lead(self) -> bool:
        """Lead of the responsible office."""
        return Relation.OWN_OFFICE in self.relations and self.referral.youth_office_id in self.actor.lead_office_ids

    @property
    def case_office_ids(self) -> set[int]:
        """The person's offices among the referral's (responsible, receiving): whose notes and
        attachments confided under § 65 SGB VIII they may read."""
        return self.actor.office_ids & {self.referral.youth_office_id, self.referral.forwarded_to_id}

    @property
    def membership(self) -> Membership | None:
        """The membership the person acts in on this referral (for the access log): their office's,
        else their station's or authority's, else the district coordinator's, else their first."""
        referral = self.referral
        rules = (
            (OFFICE_ROLES, {referral.youth_office_id, referral.forwarded_to_id} - {None}),
            ((Role.POLICE_OFFICER,), {referral.station_id}),
            ((Role.POLICE_COORDINATOR,), {referral.police_authority_id}),
        )
        for roles, agency_ids in rules:
            for membership in self.actor.in_roles(*roles):
                if membership.agency_id in agency_ids:
                    return membership
        return primary_membership(self.actor)


def primary_membership(actor: Actor) -> Membership | None:
    """The membership a person acts in when no referral says otherwise: office, police, district
    coordinator, else the first."""
    for roles in (OFFICE_ROLES, POLICE_ROLES, (Role.DISTRICT_COORDINATOR,)):
        memberships = actor.in_roles(*roles)
        if memberships:
            return memberships[0]
    return actor.memberships[0] if actor.memberships else None


def referral_access(user: Any, referral: Referral) -> ReferralAccess:
    """The access value of ``user`` (a user or an ``Actor``) to ``referral``: the one function that
    decides who a person is to a referral."""
    return ReferralAccess(actor_of(user), referral)


def referral_for(request: HttpRequest, pk: Any, *, queryset: QuerySet[Referral] | None = None) -> ReferralAccess:
    """The referral ``pk`` from ``request.user``'s scope (``queryset``, by default
    ``Referral.objects.visible_to``) with the person's access to it, else 404 — the same answer as for
    a nonexistent id. A refused attempt is written to the access log ("denied", with the requested
    id): the one place where pages and API look a referral up by id, so no view logs it on its own."""
    # Imported here: the access log builds on this module (``ReferralAccess.membership``).
    from .access_log import access_log_record

    if queryset is None:
        queryset = Referral.objects.visible_to(request.user)
    wellformed = str(pk).isdigit() and len(str(pk)) <= 18  # fits the log's integer column
    referral = one_or_none(queryset.filter(pk=pk)) if wellformed else None
    if referral is None:
        if wellformed:
            access_log_record(request=request, action=AccessLogEntry.Action.DENIED, obj_id=int(pk))
        raise Http404
    return referral_access(request.user, referral)
