"""Reference numbers (KPB-ME-2026-00042): format, order, and — on PostgreSQL — a sequence per
authority and year, so that concurrent filings neither collide nor wait for each other's commit."""

import re
import threading

import pytest
from django.db import OperationalError, close_old_connections, connection, transaction
from django.utils import timezone

from referrals.models import ReferenceCounter
from tests.factories import make_referral

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="sequences per authority and year exist on PostgreSQL only"
)


def number(reference: str) -> int:
    return int(reference.rsplit("-", 1)[1])


def test_reference_is_authority_year_and_five_digits(personas):
    referral = make_referral(personas.police_hilden, submit=False)
    year = timezone.localdate().year
    assert re.fullmatch(rf"{re.escape(referral.police_authority.code)}-{year}-\d{{5}}", referral.reference)


def test_two_filings_get_distinct_increasing_numbers(personas):
    first = make_referral(personas.police_hilden, submit=False)
    second = make_referral(personas.police_hilden2)
    assert first.reference.rsplit("-", 1)[0] == second.reference.rsplit("-", 1)[0]
    assert number(second.reference) > number(first.reference)


@postgresql_only
def test_sequence_continues_after_the_counter_of_the_former_scheme(personas):
    """A database upgraded during the year: the first number from the sequence follows the last one
    the counter row handed out, so no reference is given twice."""
    referral = make_referral(personas.police_hilden, submit=False)
    authority, year = referral.police_authority, timezone.localdate().year
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"DROP SEQUENCE IF EXISTS referral_reference_{authority.pk}_{year}")
    last = number(referral.reference) + 41  # beyond every number the sequence has handed out
    ReferenceCounter.objects.update_or_create(prefix=authority.code, year=year, defaults={"last_value": last})
    assert make_referral(personas.police_hilden, submit=False).reference == f"{authority.code}-{year}-{last + 1:05d}"


def _in_thread(target, *args):
    """Run ``target`` in a thread with its own database connection; return (thread, results, errors)."""
    results, errors = [], []

    def run():
        try:
            results.append(target(*args))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results, errors


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_filings_get_distinct_numbers(personas):
    filers = [personas.police_hilden, personas.police_hilden2] * 4
    barrier = threading.Barrier(len(filers))

    def file(user):
        barrier.wait(timeout=30)
        return make_referral(user, submit=False).reference

    runs = [_in_thread(file, user) for user in filers]
    references = []
    for thread, results, errors in runs:
        thread.join(60)
        assert not errors, errors
        references += results
    assert len(references) == len(filers)
    assert len(set(references)) == len(references)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_filing_does_not_wait_for_another_filings_commit(personas):
    """While one filing of the authority has drawn its number and not committed, another one gets
    its number at once (with the former counter row it waited for that commit)."""
    make_referral(personas.police_hilden, submit=False)  # the year's sequence exists (created on first use)
    drawn, release = threading.Event(), threading.Event()

    def slow_filing():
        with transaction.atomic():
            reference = make_referral(personas.police_hilden, submit=False).reference
            drawn.set()
            release.wait(30)
        return reference

    thread, results, errors = _in_thread(slow_filing)
    try:
        assert drawn.wait(30), errors
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            try:
                reference = make_referral(personas.police_hilden2, submit=False).reference
            except OperationalError as exc:
                pytest.fail(f"the second filing waited for the first one's commit: {exc}")
    finally:
        release.set()
        thread.join(60)
    assert not errors, errors
    assert number(reference) > number(results[0])
