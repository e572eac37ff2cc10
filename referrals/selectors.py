"""Reads of referrals for pages and API. Every function starts from ``Referral.objects.visible_to``."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BigIntegerField, Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Value, Window
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.directory import contact_person_of
from core.pagination import Page, keyset_page
from core.related import PERSON_NAME_FIELDS, attach_related

from .access import ReferralAccess
from .clocks import overdue_q
from .dashboard import figure_q as dashboard_figure_q
from .forms import INBOX_TABS, InboxFilterForm, InboxTab
from .models import (
    NO_DEADLINE,
    OPEN_STATUSES,
    Attachment,
    Child,
    Note,
    Referral,
    ReferralEvent,
    ReferralQuerySet,
    Status,
)
from .police_list import name_spellings

INBOX_ORDERING = ["urgency_rank", "submitted_at", "id"]
STATION_ORDERING = ["-created_at", "-id"]
TRIAGE_ORDERING = ["urgency_rank", "submitted_at", "id"]

LIST_RELATED = ("youth_office", "station", "assignee", "forwarded_to")

# The inbox page's rows (issue 12), read branch by branch: the columns templates/referrals/inbox.html
# shows (the clock and the tabs of a search hit read due_at, acknowledged_at, status, assignee_id), those
# ``ReferralAccess`` reads (the access log of a search), the sort orders' (``forms.INBOX_SORTS``; the
# ``inbox_*`` annotations are computed in the query) and the keys of the four names, which are read
# after the page (``with_list_names``). The tab counts aggregate and read no columns. A column left out
# here and read later costs one query per row (tests/test_inbox_*.py).
INBOX_LIST_FIELDS = (
    "id", "version", "reference", "status", "urgency", "urgency_rank", "concerns", "submitted_at", "received_at",
    "created_at", "due_at", "acknowledged_at", "created_by_id", "police_authority_id", "station", "youth_office",
    "forwarded_to", "assignee",
)  # fmt: skip

# The police list's rows (issue 12: the row query within 3x of the bare indexed one): the columns
# templates/referrals/station_list.html shows, those ``ReferralAccess`` reads (the access log of a
# search) and the ordering's; the receiving office's name is the one join. A column left out here and
# read later costs one query per row: the query-count pins of tests/test_police_*.py catch it.
STATION_LIST_FIELDS = (
    "id", "reference", "police_case_number", "status", "urgency", "created_at", "submitted_at", "assignee_id",
    "created_by_id", "station_id", "police_authority_id", "forwarded_to_id", "youth_office", "youth_office__name",
)  # fmt: skip


def inbox_for(user: Any, branch: QuerySet[Referral] | None = None) -> QuerySet[Referral]:
    """The inbox of the youth offices ``user`` works in: their referrals, and those forwarded to them
    and not yet accepted. ``branch``: one of ``inbox_branches(user)``, which is that part already."""
    if branch is not None:
        return branch.only(*INBOX_LIST_FIELDS)  # the names: ``with_list_names`` after the page
    office_ids = sorted(actor_of(user).office_ids)
    return (
        Referral.objects.visible_to(user)
        .filter(Q(youth_office_id__in=office_ids) | Q(forwarded_to_id__in=office_ids))
        .exclude(status=Status.DRAFT)
        .select_related(*LIST_RELATED)
    )


def with_list_names(referrals: list[Referral], fields: Iterable[str] = LIST_RELATED) -> list[Referral]:
    """The names a list shows of its rows — youth office, station, assignee, receiving office (or the
    ``fields`` the list shows) — read after the page (``core.related.attach_related``): one query for
    the agencies, one for the assignees, instead of four joins in every row query (issue 12: the row
    query is then the bare index range)."""
    attach_related(referrals, fields, only={get_user_model(): PERSON_NAME_FIELDS})
    return referrals


def inbox_branches(user: Any) -> list[ReferralQuerySet]:
    """The inbox as one queryset per office branch of the scope (``Referral.objects.inbox_branches``),
    for pages read branch by branch (``core.pagination.keyset_page``)."""
    return Referral.objects.inbox_branches(user)


def list_branches(user: Any) -> list[ReferralQuerySet]:
    """The person's scope as one queryset per branch (``Referral.objects.visible_branches``): the
    lists build their page from each and merge the pages in order (``core.pagination.keyset_page``)."""
    return Referral.objects.visible_branches(user)


def station_referrals_for(user: Any, scope: QuerySet[Referral] | None = None) -> QuerySet[Referral]:
    """What the person's station (officer) or authority (coordinator) filed, and their own drafts.
    ``scope``: one of ``list_branches(user)`` instead of the whole scope."""
    actor = actor_of(user)
    stations, authorities = sorted(actor.station_ids), sorted(actor.authority_ids)
    return (
        (Referral.objects.visible_to(user) if scope is None else scope)
        .filter(Q(station_id__in=stations) | Q(police_authority_id__in=authorities) | Q(created_by_id=user.pk))
        .select_related("youth_office")
        .only(*STATION_LIST_FIELDS)
    )


def triage_queue_for(user: Any) -> QuerySet[Referral]:
    """The district coordinator's triage queue."""
    if not actor_of(user).coordinator_district_ids:
        return Referral.objects.none()
    return Referral.objects.visible_to(user).filter(status=Status.TRIAGE).select_related(*LIST_RELATED)


