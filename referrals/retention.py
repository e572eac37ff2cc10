"""Retention of closed referrals (§ 9b SGB VIII, data minimisation; docs/domain.md "Aufbewahrung und Sitzungen").

Each office keeps its closed referrals as long as its ``RetentionRule`` for the referral's outcome
says, counted from ``closed_at``. The office is the youth office the referral was sent to or — for a
referral the district coordinator handed over from the triage queue to an office outside the system,
which never reached a youth office — the district's coordination office (its only outcome is
``handed_over``). A daily beat job (``tasks.retention_delete``) deletes what is due, each referral in
its own transaction, with everything that hangs on it — children, persons, history, assessments,
notes, attachments and their files, follow-ups, fingerprints, escalations, grants and the
notifications that link to it. What remains is an anonymous count in ``RetentionStatistic`` and a
``DeletionRecord`` (reference, office, rule, time). The outcome is the one stored on the referral
when it was closed (``Referral.retention_outcome``, rule in ``referrals.retention_outcome``), so the
dry run and the job read an index range instead of computing it per referral (issue 12).

The same job deletes drafts that were never submitted and not changed for ``DRAFT_RETENTION_DAYS``
(setting, default 30): they hold children's data nobody but their author can see. Only a
``DeletionRecord`` remains (reference, station, no rule), no statistic — nothing was ever reported.

A system job: there is no user, so it does not go through ``Referral.objects.visible_to``; the
dry run shown to a lead or district coordinator is limited to the offices whose rules that person
sets (``retention_office_ids``).
"""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import Agency, AgencyKind, Role
from core.pagination import InvalidCursor, keyset_page, rows_after
from core.storage import file_deletions_schedule
from notifications.models import Notification

from .models import (
    DEFAULT_RETENTION_DAYS,
    DeletionRecord,
    Referral,
    RetentionOutcome,
    RetentionRule,
    RetentionStatistic,
    Status,
)
from .statistics import statistic_rows_keep

logger = logging.getLogger(__name__)


def rules_in_force(*, office: Agency, day: datetime.date) -> dict[str, RetentionRule]:
    """Per outcome the office's rule in force on ``day``: the latest ``valid_from`` not after it."""
    rules = RetentionRule.objects.filter(office=office, valid_from__lte=day).order_by(
        "outcome", "-valid_from", "-created_at", "-id"
    )
    in_force: dict[str, RetentionRule] = {}
    for rule in rules:
        in_force.setdefault(rule.outcome, rule)
    return in_force


# Who sets the retention rules of which kind of office.
RETENTION_ROLE = {AgencyKind.YOUTH_OFFICE: Role.OFFICE_LEAD, AgencyKind.COORDINATION: Role.DISTRICT_COORDINATOR}


def retention_office_ids(user) -> list[int]:
    """The offices whose retention rules ``user`` sets: the youth offices they lead and the
    coordination offices they work in as district coordinator."""
    return sorted({m.agency_id for m in actor_of(user).memberships if RETENTION_ROLE.get(m.agency.kind) == m.role})


def _keeps_district_handovers(office: Agency) -> bool:
    """Whether this coordination office holds the referrals its district handed over from triage:
    the district's coordination office (with several, the first one created)."""
    return not Agency.objects.filter(
        kind=AgencyKind.COORDINATION, district_id=office.district_id, pk__lt=office.pk
    ).exists()


def _closed_of(office: Agency) -> QuerySet[Referral]:
    closed = Referral.objects.filter(status=Status.CLOSED, closed_at__isnull=False)
    if office.kind == AgencyKind.COORDINATION:
        # Handed over from the triage queue (referral_export): closed without ever reaching a youth office.
        if _keeps_district_handovers(office):
            closed = closed.filter(youth_office__isnull=True, police_authority__district_id=office.district_id)
        else:
            closed = closed.none()
    else:
        closed = closed.filter(youth_office=office)
    return closed


