"""Django's ``flush``, telling the access log's SQLite guard that this DELETE is a flush.

SQLite has no TRUNCATE: ``flush`` empties tables with ``DELETE FROM``, which the append-only trigger
of the access log refuses. Tests with ``transactional_db`` and ``live_server`` flush between tests,
so this command (it replaces Django's own: app commands win) marks the time it runs; the trigger asks
``access_log_flushing()`` (``referrals.models``). PostgreSQL truncates, which row triggers ignore.
"""

from django.core.management.commands import flush

from referrals.models import access_log_flushing


class Command(flush.Command):
    def handle(self, **options):
        with access_log_flushing():
            return super().handle(**options)