def notes_for(access: ReferralAccess) -> QuerySet[Note]:
    """Internal notes an office member may read: those of the referral's offices (current, receiving),
    without notes confided under § 65 SGB VIII to another office. Police and coordinators: none."""
    office_ids = access.case_office_ids
    if not office_ids:
        return Note.objects.none()
    return (
        Note.objects.filter(referral=access.referral)
        .filter(Q(confidential=False) | Q(office_id__in=office_ids))
        .select_related("author", "office")
    )


def attachments_for(access: ReferralAccess) -> QuerySet[Attachment]:
    """Attachments, by the same rule as notes. Police read only what police attached — files of the
    filing station or authority (docs/domain.md "Rückfragen an die Polizei und Anhänge der Polizei")."""
    office_ids = access.case_office_ids
    if not office_ids:
        if access.is_police:
            police = {access.referral.station_id, access.referral.police_authority_id}
            return Attachment.objects.filter(referral=access.referral, office_id__in=police).select_related(
                "uploaded_by", "office", "followup"
            )
        return Attachment.objects.none()
    return (
        Attachment.objects.filter(referral=access.referral)
        .filter(Q(confidential=False) | Q(office_id__in=office_ids))
        .select_related("uploaded_by", "office")
    )


def timeline_for(access: ReferralAccess) -> QuerySet[ReferralEvent]:
    """The referral's history for its offices; police get the coded feedback instead."""
    if not access.case_office_ids:
        return ReferralEvent.objects.none()
    return access.referral.events.select_related("actor").order_by("at", "id")


class FeedbackCode:
    SUBMITTED = "submitted"
    TRIAGE = "triage"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    FORWARDED = "forwarded"
    CLOSED = "closed"
    HANDED_OVER = "handed_over"  # closed by a hand-over outside the system (referrals.handover)


POLICE_CODES: dict[str, str] = {
    Status.SUBMITTED: FeedbackCode.SUBMITTED,
    Status.TRIAGE: FeedbackCode.TRIAGE,
    Status.ACKNOWLEDGED: FeedbackCode.RECEIVED,
    Status.IN_ASSESSMENT: FeedbackCode.IN_PROGRESS,
    Status.FORWARDED: FeedbackCode.FORWARDED,
    Status.CLOSED: FeedbackCode.CLOSED,
}


