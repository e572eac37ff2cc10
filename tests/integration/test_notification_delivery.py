"""A referral filed through the API reaches the receiving youth office through the outbox, the
broker and a real Celery worker — also when the broker is down at the moment of filing."""

import time
from collections import Counter

import pytest
from django.urls import reverse

from notifications.models import Channel, Notification
from referrals.models import Referral
from tests.factories import api_token, referral_payload

from .conftest import free_port, post_json, read_mails, wait_until

pytestmark = pytest.mark.integration

NAMES = ("Mia", "Tom", "Beispiel")  # the child's and parent's names in tests.factories.referral_payload


def file_referral(web_url: str, user, **payload_overrides) -> tuple[Referral, float]:
    """POST a complete referral as ``user`` would, with an API token. Returns it and the seconds taken."""
    token = api_token(user)
    started = time.monotonic()
    status, body = post_json(f"{web_url}/api/v1/referrals/", referral_payload(**payload_overrides), token=token)
    seconds = time.monotonic() - started
    assert status == 201, f"POST /api/v1/referrals/ answered {status}: {body}"
    referral = Referral.objects.filter(created_by=user).select_related("youth_office").latest("pk")
    if "reference" in body:
        assert body["reference"] == referral.reference
    return referral, seconds


def notifications_of(referral: Referral):
    return Notification.objects.filter(link=reverse("referrals:detail", args=[referral.pk])).order_by("pk")


def all_delivered(referral: Referral) -> bool:
    notifications = list(notifications_of(referral))
    return bool(notifications) and all(n.delivered_at is not None for n in notifications)


def check_mails(mail_dir, referral: Referral, expected_addresses: set[str]) -> None:
    """One message per address, carrying the reference and a link, and no name from the referral."""
    mails = read_mails(mail_dir)
    per_address = Counter(mail["To"] for mail in mails)
    assert per_address == Counter(expected_addresses), f"mails per address: {dict(per_address)}"
    for mail in mails:
        text = f"{mail['Subject']}\n{mail.get_content()}"
        assert referral.reference in text
        assert reverse("referrals:detail", args=[referral.pk]) in text
        for name in NAMES:
            assert name not in text, f"a name from the referral ({name}) is in the mail to {mail['To']}"
    for path in mail_dir.iterdir():  # also the raw files, whatever the transfer encoding
        raw = path.read_bytes()
        assert not [name for name in NAMES if name.encode() in raw], f"a name from the referral is in {path.name}"


def test_filed_referral_is_delivered_by_the_worker(processes, personas, broker_url, mail_dir):
    worker = processes.worker(REDIS_URL=broker_url)
    web, web_url = processes.web(REDIS_URL=broker_url)

    referral, seconds = file_referral(web_url, personas.police_hilden)
    assert referral.youth_office.code == "JA-HIL"
    expected = list(notifications_of(referral))
    # The office's functional mailbox by e-mail, its caseworker and lead in the application.
    assert sorted((n.channel, n.recipient_email or n.recipient_user.username) for n in expected) == [
        (Channel.EMAIL, referral.youth_office.email),
        (Channel.IN_APP, "caseworker_hilden"),
        (Channel.IN_APP, "lead_hilden"),
    ]

    wait_until(lambda: all_delivered(referral), timeout=30, what="the worker to deliver every notification")
    wait_until(lambda: read_mails(mail_dir), timeout=10, what="the mail file")
    check_mails(mail_dir, referral, {referral.youth_office.email})
    assert all(n.attempts == 1 for n in notifications_of(referral))
    assert worker.alive() and web.alive()
    assert "deliver_notification" in worker.log()
    print(f"filed in {seconds:.2f} s; delivered through {broker_url}")


def test_referral_filed_while_the_broker_is_down_is_delivered_once_it_is_back(
    processes, personas, mail_dir, capsys
):  # fmt: skip
    port = free_port()
    redis = processes.redis(port)
    private_broker = f"redis://127.0.0.1:{port}/0"
    worker = processes.worker(beat=True, REDIS_URL=private_broker)
    web, web_url = processes.web(REDIS_URL=private_broker)

    redis.stop()
    assert not redis.alive()
    referral, seconds = file_referral(web_url, personas.police_hilden, urgency="immediate")
    with capsys.disabled():
        print(f"\n[outage] POST /api/v1/referrals/ with the broker down answered 201 in {seconds:.2f} s")
    assert seconds < 10, f"filing took {seconds:.1f} s with the broker down"

    notifications = list(notifications_of(referral))
    office = referral.youth_office
    # Immediate: the functional mailbox and the on-call mailbox, caseworker and lead in the app.
    assert len(notifications) == 4
    time.sleep(4)  # two sweep intervals: nothing can be delivered while the broker is down
    assert not Notification.objects.filter(pk__in=[n.pk for n in notifications], delivered_at__isnull=False).exists()
    assert not read_mails(mail_dir)

    restarted = time.monotonic()
    processes.redis(port)
    wait_until(lambda: all_delivered(referral), timeout=60, what="the sweep to deliver every notification")
    back_after = time.monotonic() - restarted
    with capsys.disabled():
        print(f"[outage] all {len(notifications)} notifications delivered {back_after:.1f} s after Redis came back")

    time.sleep(5)  # more sweeps run: nothing is sent twice
    check_mails(mail_dir, referral, {office.email, office.oncall_email})
    assert all(n.attempts == 1 for n in notifications_of(referral))
    assert worker.alive() and web.alive()
    assert "resend_undelivered" in worker.log()
