"""Filing under database faults (issue 10, proof of §3 and §4): gunicorn and a real Celery worker
(with beat) on PostgreSQL, while a thread terminates every other backend of the test database about
every 0.3 s. Clients file referrals through the API, each with its own ``Idempotency-Key``, and retry
on any error or timeout with the same key, as a client should.

At the end every intended referral exists exactly once, every notification is delivered, and the
mail backend (files, parsed here) got every notification's Message-ID within the bound the README
states for the outbox: copies ≤ recorded attempts and copies ≤ 1 + attempts without a recorded
outcome (usually exactly one copy; a second one only where the connection dropped between the mail
server's acceptance and the commit of "delivered").
"""

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from notifications.models import Channel, DeliveryState, Notification
from referrals.models import Referral
from tests.factories import api_token, referral_payload

from .conftest import read_mails, wait_until

pytestmark = pytest.mark.integration

FILINGS = 60
CLIENTS = 4
KILL_EVERY_SECONDS = 0.3
# How long the clients keep retrying. What is proven is that every filing is answered in the end and
# exists exactly once, not a pace: under a backend killed every 0.3 s, progress depends on the load of
# the shared 2-core machine (82 s for the 60 filings at ea0d7a8 with other tests running; after the
# wave-2 features, half of them were still open at 90 s in two CI runs), so the bound leaves room.
FLOOD_DEADLINE_SECONDS = 240
CLIENT_TIMEOUT_SECONDS = 10


class BackendKiller(threading.Thread):
    """Terminates every backend of the test database except its own and the test's connection."""

    def __init__(self, spare_pids: set[int]):
        super().__init__(daemon=True)
        import psycopg2

        settings = connection.settings_dict
        self.connection = psycopg2.connect(
            dbname=settings["NAME"], user=settings.get("USER") or None, password=settings.get("PASSWORD") or None,
            host=settings.get("HOST") or "127.0.0.1", port=settings.get("PORT") or 5432,
        )  # fmt: skip
        self.connection.autocommit = True
        self.spare = spare_pids
        self.stopped = threading.Event()
        self.terminated = 0
        self.rounds = 0

    def run(self):
        with self.connection.cursor() as cursor:
            while not self.stopped.wait(KILL_EVERY_SECONDS):
                cursor.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND NOT (pid = ANY(%s))",
                    [list(self.spare)],
                )
                self.terminated += cursor.fetchone()[0]
                self.rounds += 1

    def stop(self):
        self.stopped.set()
        self.join(5)
        self.connection.close()


