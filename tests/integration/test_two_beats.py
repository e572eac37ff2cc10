"""Two beat processes started by mistake (issue 17 § 1, § 4): for a minute two ``celery beat`` and two
workers run against one (private) Redis. Only the beat holding the beat lock sends the periodic jobs;
an overdue referral is escalated once and its notifications are sent once; when the sending beat is
killed (SIGKILL), the other one takes over within BEAT_LOCK_SECONDS — and still nothing twice."""

import os
import signal
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from referrals.models import Escalation, Referral
from tests.factories import make_referral

from .conftest import BIN, free_port, wait_until

pytestmark = pytest.mark.integration

SENT = "Sending due task"
LOCK_SECONDS = 6
TOGETHER_SECONDS = 40  # both beats running; then the sender is killed and the other runs ~20 s alone


def test_two_beats_send_each_job_once(processes, personas, capsys):
    port = free_port()
    processes.redis(port)
    broker = f"redis://127.0.0.1:{port}/0"
    env = {"REDIS_URL": broker, "BEAT_LOCK_SECONDS": str(LOCK_SECONDS), "ESCALATION_CHECK_SECONDS": "2"}

    referral = make_referral(personas.police_hilden, urgency="routine")
    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() - timedelta(hours=2), acknowledged_at=None)

    workers = []
    for _ in range(2):
        worker = processes.start(
            "worker",
            [str(BIN / "celery"), "-A", "config", "worker", "-Q", "default,notifications,scheduling", "-c", "1",
             "--pool=solo", "-l", "info", "-n", f"itest-{uuid.uuid4().hex[:8]}@%h", "--without-mingle",
             "--without-gossip"],
            **env,
        )  # fmt: skip
        workers.append(worker)
    for worker in workers:
        processes.wait_for_log(worker, " ready.")
    beats = [
        processes.start(
            f"beat{i}",
            [str(BIN / "celery"), "-A", "config", "beat", "-l", "info", "-s", str(processes.tmp / f"beat{i}-schedule")],
            **env,
        )
        for i in (1, 2)
    ]
    started = time.monotonic()
    wait_until(lambda: any(SENT in b.log() for b in beats), timeout=30, what="a beat to send its first job")
    time.sleep(max(0.0, TOGETHER_SECONDS - (time.monotonic() - started)))

    senders = [b for b in beats if SENT in b.log()]
    assert len(senders) == 1, [b.log().count(SENT) for b in beats]
    leader = senders[0]
    other = beats[1 - beats.index(leader)]
    assert all(b.alive() for b in beats)
    sweeps = leader.log().count("Sending due task notifications-resend-undelivered")
    assert sweeps >= TOGETHER_SECONDS / 2 / 2, sweeps  # the one sender keeps its 2 s cadence

    def escalated():
        notifications = list(Notification.objects.filter(kind="referral_overdue", link__endswith=f"/{referral.pk}/"))
        return notifications if notifications and all(n.delivered_at for n in notifications) else None

    first = wait_until(escalated, timeout=20, what="the escalation's notifications to be delivered")
    assert Escalation.objects.filter(referral_id=referral.pk).count() == 1
    recipients = [(n.channel, n.recipient_email or n.recipient_user_id) for n in first]
    assert len(recipients) == len(set(recipients)), recipients

    # The sender dies without releasing the lock: the other beat takes over once it runs out.
    os.killpg(leader.pid, signal.SIGKILL)
    killed = time.monotonic()
    before = other.log().count(SENT)
    assert before == 0
    wait_until(lambda: other.log().count(SENT) >= 3, timeout=LOCK_SECONDS + 15, what="the other beat to take over")
    took_over = time.monotonic() - killed
    time.sleep(max(0.0, 60 - (time.monotonic() - started)))

    assert Escalation.objects.filter(referral_id=referral.pk).count() == 1
    again = list(Notification.objects.filter(kind="referral_overdue", link__endswith=f"/{referral.pk}/"))
    assert sorted(n.pk for n in again) == sorted(n.pk for n in first)
    assert all(n.attempts == 1 for n in again), [(n.pk, n.attempts) for n in again]
    assert all(w.alive() for w in workers) and other.alive()
    with capsys.disabled():
        print(
            f"\n[beats] {time.monotonic() - started:.0f} s with two beats: one sender ({sweeps} sweeps in "
            f"{TOGETHER_SECONDS} s), the other took over {took_over:.1f} s after SIGKILL; "
            f"1 escalation, {len(first)} notifications, each sent once"
        )
