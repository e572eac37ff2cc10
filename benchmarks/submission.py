"""Filing referrals concurrently (issue 12): one client against eight at once, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.submission

Creates a throw-away test database (PostgreSQL only: what is measured is PostgreSQL's locking),
seeds Kreis Mettmann and eight police officers of one authority (eight stations, so every filing
draws its reference from the same authority's sequence, ``referrals.services._next_reference``),
and files complete referrals through the real HTTP path: the API with a token, through every
middleware, the serializer, routing, the repeat check, the outbox and the notifications' hand-off to
the broker after commit (a throw-away folder here). First one client files ``BENCH_FILINGS``
referrals one after another; then eight clients (threads, each with its own database connection)
file ``BENCH_FILINGS`` each at the same time. Prints median and p95 milliseconds per filing for both,
their ratio and the filings per second.

During the eight-client run a ninth connection samples ``pg_stat_activity`` and ``pg_locks`` every
``BENCH_SAMPLE_MS`` (20) milliseconds: how many of the run's backends were active, how many of them
waited on a lock (``wait_event_type = 'Lock'``), and on which lock. Before the references came from
a sequence, 3.07 of 3.28 active backends waited on the counter row (issue 12); a sequence's
``nextval`` takes no row lock, so what waits now is what must wait.

The clients are threads of one Python process on the machine that also runs PostgreSQL: the eight
share the interpreter lock and the cores, so the latency ratio holds the CPU share as well as any
waiting in the database — the lock samples tell the two apart.
"""

import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
# The notifications' broker messages and mails go to a folder of this run, removed at the end (not
# to var/, where a worker of `make run` would pick them up).
VAR_DIR = tempfile.mkdtemp(prefix="bench-submission-")
os.environ["VAR_DIR"] = VAR_DIR
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from agencies.models import Agency, AgencyKind, Membership, Role  # noqa: E402
from agencies.services import district_seed, token_issue  # noqa: E402
from referrals.models import Referral  # noqa: E402
from tests.factories import referral_payload  # noqa: E402  (the same complete referral the tests file)

FILINGS = int(os.environ.get("BENCH_FILINGS", "40"))
CLIENTS = 8
SAMPLE_SECONDS = int(os.environ.get("BENCH_SAMPLE_MS", "20")) / 1000
URL = "/api/v1/referrals/"
SYLLABLES = ["ber", "mann", "schu", "kow", "hoff", "wag", "mitz", "krü", "lan", "dorf", "zak", "ova", "ler", "tin"]
POSTCODES = [("40721", "Hilden"), ("40723", "Hilden"), ("42549", "Velbert"), ("40878", "Ratingen")]


def payload(rng: random.Random) -> dict:
    """A complete referral as a police client sends it (the tests' ``referral_payload``); a different
    child each time (the repeat check reads the earlier filings of the same child)."""
    postcode, city = rng.choice(POSTCODES)
    surname = "".join(rng.sample(SYLLABLES, 3)).title()
    body = referral_payload(
        postcode=postcode,
        city=city,
        urgency=rng.choice(["immediate", "urgent", "routine", "routine"]),
        police_case_number=f"ME-2026-{rng.randint(100000, 999999)}",
    )
    body["children"][0].update(
        first_name=rng.choice(["Mia", "Ben", "Lena", "Tom"]),
        last_name=surname,
        date_of_birth=f"{rng.randint(2010, 2024)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        sex="unknown",
        school_or_kita="",
    )
    body["persons"][0]["last_name"] = surname
    return body


def officers() -> list[str]:
    """Eight police officers of one authority, each at a station of it; their API keys."""
    district_seed(slug="mettmann")
    authority = Agency.objects.get(code="KPB-ME")
    stations = list(Agency.objects.filter(kind=AgencyKind.POLICE_STATION, parent=authority).order_by("pk"))
    keys = []
    for index in range(CLIENTS):
        user = get_user_model().objects.create_user(f"bench_officer_{index}")
        Membership.objects.create(user=user, agency=stations[index % len(stations)], role=Role.POLICE_OFFICER)
        keys.append(token_issue(user=user, by=None))
    return keys