def police_code(referral: Referral) -> str:
    """The code of the coded feedback by the referral's own columns, without a query (the police list
    shows it for every row). ``police_feedback`` adds the office and contact, and tells a closing by a
    hand-over outside the system (``handed_over``) from another closing."""
    code = POLICE_CODES[referral.status]
    if referral.assignee_id and code == FeedbackCode.RECEIVED:
        code = FeedbackCode.IN_PROGRESS
    return code


def police_feedback(referral: Referral) -> dict[str, Any] | None:
    """The coded status police may learn (Rückmeldung): received, in progress (office and contact
    person), forwarded to office X, closed — never the assessment, notes or attachments."""
    status = referral.status
    if status == Status.DRAFT:
        return None
    office = referral.youth_office
    contact_user = referral.assignee or referral.acknowledged_by
    contact = None
    if contact_user is not None and office is not None:
        contact = contact_person_of(contact_user, office)
    code = police_code(referral)
    target = referral.forwarded_to if status == Status.FORWARDED else office
    feedback = {
        "code": code,
        "office": {"id": target.pk, "name": target.name} if target else None,
        "contact": contact if status != Status.FORWARDED else None,
    }
    if status == Status.CLOSED and (recipient := _handed_over_to(referral)):
        feedback.update(code=FeedbackCode.HANDED_OVER, handed_over_to=recipient, contact=None)
    return feedback


def _handed_over_to(referral: Referral) -> str | None:
    """The office outside the system a closed referral was handed over to, if its last closing was
    that hand-over (one query: the latest closing, export or reopening in its history)."""
    last = (
        referral.events.filter(
            kind__in=[ReferralEvent.Kind.EXPORTED, ReferralEvent.Kind.CLOSED, ReferralEvent.Kind.REOPENED]
        )
        .order_by("-at", "-id")
        .values_list("kind", "data")
        .first()
    )
    if last is None or last[0] != ReferralEvent.Kind.EXPORTED:
        return None
    return (last[1] or {}).get("recipient") or None


# --- the office inbox: tabs, search, filters ---------------------------------------------------------


SEARCH_TERMS = 5


def tab_counts(user: Any, now: datetime.datetime, keys: Iterable[str]) -> dict[str, Count]:
    """The count of each tab of ``keys`` as an aggregate over the rows it is applied to."""
    return {key: Count("pk", filter=inbox_tab_q(key, user, now)) for key in keys}


def inbox_tab_q(tab: str, user: Any, now: datetime.datetime) -> Q:
    open_ = Q(status__in=OPEN_STATUSES)
    return {
        InboxTab.OPEN: open_,
        InboxTab.MINE: open_ & Q(assignee_id=user.pk),
        InboxTab.UNASSIGNED: open_ & Q(assignee__isnull=True),
        InboxTab.OVERDUE: overdue_q(now),
        # Screenings apart from assessments (issue 13 §1): the two stages of an acknowledged case.
        InboxTab.SCREENING: Q(status=Status.ACKNOWLEDGED),
        InboxTab.ASSESSMENT: Q(status=Status.IN_ASSESSMENT),
        InboxTab.CLOSED: Q(status=Status.CLOSED),
        InboxTab.ALL: Q(),
    }[tab]