def _due_q(rules: dict[str, RetentionRule], at: datetime.datetime) -> Q:
    """The stored outcome (``Referral.retention_outcome``, written at closing) and ``closed_at``:
    per outcome one range of the index ``referral_retention``."""
    due = Q(pk__in=[])  # no rule, nothing due
    for outcome, rule in rules.items():
        due |= Q(retention_outcome=outcome, closed_at__lte=at - datetime.timedelta(days=rule.keep_days))
    return due


def retention_due(*, office: Agency, now: datetime.datetime | None = None) -> list[int]:
    """Ids of the office's closed referrals whose ``closed_at`` + ``keep_days`` of the rule in force
    today (for their outcome) is past. Rules whose ``valid_from`` lies after today do not count."""
    now = now or timezone.now()
    rules = rules_in_force(office=office, day=timezone.localdate(now))
    return list(_closed_of(office).filter(_due_q(rules, now)).order_by("closed_at", "id").values_list("pk", flat=True))


def dry_run_moment(rule: RetentionRule) -> datetime.datetime:
    """The moment a rule's dry run is computed for: the start (local midnight) of its first day."""
    return timezone.make_aware(datetime.datetime.combine(rule.valid_from, datetime.time.min))


# How many referrals a dry run lists per page; the rest is counted ("… and 1,234 more") and paged by
# keyset on (closed_at, id), so a page costs the same however many are due (issue 12).
DRY_RUN_SHOWN = 50
DRY_RUN_ORDERING = ["closed_at", "id"]


@dataclasses.dataclass(frozen=True)
class DryRun:
    """A page of a rule's dry run: ``count`` due in all, ``referrals`` the page (oldest closing
    first), ``more`` how many are due after it and ``next_after`` the cursor of the next page."""

    count: int
    referrals: list[Referral]
    more: int
    next_after: str | None


def retention_dry_run(
    *, rule: RetentionRule, after: str | None = None, limit: int | None = None, strict: bool = False
) -> DryRun:
    """The office's closed referrals of the rule's outcome that the rule would delete on its first
    day, as they stand now: ``closed_at`` + ``keep_days`` not after the start of ``valid_from``.

    One range of the index ``referral_retention``: the number due is counted over it (an index-only
    count), and only ``limit`` (``DRY_RUN_SHOWN``) referrals are read, from the keyset cursor ``after``
    on (``core.pagination``, like every list) — the page never reads the referrals before it. The rest
    after the page is counted too, for "… and X more". A malformed cursor starts with the oldest on the
    page; with ``strict`` (the API) it is refused."""
    limit = limit or DRY_RUN_SHOWN
    due = _closed_of(rule.office).filter(_due_q({rule.outcome: rule}, dry_run_moment(rule)))
    count = due.count()
    shown = due.only("pk", "reference", "closed_at")
    try:
        page = keyset_page(shown, ordering=DRY_RUN_ORDERING, cursor=after, size=limit)
    except InvalidCursor:
        if strict:  # the API refuses an edited cursor, as its lists do (QA of 2026-12-05)
            raise ValidationError({"after": [_("Invalid cursor: reload the list.")]}) from None
        page, after = keyset_page(shown, ordering=DRY_RUN_ORDERING, cursor=None, size=limit), None
    if not after:  # the first page: the rest is what the count leaves
        more = count - len(page.items)
    else:
        more = rows_after(due, DRY_RUN_ORDERING, page.items[-1]).count() if page.has_next else 0
    return DryRun(count=count, referrals=page.items, more=more, next_after=page.next_cursor)


def rules_for_lead(user) -> QuerySet[RetentionRule]:
    """The retention rules of the offices whose rules ``user`` sets (``retention_office_ids``: office
    leads, district coordinators) — the only way pages and the API reach rules; everyone else gets none."""
    return RetentionRule.objects.filter(office_id__in=retention_office_ids(user)).select_related("office", "created_by")


