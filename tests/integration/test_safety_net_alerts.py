"""Each on-call alert of the safety net (issue 9 §1) reaches its mailbox exactly once through the
outbox, a real Celery worker and Redis — also when Redis is down at the moment of the change: an
immediate referral to triage, its assignment to an office, a re-rating to immediate and a hand-over,
all made through the API while the broker is down."""

import time
from collections import Counter

import pytest
from django.urls import reverse

from agencies.models import Agency
from notifications.models import Channel, Notification
from referrals.models import Referral, ReferralEvent
from tests.factories import api_token, referral_payload

from .conftest import free_port, post_json, read_mails, wait_until

pytestmark = pytest.mark.integration

NAMES = ("Mia", "Tom", "Beispiel", "Mittelstraße")


def _post(web_url, user, path, data):
    status, body = post_json(f"{web_url}{path}", data, token=api_token(user))
    assert status in (200, 201), f"POST {path} answered {status}: {body}"
    return body


def _alerts():
    return Notification.objects.filter(channel=Channel.EMAIL, kind__startswith="oncall_")


def test_every_alert_exactly_once_with_the_broker_down(processes, personas, mail_dir, capsys):
    port = free_port()
    redis = processes.redis(port)
    broker = f"redis://127.0.0.1:{port}/0"
    worker = processes.worker(beat=True, REDIS_URL=broker)
    web, web_url = processes.web(REDIS_URL=broker)
    redis.stop()
    assert not redis.alive()

    started = time.monotonic()
    # 1. Friday night, an immediate referral for an address outside the district: triage.
    body = _post(web_url, personas.police_hilden, "/api/v1/referrals/",
                 referral_payload(urgency="immediate", postcode="10115", city="Berlin"))  # fmt: skip
    triage = Referral.objects.get(pk=body["id"])
    assert triage.status == "triage"
    # 2. The coordinator assigns it to Hilden.
    hilden, velbert = Agency.objects.get(code="JA-HIL"), Agency.objects.get(code="JA-VEL")
    _post(web_url, personas.district_coordinator, f"/api/v1/referrals/{triage.pk}/assign-office/",
          {"youth_office": hilden.pk})  # fmt: skip
    # 3. A routine referral to Hilden, re-rated to immediate before anyone acknowledged it ...
    body = _post(web_url, personas.police_hilden, "/api/v1/referrals/",
                 referral_payload(urgency="routine", postcode="40723", city="Hilden"))  # fmt: skip
    routine = Referral.objects.get(pk=body["id"])
    _post(web_url, personas.caseworker_hilden, f"/api/v1/referrals/{routine.pk}/rerate/",
          {"urgency": "immediate", "reason": "Lage verschärft", "version": routine.version})  # fmt: skip
    routine.refresh_from_db()
    # 4. ... and handed over to Velbert.
    _post(web_url, personas.caseworker_hilden, f"/api/v1/referrals/{routine.pk}/forward/",
          {"to_office": velbert.pk, "reason": "Umzug", "version": routine.version})  # fmt: skip
    seconds = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[outage] four changes through the API with the broker down in {seconds:.2f} s")

    expected = Counter(
        {
            "rufbereitschaft-kinderschutz@kreis-mettmann.example": 1,  # triage
            hilden.oncall_email: 2,  # assigned, re-rated
            velbert.oncall_email: 1,  # forwarded
        }
    )
    alerts = list(_alerts())
    assert Counter(n.recipient_email for n in alerts) == expected
    assert sorted(n.kind for n in alerts) == ["oncall_assigned", "oncall_forwarded", "oncall_rerated", "oncall_triage"]
    for referral, causes in ((triage, ["triage", "assigned"]), (routine, ["rerated", "forwarded"])):
        events = ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.ALERTED).order_by("at", "pk")
        assert [e.data["cause"] for e in events] == causes  # each in the case history
    time.sleep(4)  # two sweep intervals: nothing can be delivered while the broker is down
    assert not _alerts().filter(delivered_at__isnull=False).exists()

    restarted = time.monotonic()
    processes.redis(port)
    wait_until(
        lambda: not Notification.objects.filter(delivered_at__isnull=True).exists(),
        timeout=90,
        what="the sweep to deliver every notification",
    )
    with capsys.disabled():
        print(f"[outage] every notification delivered {time.monotonic() - restarted:.1f} s after Redis came back")
    time.sleep(5)  # more sweeps: nothing is sent twice

    mails = [m for m in read_mails(mail_dir) if "oncall" in m["To"] or "rufbereitschaft" in m["To"]]
    assert Counter(m["To"] for m in mails) == expected
    numbers = [n for n in Agency.objects.values_list("oncall_phone", flat=True) if n]
    for mail in read_mails(mail_dir):
        text = f"{mail['Subject']}\n{mail.get_content()}"
        for secret in (*NAMES, *numbers):
            assert secret not in text, f"{secret!r} in the mail to {mail['To']}"
    for mail in mails:
        text = mail.get_content()
        assert any(reverse("referrals:detail", args=[r.pk]) in text for r in (triage, routine))
    assert all(n.attempts == 1 for n in _alerts())
    assert worker.alive() and web.alive()