def local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def search_q(term: str, office_ids: Iterable[int] = ()) -> Q:
    """One search word: part of the reference or the police case number, or of a child's first or
    last name. It only ever narrows referrals already in the person's scope: on PostgreSQL as an id
    list from the trigram indexes, elsewhere as an EXISTS subquery (no duplicate rows either way).

    ``office_ids``: the inbox's offices (``inbox_filtered``). On PostgreSQL the children are then
    matched first and per office — each office's own range of the trigram indexes that lead with
    the office (``Child.youth_office``, migration 0023), plus the children of the few cases
    forwarded to the office — so the search reads the office's matches, not every matching child of
    the district (issue 12). Without offices (other callers) every child is matched."""
    names = Q(first_name__icontains=term) | Q(last_name__icontains=term)
    # And the word's other German spellings, as the police list searches (QA of 2026-12-05: "Mueller"
    # found Müller there but not in the inbox): each one more contains-match on the same indexes.
    for spelling in name_spellings(term)[1:]:
        names |= Q(first_name__icontains=spelling) | Q(last_name__icontains=spelling)
    if connection.vendor == "postgresql":
        # Children first (issue 12): the matching children and referrals come from the trigram
        # indexes (migrations 0012, 0023) as one id list, which only narrows the person's scope. An
        # EXISTS inside the OR made PostgreSQL scan every child and every referral of the office.
        # One branch per office: a GIN index answers ``office = x``, not ``office IN (...)``; and
        # ``x`` as a bigint, the column's type (btree_gin has no cross-type operators before
        # PostgreSQL 18: with an int4 literal the office would be a filter after the index).
        if office_ids:
            children = [
                Child.objects.filter(names, youth_office_id=Cast(Value(office), BigIntegerField()))
                for office in sorted(office_ids)
            ]
            children.append(Child.objects.filter(names, referral__forwarded_to_id__in=sorted(office_ids)))
        else:
            children = [Child.objects.filter(names)]
        own = Referral.objects.filter(Q(reference__icontains=term) | Q(police_case_number__icontains=term))
        parts = [part.order_by().values("referral_id") for part in children]
        return Q(pk__in=parts[0].union(*parts[1:], own.order_by().values("pk"), all=True))
    named = Child.objects.filter(referral=OuterRef("pk")).filter(names)
    return Q(reference__icontains=term) | Q(police_case_number__icontains=term) | Q(Exists(named))