def retention_rule_check(
    *, user, office: Agency, outcome: str, keep_days: int, valid_from: datetime.date
) -> RetentionRule:
    """The rule a lead is about to add, checked and not saved — what the page shows with its dry run
    before asking to confirm (``retention_rule_create`` saves it). A lead adds rules for their office,
    the district coordinator for the coordination office (``handed_over`` only). It must start in the
    future: a rule never applies retroactively, and the person sees its dry run before its first day."""
    if office.pk not in retention_office_ids(user):
        raise PermissionDenied(
            _("Only the office's lead (the district coordinator for the coordination office) sets its retention rules.")
        )
    if valid_from <= timezone.localdate():
        raise ValidationError({"valid_from": [_("A new rule must start in the future (tomorrow at the earliest).")]})
    if RetentionRule.objects.filter(office=office, outcome=outcome, valid_from=valid_from).exists():
        raise ValidationError(
            {"valid_from": [_("A rule for this outcome already starts on this day. Choose another day.")]}
        )
    rule = RetentionRule(office=office, outcome=outcome, keep_days=keep_days, valid_from=valid_from, created_by=user)
    rule.full_clean(exclude=["created_by"])
    return rule


def retention_rule_create(
    *, user, office: Agency, outcome: str, keep_days: int, valid_from: datetime.date
) -> RetentionRule:
    """Add the rule (``retention_rule_check``)."""
    rule = retention_rule_check(user=user, office=office, outcome=outcome, keep_days=keep_days, valid_from=valid_from)
    rule.save()
    return rule


def retention_rule_withdraw(*, user, rule: RetentionRule) -> None:
    """A rule not yet in force is withdrawn by whoever sets the office's rules (it never applied: it
    is removed). A rule in force or replaced stays: it is the record of what was deleted under it."""
    if rule.office_id not in retention_office_ids(user):
        raise PermissionDenied
    if rule.valid_from <= timezone.localdate():
        raise ValidationError({"rule": [_("Only a rule that is not yet in force can be withdrawn.")]})
    logger.info("retention rule %s of office %s withdrawn by person %s", rule.pk, rule.office_id, user.pk)
    rule.delete()


def retention_rules_seed_offices(sender, *, offices, **kwargs) -> None:
    """``agencies.services.offices_seeded``: default retention per outcome for every seeded office,
    only where none is set (a coordination office: the referrals it hands over from triage)."""
    for office in offices:
        retention_rules_seed(office=office)


def retention_rules_seed(*, office: Agency, valid_from: datetime.date | None = None) -> int:
    """Create the default rules (``DEFAULT_RETENTION_DAYS``) for every outcome that has no rule in
    ``office`` yet — a coordination office only for ``handed_over``, its only outcome; idempotent.
    Returns how many were created."""
    valid_from = valid_from or timezone.localdate()
    defaults = DEFAULT_RETENTION_DAYS
    if office.kind == AgencyKind.COORDINATION:
        defaults = {RetentionOutcome.HANDED_OVER: DEFAULT_RETENTION_DAYS[RetentionOutcome.HANDED_OVER]}
    existing = set(RetentionRule.objects.filter(office=office).values_list("outcome", flat=True))
    missing = [
        RetentionRule(office=office, outcome=outcome, keep_days=days, valid_from=valid_from)
        for outcome, days in defaults.items()
        if outcome not in existing
    ]
    RetentionRule.objects.bulk_create(missing)
    return len(missing)


def _count_statistic(*, office_id: int, year: int, urgency: str, concerns: str, outcome: str, children: int) -> None:
    key = {"office_id": office_id, "year": year, "urgency": urgency, "concerns": concerns, "outcome": outcome}
    add = {"referrals": F("referrals") + 1, "children": F("children") + children}
    if not RetentionStatistic.objects.filter(**key).update(**add):
        try:
            with transaction.atomic():
                RetentionStatistic.objects.create(**key, referrals=1, children=children)
        except IntegrityError:  # created by a concurrent run in the meantime: count on it
            RetentionStatistic.objects.filter(**key).update(**add)


