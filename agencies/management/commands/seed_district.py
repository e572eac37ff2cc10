from django.core.management.base import BaseCommand, CommandError

from agencies.services import DEMO_PASSWORD, SeedConflict, available_districts, district_seed


class Command(BaseCommand):
    help = "Create or update a district's agencies, postcodes and (optionally) demo users. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("district", help="district key, e.g. mettmann")
        parser.add_argument("--demo-users", action="store_true", help="add one demo person per role and agency")

    def handle(self, *args, district, demo_users, **options):
        if district not in available_districts():
            raise CommandError(f"Unknown district '{district}'. Known: {', '.join(available_districts())}")
        try:
            report = district_seed(slug=district, demo_users=demo_users)
        except SeedConflict as exc:  # a data error in a district file: say which rows, write nothing
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{report.district.name}: {report.agencies} agencies, {report.postcodes} postcodes.")
        if report.demo_users:
            self.stdout.write(f"Demo users (password for all: {DEMO_PASSWORD}):")
            for username, role, agency in report.demo_users:
                self.stdout.write(f"  {username:32} {role:24} {agency}")