class Filing:
    """One intended referral: its key and body, and what happened to its requests."""

    def __init__(self, number: int, prefix: str = "FAULT"):
        self.case_number = f"{prefix}-{number:03d}"
        self.key = str(uuid.uuid4())
        payload = referral_payload(police_case_number=self.case_number)
        payload["children"][0]["first_name"] = f"Kind{number:03d}"  # no repeat match between filings
        self.body = json.dumps(payload).encode()
        self.outcomes: Counter = Counter()
        self.answer: dict | None = None
        self.replayed = False

    def send(self, url: str, token: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            request = urllib.request.Request(
                url, data=self.body, method="POST",
                headers={"Content-Type": "application/json", "Accept": "application/json",
                         "Authorization": f"Token {token}", "Idempotency-Key": self.key},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT_SECONDS) as response:
                    self.outcomes[response.status] += 1
                    self.answer = json.loads(response.read())
                    self.replayed = response.headers.get("Idempotent-Replayed") == "true"
                    return
            except urllib.error.HTTPError as exc:
                self.outcomes[exc.code] += 1
                if exc.code < 500 and exc.code != 409:  # 409: the first request with the key still runs
                    self.answer = {"status": exc.code, "body": exc.read()[:500].decode(errors="replace")}
                    return
            except (OSError, TimeoutError) as exc:  # refused, reset, timed out: the answer is lost
                self.outcomes[type(exc).__name__] += 1
            time.sleep(0.2)


def _send_once(url: str, token: str, filing: Filing) -> tuple[str, int, bytes, bool]:
    request = urllib.request.Request(
        url, data=filing.body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}", "Idempotency-Key": filing.key},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        return filing.key, response.status, response.read(), replayed


def test_filings_survive_terminated_database_backends(processes, personas, broker_url, mail_dir, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("terminates PostgreSQL backends: run with DATABASE_URL=postgres://…")
    token = api_token(personas.police_hilden)
    worker = processes.worker(beat=True, REDIS_URL=broker_url)
    web, web_url = processes.web(REDIS_URL=broker_url)

    # The same key sent three times at once (a client retrying while its first request still runs):
    # the later ones wait for the first (the unique index of its uncommitted key) and replay its answer.
    racing = [Filing(FILINGS + number, prefix="RACE") for number in range(3)]
    with ThreadPoolExecutor(9) as pool:
        answers = list(pool.map(lambda f: _send_once(f"{web_url}/api/v1/referrals/", token, f), racing * 3))
    for filing in racing:
        mine = [(status, body, replayed) for key, status, body, replayed in answers if key == filing.key]
        assert [status for status, _body, _replayed in mine] == [201, 201, 201], mine
        assert len({body for _status, body, _replayed in mine}) == 1, "three answers to one request"
        assert sorted(replayed for _status, _body, replayed in mine) == [False, True, True]
        assert Referral.objects.filter(police_case_number=filing.case_number).count() == 1

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own_pid,) = cursor.fetchone()
    killer = BackendKiller({own_pid})
    filings = [Filing(number) for number in range(FILINGS)]
    started = time.monotonic()
    killer.start()
    try:
        deadline = started + FLOOD_DEADLINE_SECONDS
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda f: f.send(f"{web_url}/api/v1/referrals/", token, deadline), filings))
    finally:
        killer.stop()
    flood_seconds = time.monotonic() - started
    outcomes = sum((f.outcomes for f in filings), Counter())

    # Every intended referral was answered 201 in the end and exists exactly once.
    unanswered = [(f.case_number, dict(f.outcomes), f.answer) for f in filings if not f.answer or "id" not in f.answer]
    assert unanswered == [], unanswered
    per_case = Counter(
        Referral.objects.filter(police_case_number__startswith="FAULT-").values_list("police_case_number", flat=True)
    )
    assert per_case == Counter({f.case_number: 1 for f in filings}), {k: v for k, v in per_case.items() if v != 1}
    for filing in filings:
        referral = Referral.objects.get(police_case_number=filing.case_number)
        assert filing.answer["id"] == referral.pk and filing.answer["reference"] == referral.reference
    referral_links = [f"/referrals/{f.answer['id']}/" for f in filings]

    # Every notification of them is delivered: the office's mailbox by e-mail, caseworker and lead in-app.
    notifications = Notification.objects.filter(link__in=referral_links)

    def all_delivered():
        return notifications.count() == 3 * FILINGS and not notifications.filter(delivered_at__isnull=True).exists()

    wait_until(all_delivered, timeout=90, what="every notification to be delivered")
    time.sleep(3)  # more sweeps: nothing is sent again once delivered
    assert not notifications.exclude(state=DeliveryState.DELIVERED).exists()

    # The mail server's view: every Message-ID at least once, and never more often than the bound.
    copies = Counter(mail["Message-ID"] for mail in read_mails(mail_dir))
    emails = list(notifications.filter(channel=Channel.EMAIL))
    assert len(emails) == FILINGS
    over_bound, duplicates = [], 0
    for notification in emails:
        received = copies.get(notification.message_id, 0)
        assert received >= 1, (
            f"notification {notification.pk} ({notification.message_id}) never reached the mail server"
        )
        duplicates += received - 1
        if received > notification.attempts or received > 1 + notification.unconfirmed_attempts:
            over_bound.append(
                (notification.message_id, received, notification.attempts, notification.unconfirmed_attempts)
            )
    assert over_bound == [], over_bound
    known = set(Notification.objects.filter(channel=Channel.EMAIL).values_list("message_id", flat=True))
    assert set(copies) <= known, "a mail without a notification's Message-ID"

    with capsys.disabled():
        print(
            f"\n[faults] {FILINGS} filings in {flood_seconds:.1f} s with {killer.terminated} backends terminated "
            f"in {killer.rounds} rounds; answers {dict(outcomes)}; "
            f"{sum(f.replayed for f in filings)} final answers replayed; "
            f"{len(emails)} e-mails, {duplicates} duplicate copies (same Message-ID), "
            f"attempts {Counter(n.attempts for n in emails)}, "
            f"unconfirmed {sum(n.unconfirmed_attempts for n in emails)}"
        )
    assert flood_seconds < FLOOD_DEADLINE_SECONDS + CLIENT_TIMEOUT_SECONDS
    assert killer.terminated > 0, "no backend was terminated: the test proved nothing"
    assert worker.alive() and web.alive()
