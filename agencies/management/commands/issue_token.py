from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from agencies.services import token_issue


class Command(BaseCommand):
    help = (
        "Issue an API token for an active person, replacing their earlier one, and print its key. "
        "The key is printed only now: the database holds its digest, not the key."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Unknown username '{username}'.")
        if not user.is_active:
            raise CommandError(f"'{username}' is deactivated.")
        self.stdout.write(token_issue(user=user, by=None))
