from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agencies.postcodes import postcode_table_import, postcode_table_read


class Command(BaseCommand):
    help = (
        "Import a state's postcode table (CSV: postcode, municipality, ags, youth_office) into the "
        "jurisdiction table. Idempotent; --dry-run lists conflicts and changes and writes nothing. "
        "See docs/jurisdiction.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8, comma or semicolon separated, first line: column names)")
        parser.add_argument("--dry-run", action="store_true", help="list what would change, write nothing")

    def handle(self, *args, file, dry_run, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        rows, problems = postcode_table_read(path.read_text(encoding="utf-8"))
        report = postcode_table_import(rows=rows, problems=problems, dry_run=dry_run)
        for line in [f"conflict {c}" for c in report.conflicts] + report.new + report.changed:
            self.stdout.write(line)
        if report.conflicts:
            raise CommandError(f"{report.summary}: the table has conflicts, nothing was written.")
        suffix = "dry run, nothing written" if dry_run else "written"
        self.stdout.write(f"{report.summary} ({suffix}).")
