"""Import of a state's postcode table (CSV: postcode, municipality, municipality key (AGS), youth office
code) into the jurisdiction table — for an instance serving many districts, where a district file per
district would be thousands of lines. Rules in docs/jurisdiction.md.

The table is authoritative for the rows it names, matched by (postcode, municipality): a row that is
new is added, one whose office, spelling or AGS differs is changed, an equal one is left alone — so a
second run changes nothing. Rows the table does not name stay (district files and the admin may hold
rows a state table lacks; removing is done in the admin). A table with conflicts — the same postcode
and municipality for two offices, an unknown or ambiguous office code, a malformed line — is refused
as a whole: nothing is written. The dry run writes nothing and lists exactly what a run would change.
"""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Agency, AgencyKind, JurisdictionArea, ags_validator, postcode_validator
from .routing import normalize_city

# Accepted column names (first line of the file), English and German.
COLUMNS = {
    "postcode": ("postcode", "plz", "postleitzahl"),
    "municipality": ("municipality", "gemeinde", "ort"),
    "ags": ("ags", "municipality_key", "gemeindeschluessel", "gemeindeschlüssel"),
    "youth_office": ("youth_office", "youth_office_code", "jugendamt"),
}
BATCH = 1000


@dataclass(frozen=True)
class TableRow:
    line: int
    postcode: str
    municipality: str
    ags: str
    office_code: str

    @property
    def key(self) -> tuple[str, str]:
        return self.postcode, normalize_city(self.municipality)


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do). ``new`` and ``changed`` are lines for people;
    ``new_keys`` and ``changed_keys`` the (postcode, normalised municipality) they concern."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unchanged: int = 0
    new_keys: set = field(default_factory=set)
    changed_keys: set = field(default_factory=set)
    written: bool = False

    @property
    def summary(self) -> str:
        return (
            f"{len(self.new)} new, {len(self.changed)} changed, {self.unchanged} unchanged, "
            f"{len(self.conflicts)} conflicts"
        )


def _column_map(header: list[str]) -> dict[str, int]:
    names = [name.strip().casefold() for name in header]
    found = {}
    for column, aliases in COLUMNS.items():
        for index, name in enumerate(names):
            if name in aliases:
                found[column] = index
    return found


def postcode_table_read(text: str) -> tuple[list[TableRow], list[str]]:
    """The rows of a CSV table (comma or semicolon separated, first line the column names) and the
    problems of lines that cannot be read (line numbers as in the file)."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines:
        return [], ["the file is empty"]
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    columns = _column_map(next(reader))
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        return [], [f"line 1: columns missing: {', '.join(missing)} (expected {', '.join(COLUMNS)})"]
    rows, problems = [], []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) <= max(columns.values()):
            problems.append(f"line {number}: {len(record)} columns, expected {len(COLUMNS)}")
            continue
        values = {name: record[index].strip() for name, index in columns.items()}
        row = TableRow(number, values["postcode"], values["municipality"], values["ags"], values["youth_office"])
        try:
            postcode_validator(row.postcode)
            if row.ags:
                ags_validator(row.ags)
        except ValidationError as exc:
            problems.append(f"line {number}: {row.postcode} {row.municipality}: {' '.join(exc.messages)}")
            continue
        if not row.key[1] or not row.office_code:
            problems.append(f"line {number}: municipality or youth office code missing")
            continue
        rows.append(row)
    return rows, problems


def _offices() -> dict[str, list[Agency]]:
    """Youth offices by code and by ``<district>/<code>`` (codes are unique only within a district)."""
    by_code: dict[str, list[Agency]] = {}
    for office in Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE).select_related("district"):
        by_code.setdefault(office.code.casefold(), []).append(office)
        by_code.setdefault(f"{office.district.slug}/{office.code}".casefold(), []).append(office)
    return by_code


def postcode_table_import(*, rows: list[TableRow], problems: list[str] = (), dry_run: bool) -> ImportReport:
    """Bring the jurisdiction table in line with ``rows`` (see the module's rules); with ``dry_run``
    or any conflict nothing is written. Three queries to compare, whatever the table's size."""
    report = ImportReport(conflicts=list(problems))
    offices = _offices()
    wanted: dict[tuple[str, str], tuple[TableRow, Agency]] = {}
    for row in rows:
        matches = offices.get(row.office_code.casefold(), [])
        if len(matches) != 1:
            why = (
                "unknown youth office"
                if not matches
                else "youth office code of several districts, write <district>/<code>"
            )
            report.conflicts.append(f"line {row.line}: {row.postcode} {row.municipality}: {why} {row.office_code!r}")
            continue
        earlier = wanted.get(row.key)
        if earlier is not None and (earlier[1].pk, earlier[0].ags) != (matches[0].pk, row.ags):
            report.conflicts.append(
                f"line {row.line}: {row.postcode} {row.municipality}: also line {earlier[0].line} "
                f"({earlier[1].code}), a postcode and municipality belong to one youth office"
            )
            continue
        wanted[row.key] = (row, matches[0])

    existing = {
        (area.postcode, area.municipality_key): area
        for area in JurisdictionArea.objects.select_related("youth_office").only(
            "pk", "postcode", "municipality", "municipality_key", "ags", "youth_office__code", "youth_office__name"
        )
    }
    to_create, to_update = [], []
    for key, (row, office) in sorted(wanted.items()):
        area = existing.get(key)
        if area is None:
            to_create.append(
                JurisdictionArea(
                    postcode=row.postcode, municipality=row.municipality, municipality_key=key[1], ags=row.ags,
                    youth_office=office,
                )
            )  # fmt: skip
            report.new.append(f"new      {row.postcode} {row.municipality} (AGS {row.ags or '–'}) → {office.code}")
            report.new_keys.add(key)
            continue
        differences = []
        if area.youth_office_id != office.pk:
            differences.append(f"youth office {area.youth_office.code} → {office.code}")
        if area.municipality != row.municipality:
            differences.append(f"spelling {area.municipality!r} → {row.municipality!r}")
        if area.ags != row.ags:
            differences.append(f"AGS {area.ags or '–'} → {row.ags or '–'}")
        if not differences:
            report.unchanged += 1
            continue
        area.youth_office, area.municipality, area.ags = office, row.municipality, row.ags
        to_update.append(area)
        report.changed.append(f"changed  {row.postcode} {row.municipality}: {'; '.join(differences)}")
        report.changed_keys.add(key)

    if dry_run or report.conflicts:
        return report
    with transaction.atomic():
        JurisdictionArea.objects.bulk_create(to_create, batch_size=BATCH)
        JurisdictionArea.objects.bulk_update(to_update, ["youth_office", "municipality", "ags"], batch_size=BATCH)
    report.written = True
    return report
