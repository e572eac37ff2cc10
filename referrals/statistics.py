"""The § 8a statistic as a by-product of the casework (issue 13 §3; columns and codes in
docs/statistik-8a.md).

One record per child per assessment signed off in the year (§ 99 Abs. 6, §§ 101–102 SGB VIII: reported
when the assessment ends), built from the children's parts of the assessments (``AssessmentChild``) and
what police filed (sex and date of birth of the child, the parents' dates of birth), plus the derived
fields: month/year the assessment ended, age groups of mother and father, source of the hint
(police), and the repeated notice on the same child in the same calendar year at this office — read
from the repeat check's fingerprints (``ChildFingerprint``), exactly as the repeat check compares
children. Screenings never produce a record.

A case deleted under the retention rules leaves its records behind as anonymous rows
(``StatisticRecord``: codes only, no names, no ids of the case), written by ``statistic_rows_keep``
just before the deletion, so a year's export survives deletions.

Queries per export: a fixed number, whatever the year holds (children's parts with their assessment,
child and referral in one query; the parents in one; the fingerprints in one; the kept rows in one).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter
from dataclasses import asdict, dataclass, fields

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import Agency, AgencyKind

from .assessment_children import child_part_problems
from .assessment_models import AssessmentChild, EndangermentKind, StatisticRecord
from .models import Assessment, ChildFingerprint, Person, PersonRole, Sex
from .services import child_digest

SOURCE_POLICE = "1"  # Polizei/Ordnungsbehörde (docs/statistik-8a.md, "Quelle des Hinweises")
SUPPRESS_BELOW = 3

SEX = {Sex.MALE: "1", Sex.FEMALE: "2", Sex.DIVERSE: "3", Sex.UNKNOWN: "4"}
RESULT = {"acute_risk": "1", "latent_risk": "2", "support_need": "3", "no_risk_no_need": "4"}
RESIDENCE = {
    "both_parents": "1", "single_parent": "2", "parent_new_partner": "3", "relatives": "4", "foster_family": "5",
    "residential_care": "6", "other_unknown": "7",
}  # fmt: skip
YES_NO_UNKNOWN = {"yes": "1", "no": "2", "unknown": "9"}
PARENT_AGE_GROUPS = ("1", "2", "3", "9")  # under 18, 18–26, 27 and over, unknown
CHILD_AGE_GROUPS = (
    ("0-2", 0, 3), ("3-5", 3, 6), ("6-9", 6, 10), ("10-13", 10, 14), ("14-17", 14, 18), ("18+", 18, 200),
)  # fmt: skip


@dataclass
class Record:
    """One line of the export (docs/statistik-8a.md, "Spalten"). All values are codes (strings)."""

    jahr_ende: str
    monat_ende: str
    geschlecht: str
    geburtsmonat: str
    geburtsjahr: str
    aufenthalt: str
    alter_mutter: str
    alter_vater: str
    herkunft_ausland: str
    deutsch: str
    quelle: str
    wiederholt: str
    hilfe_vorher: str
    ergebnis: str
    vernachlaessigung: str
    koerperlich: str
    psychisch: str
    sexuell: str
    gefahr_von: str
    hilfe_neu: str


COLUMNS = [f.name for f in fields(Record)]
KIND_COLUMNS = {
    EndangermentKind.NEGLECT: "vernachlaessigung",
    EndangermentKind.PHYSICAL: "koerperlich",
    EndangermentKind.PSYCHOLOGICAL: "psychisch",
    EndangermentKind.SEXUAL: "sexuell",
}


@dataclass
class Problem:
    referral_id: int
    reference: str
    child_number: int  # the child's position in the referral (no name in the report's URL or log)
    messages: list[str]
    link: str


def year_bounds(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    """The calendar year in German local time, as aware datetimes [start, end)."""
    start = timezone.make_aware(datetime.datetime(year, 1, 1))
    end = timezone.make_aware(datetime.datetime(year + 1, 1, 1))
    return start, end


def _age(born: datetime.date | None, on: datetime.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def parent_age_group(born: datetime.date | None, on: datetime.date) -> str:
    age = _age(born, on)
    if age is None:
        return "9"
    if age < 18:
        return "1"
    return "2" if age < 27 else "3"


def child_age_group(record: Record) -> str:
    """The child's age in whole years when the assessment ended (from month/year of birth)."""
    if not (record.geburtsjahr and record.jahr_ende):
        return "?"
    months = (
        (int(record.jahr_ende) - int(record.geburtsjahr)) * 12 + int(record.monat_ende) - int(record.geburtsmonat or 1)
    )
    years = months // 12
    return next((name for name, low, high in CHILD_AGE_GROUPS if low <= years < high), "?")


def _codes(values, mapping=None) -> str:
    return "|".join(sorted(mapping.get(v, v) if mapping else v for v in values or []))


