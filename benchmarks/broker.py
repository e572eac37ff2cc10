"""Benchmark: notification delivery through the embedded broker (what `make run` uses).

    .venv/bin/python -m benchmarks.broker                 # 300 notifications, the burst of issue 12
    BENCH_NOTIFICATIONS=1000 .venv/bin/python -m benchmarks.broker

Starts a real Celery worker as bin/run does (embedded beat, queues default/notifications/scheduling,
``CELERY_CONCURRENCY`` pool processes, default 2) on kombu's filesystem transport, with a throw-away
VAR_DIR and SQLite database, and the e-mail backend `make run` uses (files under VAR_DIR/mail).
It then writes N notifications through ``notifications.services.notification_create``, each in its
own transaction as N filings would, and measures how long until every one is delivered.

Prints: notifications created, seconds until all were delivered, delivered per second.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
N = int(os.environ.get("BENCH_NOTIFICATIONS", "300"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
CONCURRENCY = os.environ.get("CELERY_CONCURRENCY", "2")

TMP = Path(tempfile.mkdtemp(prefix="bench-broker-"))
# The benchmark and the worker share the throw-away folder and database; no Redis, no configured mail.
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "VAR_DIR": str(TMP / "var"),
        "DATABASE_URL": f"sqlite:///{TMP / 'db.sqlite3'}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
)
for name in ("REDIS_URL", "EMAIL_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from notifications.models import Channel, Notification  # noqa: E402
from notifications.services import notification_create  # noqa: E402


def start_worker(log_path: Path) -> subprocess.Popen:
    """The worker bin/run starts, in its own process group (stopped as a whole afterwards)."""
    args = [str(BIN / "celery"), "-A", "config", "worker", "-B", "-s", str(TMP / "celerybeat-schedule"),
            "-Q", "default,notifications,scheduling", "--concurrency", CONCURRENCY, "-l", "info",
            "-n", f"bench-{uuid.uuid4().hex[:8]}@%h"]  # fmt: skip
    with log_path.open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603 - our own celery with fixed arguments
            args, cwd=ROOT, env=os.environ.copy(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while " ready." not in log_path.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            stop_worker(worker)
            sys.exit(f"the worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.kill(worker.pid, signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(worker.pid, signal.SIGKILL)  # pool processes, embedded beat
    except (ProcessLookupError, PermissionError):
        pass
    worker.wait()


def main() -> None:
    call_command("migrate", verbosity=0)
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    print(f"broker: {settings.CELERY_BROKER_URL} polling_interval={options.get('polling_interval', 'default (1.0)')}")
    print(f"worker: concurrency {CONCURRENCY}, prefetch multiplier {settings.CELERY_WORKER_PREFETCH_MULTIPLIER}")
    worker = start_worker(TMP / "worker.log")
    try:
        start = time.monotonic()
        for i in range(N):
            with transaction.atomic():  # one filing's transaction: the task is published on commit
                notification_create(
                    channel=Channel.EMAIL, kind="bench", subject=f"Mitteilung BENCH-{i:05d}",
                    body="Eine neue Mitteilung liegt vor.", link=f"/referrals/{i}/", email="jugendamt@example.invalid",
                )  # fmt: skip
        created = time.monotonic() - start
        delivered = 0
        while time.monotonic() - start < TIMEOUT:
            delivered = Notification.objects.filter(delivered_at__isnull=False).count()
            if delivered >= N:
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        # The file backend may append several messages to one file: count the messages, not files.
        mails = sum(
            path.read_text(errors="replace").count("\nMessage-ID: <notification-")
            for path in Path(settings.EMAIL_FILE_PATH).glob("*.log")
        )
    finally:
        stop_worker(worker)
    print(f"notifications created:     {N} (in {created:.1f} s)")
    if delivered >= N:
        print(f"all delivered after:       {elapsed:.1f} s")
    else:
        print(f"NOT all delivered:         {delivered} of {N} after {elapsed:.1f} s")
    print(f"delivered per second:      {delivered / elapsed:.1f}")
    print(f"e-mails written:           {mails}")
    if os.environ.get("BENCH_KEEP"):
        print(f"kept: {TMP}")
    else:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
