"""The state's postcode table import (issue 18): on a generated table of 10,000 postcodes it is
idempotent, its dry run lists exactly the differences and writes nothing, a table with conflicts is
refused as a whole, and routing stays one indexed query (docs/jurisdiction.md)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from agencies.models import Agency, AgencyKind, District, JurisdictionArea
from agencies.routing import TriageReason, jurisdiction_rows, normalize_city, route_address
from agencies.services import district_seed

OFFICES = ["JA-ERK", "JA-HAA", "JA-HEI", "JA-HIL", "JA-LAN", "JA-MET", "JA-MON", "JA-RAT", "JA-VEL", "JA-WUE", "JA-D"]
POSTCODES = 10_000
SHARED_EVERY = 100  # every 100th postcode is used by a second municipality of another office


def _name(number: int) -> str:
    """A municipality name of letters only (the normalised name ignores digits)."""
    letters = ""
    while True:
        number, rest = divmod(number, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[rest] + letters
        if number == 0:
            return f"Gemeinde {letters.capitalize()}"


def _table() -> list[list[str]]:
    rows = []
    for i in range(POSTCODES):
        postcode, municipality = f"{50000 + i}", _name(i // 4)
        rows.append([postcode, municipality, f"05{i // 4:06d}", OFFICES[(i // 4) % len(OFFICES)]])
        if i % SHARED_EVERY == 0:
            rows.append([postcode, f"Nachbarort {_name(i)}", f"06{i:06d}", OFFICES[(i // 4 + 1) % len(OFFICES)]])
    return rows


def _csv(rows, tmp_path, name="plz.csv", delimiter=","):
    path = tmp_path / name
    lines = [delimiter.join(["postcode", "municipality", "ags", "youth_office"])]
    lines += [delimiter.join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _import(path, *options):
    out = io.StringIO()
    call_command("import_postcodes", path, *options, stdout=out)
    return out.getvalue().splitlines()


def _snapshot():
    return set(JurisdictionArea.objects.values_list("pk", "postcode", "municipality", "ags", "youth_office_id"))


@pytest.fixture
def instance(district):
    district_seed(slug="duesseldorf")
    return district


@pytest.fixture
def imported(instance, tmp_path):
    rows = _table()
    path = _csv(rows, tmp_path)
    lines = _import(path)
    return rows, path, lines


def test_import_writes_the_table_and_a_second_run_changes_nothing(imported):
    rows, path, lines = imported
    assert len(rows) == POSTCODES + POSTCODES // SHARED_EVERY
    assert lines[-1] == f"{len(rows)} new, 0 changed, 0 unchanged, 0 conflicts (written)."
    assert JurisdictionArea.objects.filter(postcode__gte="50000").count() == len(rows)
    before = _snapshot()
    again = _import(path)
    assert again == [f"0 new, 0 changed, {len(rows)} unchanged, 0 conflicts (written)."]
    assert _snapshot() == before


def test_dry_run_lists_exactly_the_differences(imported, tmp_path):
    rows, _path, _lines = imported
    before = _snapshot()
    changed = [list(row) for row in rows]
    changed[10][3] = "JA-D" if changed[10][3] != "JA-D" else "JA-HIL"  # another office
    changed[5000][3] = "mettmann/JA-VEL" if changed[5000][3] != "JA-VEL" else "JA-ERK"
    changed[777][2] = "05999999"  # another AGS
    changed[1234][1] = changed[1234][1].upper()  # another spelling of the same municipality
    changed.append(["49998", "Gemeinde Neu", "05888888", "JA-MET"])  # one new postcode
    changed.append(["50003", "Anderer Ort", "", "JA-HAA"])  # a new municipality in a known postcode
    expected_changed = {(changed[i][0], normalize_city(changed[i][1])) for i in (10, 5000, 777, 1234)}
    expected_new = {("49998", "gemeindeneu"), ("50003", "andererort")}
    path = _csv(changed, tmp_path, "plz2.csv", delimiter=";")

    lines = _import(path, "--dry-run")
    assert lines[-1] == f"2 new, 4 changed, {len(rows) - 4} unchanged, 0 conflicts (dry run, nothing written)."
    listed = lines[:-1]
    assert len(listed) == 6
    assert {tuple(line.split()[1:3]) for line in listed if line.startswith("new")} == {
        ("49998", "Gemeinde"), ("50003", "Anderer"),
    }  # fmt: skip
    assert {line.split()[1] for line in listed if line.startswith("changed")} == {k[0] for k in expected_changed}
    assert any("AGS" in line and "05999999" in line for line in listed)
    assert _snapshot() == before  # nothing written

    from agencies.postcodes import postcode_table_import, postcode_table_read

    report = postcode_table_import(rows=postcode_table_read(open(path, encoding="utf-8").read())[0], dry_run=True)
    assert (report.new_keys, report.changed_keys) == (expected_new, expected_changed)

    _import(path)
    assert _import(path)[-1] == f"0 new, 0 changed, {len(changed)} unchanged, 0 conflicts (written)."
    assert JurisdictionArea.objects.get(postcode="50010", municipality_key=normalize_city(changed[10][1])).ags
    assert route_address(postcode="49998", city="Gemeinde Neu").office.code == "JA-MET"


def test_a_table_with_conflicts_is_refused_as_a_whole(instance, tmp_path):
    District.objects.create(slug="testkreis", name="Testkreis")
    Agency.objects.create(
        district=District.objects.get(slug="testkreis"), kind=AgencyKind.YOUTH_OFFICE, name="JA Test", code="JA-HIL"
    )
    rows = [
        ["51000", "Gemeinde Eins", "05000001", "JA-HAA"],  # fine alone
        ["51001", "Gemeinde Zwei", "05000002", "JA-HAA"],
        ["51001", "Gemeinde Zwei", "05000002", "JA-VEL"],  # the same municipality for another office
        ["51002", "Gemeinde Drei", "", "JA-NIX"],  # unknown office
        ["51003", "Gemeinde Vier", "", "JA-HIL"],  # the code of two districts' offices
        ["51004", "Gemeinde Fünf", "", "mettmann/JA-HIL"],  # qualified: fine
        ["5100", "Gemeinde Sechs", "", "JA-HAA"],  # malformed postcode
        ["５１００７", "Gemeinde Sieben", "", "JA-HAA"],  # other scripts' digits are not a postcode here
        ["51008", "Gemeinde Acht", "0500", "JA-HAA"],  # malformed AGS
    ]
    path = _csv(rows, tmp_path)
    before = _snapshot()
    out = io.StringIO()
    with pytest.raises(CommandError, match="conflicts, nothing was written"):
        call_command("import_postcodes", path, stdout=out)
    conflicts = [line for line in out.getvalue().splitlines() if line.startswith("conflict")]
    # line 1 is the header: lines that cannot be read first, then the conflicts between rows
    expected = ["line 8", "line 9", "line 10", "line 4", "line 5", "line 6"]
    assert [line.split(":")[0] for line in conflicts] == [f"conflict {line}" for line in expected]
    assert "also line 3" in conflicts[3] and "unknown youth office" in conflicts[4]
    assert "<district>/<code>" in conflicts[5]
    assert _snapshot() == before
    with pytest.raises(CommandError):
        call_command("import_postcodes", path, "--dry-run", stdout=io.StringIO())
    assert _snapshot() == before


@pytest.mark.parametrize(
    "postcode, city, office, reason",
    [
        ("50004", _name(1), OFFICES[1], ""),  # one municipality
        ("50100", _name(25), OFFICES[25 % len(OFFICES)], ""),  # shared postcode: the municipality decides
        ("50100", f"Nachbarort {_name(100)}", OFFICES[26 % len(OFFICES)], ""),
        ("50100", "Irgendwo", None, TriageReason.SHARED_POSTCODE),
        ("49999", _name(3), None, TriageReason.UNKNOWN_POSTCODE),  # a known municipality, another postcode
        ("10115", "Berlin", None, TriageReason.OUTSIDE_DISTRICT),
    ],
)
def test_routing_is_one_indexed_query(imported, django_assert_num_queries, postcode, city, office, reason):
    with django_assert_num_queries(1):
        result = route_address(postcode=postcode, city=city)
    assert (result.office.code if result.office else None, result.reason) == (office, reason)


def test_the_routing_query_uses_the_indexes(imported):
    sql, params = jurisdiction_rows(postcode="50100", city_key=normalize_city(_name(25))).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE agencies_jurisdictionarea")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan on agencies_jurisdictionarea" not in plan, plan
            assert "postcode_area" in plan, plan
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "SCAN agencies_jurisdictionarea" not in plan, plan
            # the unique index on (postcode, municipality) is SQLite's autoindex of the constraint
            assert "USING INDEX" in plan and "(postcode=?)" in plan, plan
            assert "USING INDEX postcode_area_municipality (municipality_key=?)" in plan, plan
