"""The access log is append-only, yet Django's ``flush`` (between live-server tests) may empty it:
on SQLite through ``referrals/management/commands/flush.py`` marking the flush, not by inspecting
the call stack."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from referrals.models import AccessLogEntry


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_access_log_but_a_delete_is_still_refused():
    entry = AccessLogEntry.objects.create(action=AccessLogEntry.Action.VIEW, obj_type="referral", obj_id=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not AccessLogEntry.objects.exists()
    if connection.vendor == "sqlite":
        AccessLogEntry.objects.create(action=AccessLogEntry.Action.VIEW, obj_type="referral", obj_id=2)
        with pytest.raises(DatabaseError), transaction.atomic():
            AccessLogEntry.objects.all().delete()