def concern_q(concern: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(concerns__contains=[concern])
    return Q(concerns__icontains=f'"{concern}"')  # SQLite: the JSON text holds the code in quotes


def inbox_filtered(user: Any, form: InboxFilterForm, branch: QuerySet[Referral] | None = None) -> QuerySet[Referral]:
    """The person's inbox (``selectors.inbox_for``: scope first) narrowed by search and filters —
    everything but the tab. ``inbox_received`` and ``inbox_due`` are never NULL, for sorting."""
    queryset = inbox_for(user, branch).annotate(
        inbox_received=Coalesce("received_at", "submitted_at", "created_at"),
        inbox_due=Coalesce("due_at", Value(NO_DEADLINE, output_field=DateTimeField())),
    )
    office_ids = actor_of(user).office_ids
    for term in form.value("q").split()[:SEARCH_TERMS]:
        queryset = queryset.filter(search_q(term, office_ids))
    if status := form.value("status"):
        queryset = queryset.filter(status=status)
    if urgency := form.value("urgency"):
        queryset = queryset.filter(urgency=urgency)
    if concern := form.value("concern"):
        queryset = queryset.filter(concern_q(concern))
    if (figure := form.value("figure")) and (figure_filter := dashboard_figure_q(figure, user, timezone.now())):
        queryset = queryset.filter(figure_filter)
    if start := form.value("received_from", None):
        queryset = queryset.filter(inbox_received__gte=local_midnight(start))
    if end := form.value("received_to", None):
        queryset = queryset.filter(inbox_received__lt=local_midnight(end + datetime.timedelta(days=1)))
    return queryset


# Above this many, the "closed" and "all" tabs say "more than 1,000" instead of an exact number.
TAB_COUNT_LIMIT = 1_000
CAPPED_TABS = (InboxTab.CLOSED, InboxTab.ALL)


def inbox_counts_and_branches(
    queryset: QuerySet[Referral],
    user: Any,
    now: datetime.datetime,
    branches: Iterable[QuerySet[Referral]] = (),
) -> tuple[dict[str, int], list[QuerySet[Referral]]]:
    """How many referrals each tab holds, and the ``branches`` that hold any (for the page: a branch
    without rows in "all" has none in any tab, so its page query is left out — for most offices the
    branch of cases forwarded to them, issue 12).

    The open tabs are counted exactly in one aggregate per branch over the open referrals only: on
    PostgreSQL an index-only scan of ``referral_inbox_open``, which also holds the columns the counts
    look at (migration 0026) — a few thousand entries per office at most, no table page read.
    "Closed" and "all" grow with the years, and nobody acts on their exact size: they are
    counted up to ``TAB_COUNT_LIMIT + 1`` and shown as "more than 1,000" above the limit
    (``tab_count_shown``). ``branches`` (disjoint, ``inbox_branches``): each counted on its own, so the
    count stops after ``TAB_COUNT_LIMIT + 1`` rows of one index range — with the OR across columns
    PostgreSQL first collects every referral of the office (issue 12, README "The database at a
    million referrals").

    A search counts its matches in the same query as its page (``inbox_search_page``)."""
    exact = [key for key, _label in INBOX_TABS if key not in CAPPED_TABS]
    parts = list(branches) or [queryset]
    counts = dict.fromkeys(exact, 0)
    for part in parts:  # each branch on its own: one index range each, counted from the index alone
        found = part.filter(status__in=OPEN_STATUSES).aggregate(**tab_counts(user, now, exact))
        counts = {key: counts[key] + found[key] for key in exact}
    occupied = parts
    for key in CAPPED_TABS:
        per_part = [
            part.filter(inbox_tab_q(key, user, now)).order_by().values("pk")[: TAB_COUNT_LIMIT + 1].count()
            for part in parts
        ]
        counts[key] = min(sum(per_part), TAB_COUNT_LIMIT + 1)
        if key == InboxTab.ALL:
            occupied = [part for part, count in zip(parts, per_part, strict=True) if count]
    return counts, occupied


COUNT_PREFIX = "search_count_"  # the window counts' annotations of ``inbox_search_page``


def inbox_search_page(
    filtered: QuerySet[Referral],
    user: Any,
    now: datetime.datetime,
    form: InboxFilterForm,
    cursor: str | None,
    size: int,
) -> tuple[Page, dict[str, int]]:
    """A search's page of the current tab and the counts of every tab in ONE query (issue 12).

    Each tab's count is a window over all the matches (``COUNT(…) FILTER (WHERE tab) OVER ()``); the
    tab and the cursor narrow the rows after the windows (Django's QUALIFY emulation: a subquery,
    filtered outside). The matches are few — children first, from the office's range of the trigram
    indexes (``search_q``) — and the page must read all of them anyway (the id list comes before the
    order), so the counts cost nothing more than the page; before, an aggregate read them a second
    time. The whole scope is read as one (``filtered``): the id list, not the office's index range,
    drives the plan. When the tab's page is empty no row brings the windows back, so the counts are
    taken by one aggregate over the matches: two queries then.
    ``InvalidCursor`` for an edited cursor (``core.pagination.keyset_page``)."""
    every_tab = [key for key, _label in INBOX_TABS]
    windows = {f"{COUNT_PREFIX}{key}": Window(count) for key, count in tab_counts(user, now, every_tab).items()}
    every = f"{COUNT_PREFIX}{InboxTab.ALL}"  # at least 1 on every row: the condition that moves a filter outside
    counted = filtered.select_related(None).only(*INBOX_LIST_FIELDS).annotate(**windows)  # names: after the page
    if tab := inbox_tab_q(form.current_tab, user, now):  # "all" has no condition
        counted = counted.filter(Q(tab) | Q(**{every: 0}))
    page = keyset_page(counted, ordering=form.ordering, cursor=cursor, size=size, after_window=every)
    if page.items:
        return page, {key: getattr(page.items[0], f"{COUNT_PREFIX}{key}") for key in every_tab}
    return page, filtered.aggregate(**tab_counts(user, now, every_tab))


def tab_count_shown(count: int) -> int | str:
    """What a tab shows: the exact number up to ``TAB_COUNT_LIMIT``, else "more than 1,000"."""
    if count > TAB_COUNT_LIMIT:
        return _("more than %(count)s") % {"count": number_format(TAB_COUNT_LIMIT, force_grouping=True)}
    return count