def _purge(referral: Referral) -> None:
    """Delete ``referral`` with everything that hangs on it: the notifications that link to it, the
    rows that cascade from it, and — after the commit — its attachment files."""
    files = [name for name in referral.attachments.values_list("file", flat=True) if name]
    link = reverse("referrals:detail", args=[referral.pk])
    Notification.objects.filter(link__startswith=link).delete()
    statistic_rows_keep(referral)  # the § 8a statistics records survive as anonymous rows (issue 13 §3)
    referral.delete()  # cascades to everything that hangs on it
    # Recorded in this transaction, deleted from the store after the commit; a failure is retried
    # by a beat job until the file is gone (core.storage).
    file_deletions_schedule(field="referrals.Attachment.file", names=files)


def _delete_one(*, pk: int, office: Agency, now: datetime.datetime) -> bool:
    """Delete one due referral in its own transaction; False if it is gone or no longer due."""
    with transaction.atomic():
        if not Referral.objects.select_for_update().filter(pk=pk).exists():
            return False  # deleted by a concurrent run
        rules = rules_in_force(office=office, day=timezone.localdate(now))
        referral = (
            _closed_of(office)
            .filter(_due_q(rules, now), pk=pk)
            .annotate(children_count=Count("children", distinct=True))
            .first()
        )
        if referral is None:
            return False  # reopened or changed since it was found
        rule = rules[referral.retention_outcome]
        receipt = referral.received_at or referral.submitted_at or referral.created_at
        _count_statistic(
            office_id=office.pk,
            year=timezone.localtime(receipt).year,
            urgency=referral.urgency,
            concerns=",".join(sorted(set(referral.concerns or []))),
            outcome=referral.retention_outcome,
            children=referral.children_count,
        )
        DeletionRecord.objects.create(reference=referral.reference, office=office, rule=rule, deleted_at=now)
        _purge(referral)
    return True


def draft_retention_days() -> int:
    """How many days a draft is kept without a change (setting ``DRAFT_RETENTION_DAYS``, default 30)."""
    return max(1, settings.DRAFT_RETENTION_DAYS)


def _stale_drafts(now: datetime.datetime) -> QuerySet[Referral]:
    cutoff = now - datetime.timedelta(days=draft_retention_days())
    return Referral.objects.filter(status=Status.DRAFT, updated_at__lte=cutoff)


def drafts_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Ids of the drafts (never submitted) whose last change (``updated_at``) is older than
    ``DRAFT_RETENTION_DAYS``."""
    now = now or timezone.now()
    return list(_stale_drafts(now).order_by("updated_at", "id").values_list("pk", flat=True))


def _delete_draft(*, pk: int, now: datetime.datetime) -> bool:
    """Delete one stale draft in its own transaction; False if it is gone, submitted or changed since."""
    with transaction.atomic():
        draft = _stale_drafts(now).select_for_update().filter(pk=pk).first()
        if draft is None:
            return False
        DeletionRecord.objects.create(reference=draft.reference, office_id=draft.station_id, rule=None, deleted_at=now)
        _purge(draft)
    return True


def retention_delete(*, now: datetime.datetime | None = None) -> int:
    """Delete every referral that is due in any youth office or coordination office, and every stale
    draft (beat, daily); returns how many.

    Each referral in its own transaction: a failure leaves that one for the next run and the rest
    deleted. Running twice deletes once (a deleted referral is no longer found)."""
    now = now or timezone.now()
    deleted = 0
    offices = Agency.objects.filter(kind__in=list(RETENTION_ROLE)).order_by("pk")  # inactive offices too
    for office in offices:
        for pk in retention_due(office=office, now=now):
            try:
                deleted += _delete_one(pk=pk, office=office, now=now)
            except Exception:  # keep deleting the others; the next run tries this one again
                logger.exception("retention: deleting referral id %s failed", pk)
    drafts = 0
    for pk in drafts_due(now=now):
        try:
            drafts += _delete_draft(pk=pk, now=now)
        except Exception:  # as above
            logger.exception("retention: deleting draft id %s failed", pk)
    if deleted or drafts:
        logger.info("retention: %d referrals and %d drafts deleted", deleted, drafts)
    return deleted + drafts
