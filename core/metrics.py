"""Prometheus metrics at ``/metrics`` (docs/betrieb.md, "Health und Metriken").

Request rates and latencies come from django-prometheus (its middleware counts every request of the
process). The product's own figures are read from the database and the broker at the moment of the
scrape, so every node answers the same for them:

- ``kinderschutz_notifications_undelivered`` and ``kinderschutz_notifications_oldest_undelivered_age_seconds``
- ``kinderschutz_referrals_overdue{office="JA-HIL"}``: open referrals whose acknowledgement clock ran
  out (the office's code, nothing of the case)
- ``kinderschutz_escalations_sent{kind=...}``: escalations recorded so far (one row per escalation)
- ``kinderschutz_celery_queue_length{queue=...}``: messages waiting in each queue (Redis ``LLEN``;
  absent on the embedded broker)
- ``kinderschutz_file_deletions_pending``: files whose deletion failed and waits for its retry

Only addresses in ``METRICS_ALLOWED_IPS`` (addresses or networks) get an answer; anyone else gets
404, as for a page that does not exist. No personal data: counts, office codes, queue names.
"""

import ipaddress
import os

import redis
from django.conf import settings
from django.db.models import Count, Min
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from core.models import FileDeletion
from notifications.models import Notification
from referrals.models import OPEN_STATUSES, Escalation, Referral

QUEUES = ("default", "notifications", "scheduling")


def _allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class ProductCollector:
    """The product's gauges, computed at scrape time (a few indexed counts)."""

    def collect(self):
        now = timezone.now()
        undelivered = Notification.objects.undelivered().aggregate(n=Count("id"), oldest=Min("created_at"))
        yield GaugeMetricFamily(
            "kinderschutz_notifications_undelivered", "Notifications not yet delivered", value=undelivered["n"]
        )
        age = (now - undelivered["oldest"]).total_seconds() if undelivered["oldest"] else 0.0
        yield GaugeMetricFamily(
            "kinderschutz_notifications_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered notification (0 when none)",
            value=age,
        )

        overdue = GaugeMetricFamily(
            "kinderschutz_referrals_overdue", "Open referrals past their acknowledgement clock", labels=["office"]
        )
        rows = (
            Referral.objects.filter(
                status__in=OPEN_STATUSES, acknowledged_at__isnull=True, due_at__lt=now, youth_office__isnull=False
            )
            .values("youth_office__code")
            .annotate(n=Count("id"))
            .order_by("youth_office__code")
        )
        for row in rows:
            overdue.add_metric([row["youth_office__code"]], row["n"])
        yield overdue

        escalations = GaugeMetricFamily(
            "kinderschutz_escalations_sent", "Escalations sent (recorded) so far, by kind", labels=["kind"]
        )
        counts = dict(Escalation.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
        for kind in Escalation.Kind.values:
            escalations.add_metric([kind], counts.get(kind, 0))
        yield escalations

        yield GaugeMetricFamily(
            "kinderschutz_file_deletions_pending",
            "Files whose deletion failed and is retried",
            value=FileDeletion.objects.count(),
        )

        url = settings.CELERY_BROKER_URL
        if url.startswith(("redis://", "rediss://")):
            queues = GaugeMetricFamily(
                "kinderschutz_celery_queue_length", "Messages waiting in a Celery queue", labels=["queue"]
            )
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            try:
                for queue in QUEUES:
                    queues.add_metric([queue], client.llen(queue))
            except redis.RedisError:
                pass  # the broker is down: the readiness probe says so; the gauge is left out
            finally:
                client.close()
            yield queues


def _registry():
    """django-prometheus' registry of this process, or — with ``PROMETHEUS_MULTIPROC_DIR`` set
    (gunicorn with several workers) — the sum over every worker process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


@never_cache
@require_safe
def metrics(request):
    if not _allowed(request.META.get("REMOTE_ADDR", "")):
        raise Http404
    product = CollectorRegistry(auto_describe=False)
    product.register(ProductCollector())
    body = generate_latest(_registry()) + generate_latest(product)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