def _superseded():
    """A signed-off assessment revised later (a new assessment of the same referral, signed off
    after it) is one assessment corrected, not a second one: only the last signed-off version of a
    referral gives records. This is also how an incomplete record of a signed-off assessment is
    fixed — revise it, sign the revision off — without a second record beside the old one."""
    return Exists(
        Assessment.objects.filter(
            referral_id=OuterRef("assessment__referral_id"), signed_off_at__gt=OuterRef("assessment__signed_off_at")
        )
    )


def _parts(office_id: int, year: int):
    start, end = year_bounds(year)
    return (
        AssessmentChild.objects.filter(
            assessment__referral__youth_office_id=office_id,
            assessment__signed_off_at__gte=start,
            assessment__signed_off_at__lt=end,
        )
        .exclude(_superseded())
        .select_related("assessment", "child", "assessment__referral")
        .order_by("assessment__signed_off_at", "assessment_id", "child_id")
    )


def record_of(part: AssessmentChild, parents: dict, repeated: bool) -> Record:
    """The record of one child's part (its assessment signed off), with the derived fields."""
    child, assessment, referral = part.child, part.assessment, part.assessment.referral
    ended = timezone.localtime(assessment.signed_off_at)
    noticed = timezone.localtime(referral.received_at or referral.submitted_at or referral.created_at).date()
    born_month = child.date_of_birth.month if child.date_of_birth else part.birth_month
    born_year = child.date_of_birth.year if child.date_of_birth else part.birth_year
    mother, father = parents.get((referral.pk, PersonRole.MOTHER)), parents.get((referral.pk, PersonRole.FATHER))
    kinds = set(part.kinds or [])
    return Record(
        jahr_ende=str(ended.year),
        monat_ende=str(ended.month),
        geschlecht=SEX.get(child.sex, "4"),
        geburtsmonat=str(born_month or ""),
        geburtsjahr=str(born_year or ""),
        aufenthalt=RESIDENCE.get(part.residence, ""),
        alter_mutter=parent_age_group(mother, noticed) if (referral.pk, PersonRole.MOTHER) in parents else "9",
        alter_vater=parent_age_group(father, noticed) if (referral.pk, PersonRole.FATHER) in parents else "9",
        herkunft_ausland=YES_NO_UNKNOWN.get(part.foreign_origin, ""),
        deutsch={True: "1", False: "2"}.get(part.german_spoken, ""),
        quelle=SOURCE_POLICE,
        wiederholt="1" if repeated else "0",
        hilfe_vorher=_codes(part.help_before),
        ergebnis=RESULT.get(part.result, ""),
        **{column: "1" if kind in kinds else "0" for kind, column in KIND_COLUMNS.items()},
        gefahr_von=_codes(part.danger_from),
        hilfe_neu=_codes(part.help_new),
    )


def _parents(referral_ids: set[int]) -> dict:
    """(referral, role) → date of birth of the first mother/father named (one query)."""
    found: dict = {}
    rows = Person.objects.filter(referral_id__in=referral_ids, role__in=[PersonRole.MOTHER, PersonRole.FATHER])
    for referral_id, role, born in rows.order_by("id").values_list("referral_id", "role", "date_of_birth"):
        found.setdefault((referral_id, role), born)
    return found


def _repeated(parts: list[AssessmentChild], office_id: int) -> set[int]:
    """Ids of the parts whose child was referred to this office earlier in the same calendar year:
    an earlier fingerprint of the same digest at this office, received in the year of this referral's
    own fingerprint (the repeat check's rows; docs/domain.md "Wiederholte Mitteilungen"). A child
    without a fingerprint (no date of birth, a name without letters) is never a repeat."""
    digests = {}
    for part in parts:
        child = part.child
        digest = child_digest(first_name=child.first_name, last_name=child.last_name, date_of_birth=child.date_of_birth)
        if digest:
            digests[part.pk] = digest
    if not digests:
        return set()
    rows = ChildFingerprint.objects.filter(digest__in=set(digests.values()), office_id=office_id).values_list(
        "digest", "referral_id", "received_at"
    )
    by_digest: dict[str, list] = {}
    for digest, referral_id, received in rows:
        by_digest.setdefault(digest, []).append((referral_id, timezone.localtime(received)))
    repeated = set()
    for part in parts:
        digest = digests.get(part.pk)
        if digest is None:
            continue
        receipts = by_digest.get(digest, [])
        own = [at for referral_id, at in receipts if referral_id == part.assessment.referral_id]
        if not own:
            continue
        first = min(own)
        if any(
            at < first and at.year == first.year
            for referral_id, at in receipts
            if referral_id != part.assessment.referral_id
        ):
            repeated.add(part.pk)
    return repeated