def file_referrals(key: str, count: int, seed: int, latencies: list[float], start: threading.Barrier | None):
    """One client: ``count`` filings one after another; each answer must be 201."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    rng = random.Random(seed)
    try:
        if start is not None:
            start.wait()
        for _ in range(count):
            body = payload(rng)
            began = time.perf_counter()
            response = client.post(URL, body, format="json")
            latencies.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 201, (response.status_code, response.content[:300])
    finally:
        connections.close_all()  # this thread's connection


class LockSampler(threading.Thread):
    """Samples the other backends of the test database until stopped."""

    QUERY = """
        SELECT count(*) FILTER (WHERE a.state = 'active'),
               count(*) FILTER (WHERE a.state = 'active' AND a.wait_event_type = 'Lock'),
               (SELECT string_agg(l.locktype || coalesce(':' || c.relname, ''), ',')
                  FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
                 WHERE NOT l.granted)
          FROM pg_stat_activity a
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.samples: list[tuple[int, int]] = []
        self.waited_on: Counter = Counter()

    def run(self):
        try:
            with connection.cursor() as cursor:
                while not self.stop.is_set():
                    cursor.execute(self.QUERY)
                    active, waiting, locks = cursor.fetchone()
                    self.samples.append((active, waiting))
                    self.waited_on.update((locks or "").split(",") if locks else [])
                    time.sleep(SAMPLE_SECONDS)
        finally:
            connections.close_all()


def run(keys: list[str], clients: int) -> tuple[list[float], float, LockSampler | None]:
    per_client: list[list[float]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients) if clients > 1 else None
    threads = [
        threading.Thread(target=file_referrals, args=(keys[i], FILINGS, 1000 * clients + i, per_client[i], start))
        for i in range(clients)
    ]
    sampler = LockSampler() if clients > 1 else None
    if sampler:
        sampler.start()
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if sampler:
        sampler.stop.set()
        sampler.join()
    latencies = sorted(x for client in per_client for x in client)
    assert len(latencies) == clients * FILINGS, "a client failed (see the traceback above)"
    return latencies, elapsed, sampler


def p95(samples: list[float]) -> float:
    return samples[max(int(len(samples) * 0.95) - 1, 0)]


def main():
    assert connection.vendor == "postgresql", "benchmarks.submission measures PostgreSQL's locks: set DATABASE_URL"
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        keys = officers()
        for index, key in enumerate(keys):  # warm-up: the year's sequence, each client's first request
            file_referrals(key, 1, index, [], None)
        single, single_s, _none = run(keys, 1)
        many, many_s, sampler = run(keys, CLIENTS)
        references = list(Referral.objects.values_list("reference", flat=True))
        assert len(references) == len(set(references)), "a reference was handed out twice"
        print("\nfiling a referral through the API (HTTP, Django test client, full stack), PostgreSQL; ms per filing")
        print(f"{'clients':>8}{'filings':>9}{'median':>9}{'p95':>9}{'per s':>8}")
        for clients, latencies, seconds in ((1, single, single_s), (CLIENTS, many, many_s)):
            print(
                f"{clients:>8}{len(latencies):>9}{statistics.median(latencies):9.1f}{p95(latencies):9.1f}"
                f"{len(latencies) / seconds:8.1f}"
            )
        print(
            f"ratio {CLIENTS} clients / 1: median {statistics.median(many) / statistics.median(single):.2f}x, "
            f"p95 {p95(many) / p95(single):.2f}x"
        )
        active = [a for a, _w in sampler.samples]
        waiting = [w for _a, w in sampler.samples]
        print(
            f"during the {CLIENTS}-client run, {len(sampler.samples)} samples of pg_stat_activity/pg_locks: "
            f"{statistics.mean(active):.2f} backends active on average, {statistics.mean(waiting):.2f} of them "
            f"waiting on a lock (most {max(waiting)}; samples with a waiter: "
            f"{sum(1 for w in waiting if w) / len(waiting):.0%})"
        )
        if sampler.waited_on:
            print("locks waited for (ungranted pg_locks entries, by sample):")
            for lock, count in sampler.waited_on.most_common(5):
                print(f"  {count:6} {lock}")
        else:
            print("no ungranted lock seen in any sample")
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(VAR_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
