"""The actor: a person together with their memberships, loaded once per request.

Every access rule of the system is built on memberships (docs/domain.md, "Wer sieht was"). Instead of
each page, service and selector asking the database — or filtering the membership list on its own —
they ask the actor: ``actor_of(request.user)`` loads the active memberships once and keeps them on the
user object, which Django builds once per request. What a person may do with one referral is decided
from the actor by ``referrals.access.referral_access``; this module knows nothing of referrals, so
that ``agencies`` never imports ``referrals``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import OFFICE_ROLES, POLICE_ROLES, Agency, Membership, Role, memberships_of

__all__ = ["Actor", "actor_of"]


class Actor:
    """A person and their active memberships (none for anonymous or deactivated people)."""

    __slots__ = ("memberships", "user")

    def __init__(self, user: Any, memberships: Iterable[Membership]) -> None:
        self.user = user
        self.memberships: tuple[Membership, ...] = tuple(memberships)

    def __repr__(self) -> str:
        return f"<Actor {getattr(self.user, 'pk', None)}: {len(self.memberships)} memberships>"

    @property
    def pk(self) -> int | None:
        return getattr(self.user, "pk", None)

    # --- questions every app asks ---------------------------------------------------------------

    def has_role(self, *roles: str) -> bool:
        """Whether the person holds any of ``roles`` in any agency."""
        return any(m.role in roles for m in self.memberships)

    def in_roles(self, *roles: str) -> list[Membership]:
        """The memberships in one of ``roles`` (all memberships when no role is named)."""
        return [m for m in self.memberships if not roles or m.role in roles]

    def agency_ids(self, *roles: str) -> set[int]:
        """Ids of the agencies in which the person holds one of ``roles`` (any role if none named)."""
        return {m.agency_id for m in self.in_roles(*roles)}

    def district_ids(self, *roles: str) -> set[int]:
        """Ids of the districts of those agencies."""
        return {m.agency.district_id for m in self.in_roles(*roles)}

    def agencies(self, *roles: str) -> list[Agency]:
        seen: dict[int, Agency] = {}
        for membership in self.in_roles(*roles):
            seen.setdefault(membership.agency_id, membership.agency)
        return list(seen.values())

    @property
    def office_ids(self) -> set[int]:
        """Youth offices the person works in (caseworker or lead)."""
        return self.agency_ids(*OFFICE_ROLES)

    @property
    def lead_office_ids(self) -> set[int]:
        return self.agency_ids(Role.OFFICE_LEAD)

    @property
    def station_ids(self) -> set[int]:
        return self.agency_ids(Role.POLICE_OFFICER)

    @property
    def authority_ids(self) -> set[int]:
        return self.agency_ids(Role.POLICE_COORDINATOR)

    @property
    def police_agency_ids(self) -> set[int]:
        return self.agency_ids(*POLICE_ROLES)

    @property
    def coordinator_district_ids(self) -> set[int]:
        """Districts whose coordination office the person works in (triage queue)."""
        return self.district_ids(Role.DISTRICT_COORDINATOR)


def actor_of(user: Any) -> Actor:
    """The actor for ``user`` — its memberships loaded with one query, then kept on the user object
    (one per request), so every later question in the request costs nothing. Accepts an ``Actor``
    too, so services can be called with either."""
    if isinstance(user, Actor):
        return user
    cached = getattr(user, "_actor", None)
    if isinstance(cached, Actor):
        return cached
    actor = Actor(user, memberships_of(user))
    if user is not None and getattr(user, "is_authenticated", False):
        user._actor = actor
    return actor