def _without_parts(office_id: int, year: int) -> list[Problem]:
    """Signed-off assessments of the year recorded the old way (one outcome, no children's parts; the
    API still takes them): they give no record, so the statistic is not complete without them
    (QA of 2026-12-05: it said complete). One query; ``child_number`` 0 is the whole assessment."""
    start, end = year_bounds(year)
    later = Assessment.objects.filter(referral_id=OuterRef("referral_id"), signed_off_at__gt=OuterRef("signed_off_at"))
    rows = (
        Assessment.objects.filter(referral__youth_office_id=office_id, signed_off_at__gte=start, signed_off_at__lt=end)
        .exclude(Exists(later))  # revised and signed off again: only the last one counts (``_superseded``)
        .exclude(Exists(AssessmentChild.objects.filter(assessment_id=OuterRef("pk"))))
        .order_by("signed_off_at", "id")
        .values_list("referral_id", "referral__reference")
    )
    message = _("Recorded without the children's parts: revise the assessment per child and have it signed off.")
    return [
        Problem(
            referral_id=referral_id,
            reference=reference,
            child_number=0,
            messages=[str(message)],
            link=reverse("referrals:detail", args=[referral_id]) + "#assessment-title",
        )
        for referral_id, reference in rows
    ]


def statistics_8a(*, office_id: int, year: int) -> tuple[list[Record], list[Problem]]:
    """The year's records of one office (live ones from the casework, then the rows kept from deleted
    cases) and the validation report: every live record that is incomplete or contradictory."""
    parts = list(_parts(office_id, year))
    parents = _parents({p.assessment.referral_id for p in parts})
    repeated = _repeated(parts, office_id)
    records, problems = [], []
    positions: dict[int, dict[int, int]] = {}
    for part in parts:
        records.append(record_of(part, parents, part.pk in repeated))
        found = child_part_problems(part, part.child)
        if found:
            referral = part.assessment.referral
            number = positions.setdefault(referral.pk, {}).setdefault(part.child_id, 0)
            if not number:
                number = positions[referral.pk][part.child_id] = len(positions[referral.pk])
            problems.append(
                Problem(
                    referral_id=referral.pk,
                    reference=referral.reference,
                    child_number=number,
                    messages=[text for texts in found.values() for text in texts],
                    link=reverse("referrals:detail", args=[referral.pk]) + "#assessment-title",
                )
            )
    problems += _without_parts(office_id, year)
    kept = StatisticRecord.objects.filter(office_id=office_id, jahr_ende=str(year)).order_by("monat_ende", "id")
    records += [Record(**{c: getattr(row, c) for c in COLUMNS}) for row in kept]
    return records, problems


def csv_of(records: list[Record]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", delimiter=";")
    writer.writeheader()
    for record in records:
        writer.writerow(asdict(record))
    return out.getvalue()


RESULT_LABELS = {"1": "acute_risk", "2": "latent_risk", "3": "support_need", "4": "no_risk_no_need"}


def summary(records: list[Record], *, suppress: bool = False) -> dict:
    """Counts per result × kind × age group of the child (a record of an endangerment counts once per
    kind given; the others under kind "–"). ``suppress``: figures shown beyond the office (district)
    show cells below 3 as None (docs/statistik-8a.md, "Geheimhaltung")."""
    counts: Counter = Counter()
    for record in records:
        kinds = [str(kind.value) for kind, column in KIND_COLUMNS.items() if getattr(record, column) == "1"] or ["-"]
        for kind in kinds:
            counts[(record.ergebnis, kind, child_age_group(record))] += 1
    groups = [name for name, _low, _high in CHILD_AGE_GROUPS] + ["?"]
    rows = []
    for result, kind in sorted({(r, k) for r, k, _g in counts}):
        cells = [counts.get((result, kind, group), 0) for group in groups]
        total = sum(cells)
        if suppress:
            cells = [None if 0 < c < SUPPRESS_BELOW else c for c in cells]
            total = None if 0 < total < SUPPRESS_BELOW else total
        rows.append({"result": RESULT_LABELS.get(result, result), "kind": kind, "cells": cells, "total": total})
    return {"age_groups": groups, "rows": rows, "suppressed": suppress}


def statistic_rows_keep(referral) -> int:
    """Before ``referral`` is deleted under the retention rules: its records as anonymous rows
    (``StatisticRecord``) — codes only, nothing that names the case. Returns how many."""
    parts = list(
        AssessmentChild.objects.filter(assessment__referral=referral, assessment__signed_off_at__isnull=False)
        .exclude(_superseded())
        .select_related("assessment", "child", "assessment__referral")
        .order_by("assessment__signed_off_at", "child_id")
    )
    if not parts or referral.youth_office_id is None:
        return 0
    parents = _parents({referral.pk})
    repeated = _repeated(parts, referral.youth_office_id)
    rows = [
        StatisticRecord(office_id=referral.youth_office_id, **asdict(record_of(p, parents, p.pk in repeated)))
        for p in parts
    ]
    StatisticRecord.objects.bulk_create(rows)
    return len(rows)


def lead_statistics_offices(user) -> list[int]:
    return sorted(actor_of(user).lead_office_ids)


def district_statistics(*, district_ids, year: int) -> dict:
    """The district coordinator's figures: the summary over every youth office of the districts, cells
    below 3 suppressed, no record and no case."""
    records: list[Record] = []
    offices = Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE, district_id__in=district_ids).values_list(
        "pk", flat=True
    )
    for office_id in offices:
        office_records, _problems = statistics_8a(office_id=office_id, year=year)
        records += office_records
    return summary(records, suppress=True)
