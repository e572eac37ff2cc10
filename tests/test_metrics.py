"""Prometheus metrics (issue 17 § 2): only configured internal addresses; request metrics of
django-prometheus and the product's own gauges, without personal data."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import Notification
from referrals.models import Escalation
from tests.factories import make_referral

NAMES = (
    "django_http_requests_total_by_method_total",
    "django_http_requests_latency_seconds_by_view_method",
    "kinderschutz_notifications_undelivered",
    "kinderschutz_notifications_oldest_undelivered_age_seconds",
    "kinderschutz_referrals_overdue",
    "kinderschutz_escalations_sent",
    "kinderschutz_file_deletions_pending",
)


def scrape(address: str):
    return Client(REMOTE_ADDR=address).get("/metrics")


@pytest.mark.django_db
def test_allowed_address_gets_the_metrics(personas, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    referral = make_referral(personas.police_hilden)  # routed to JA-HIL, notification waiting
    past = timezone.now() - datetime.timedelta(days=5)
    type(referral).objects.filter(pk=referral.pk).update(due_at=past, acknowledged_at=None)
    Escalation.objects.create(referral=referral, kind=Escalation.Kind.OVERDUE, due_at=past)
    Client().get("/health/live")  # one request counted by django-prometheus

    response = scrape("10.1.2.3")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in NAMES:
        assert name in text, name
    assert 'kinderschutz_referrals_overdue{office="JA-HIL"} 1.0' in text
    assert 'kinderschutz_escalations_sent{kind="overdue"} 1.0' in text
    undelivered = Notification.objects.undelivered().count()
    assert f"kinderschutz_notifications_undelivered {float(undelivered)}" in text
    # Names and labels only: a sample value (a float such as a timestamp) may contain any digits.
    names_and_labels = " ".join(line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#"))
    for word in ("Mia", "Beispiel", "40723", referral.reference):
        assert word not in names_and_labels, word
    for word in ("Mia", "Beispiel", referral.reference):
        assert word not in text, word


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["192.168.1.5", "10.0.0.1", "::1"])
def test_other_addresses_get_404(settings, address):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "10.0.0.1/32"] if address != "10.0.0.1" else ["127.0.0.1"]
    response = scrape(address)
    assert response.status_code == 404
    assert b"kinderschutz_" not in response.content


@pytest.mark.django_db
def test_queue_lengths_from_redis(settings):
    import redis

    url = "redis://127.0.0.1:6379/12"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    client.delete("notifications")
    client.rpush("notifications", "a", "b", "c")
    settings.CELERY_BROKER_URL = url
    try:
        text = scrape("127.0.0.1").content.decode()
    finally:
        client.delete("notifications")
    assert 'kinderschutz_celery_queue_length{queue="notifications"} 3.0' in text
