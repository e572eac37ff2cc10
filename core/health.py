"""Health probes for load balancers and orchestrators (docs/betrieb.md, "Health und Metriken").

``/health/live`` answers 200 as long as the process serves requests: it touches nothing else, so a
database outage does not make the orchestrator restart every web node at once. ``/health/ready``
checks what a request needs — database reachable, every migration applied, broker reachable, file
storage reachable, cache reachable — and answers 503 naming each failing part, so the load balancer
takes the node out of rotation and the operator sees what is wrong.

Both answer without login, second factor or session (``config.middleware`` lets them through; the
permission matrix lists them as exempt) and carry no personal data: the names of the parts and, for a
failing one, the class of the error — never its message, which could hold a host name or password.
"""

import logging
import os
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.storage import private_storage_check

logger = logging.getLogger("core.health")

# Seconds each network probe may take: a probe that hangs longer than the balancer's own timeout is
# worse than a clear 503.
PROBE_TIMEOUT = 2.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_migrations() -> None:
    """Every migration of the code is applied: a node started with new code before ``migrate`` ran
    must not take requests (its queries would fail on missing columns)."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migration(s) not applied")


def check_broker() -> None:
    """Redis answers PING (``REDIS_URL``), or the embedded filesystem broker's folder is writable."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
        return
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")
    if not folder or not os.access(folder, os.W_OK):
        raise RuntimeError("broker folder not writable")


def check_storage() -> None:
    """The private file storage answers: for an object store one HEAD request, for the local
    filesystem the folder is writable."""
    private_storage_check()


def check_cache() -> None:
    cache.set("health:probe", "1", 10)
    if cache.get("health:probe") != "1":
        raise RuntimeError("cache did not return the value just stored")


CHECKS = {
    "database": check_database,
    "migrations": check_migrations,
    "broker": check_broker,
    "storage": check_storage,
    "cache": check_cache,
}
# A part that cannot be checked without the database is not checked while it is down: its error
# would only repeat the database's.
NEEDS_DATABASE = {"migrations", "cache"}


def readiness() -> dict[str, str]:
    """``{part: "ok" | "<ErrorClass>"}`` for every part, in the order of ``CHECKS``."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        # A Redis cache does not depend on the database: it is checked even then.
        redis_cache = name == "cache" and "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]
        if name in NEEDS_DATABASE and results.get("database", "ok") != "ok" and not redis_cache:
            results[name] = "not checked (database)"
            continue
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - every failure of a part is that part failing
            results[name] = type(exc).__name__
            logger.warning("health: %s failing (%s) after %.1f s", name, type(exc).__name__, time.monotonic() - started)
        else:
            results[name] = "ok"
    return results


@never_cache
@require_safe
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def ready(request):
    results = readiness()
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "unavailable" if failing else "ok", "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if failing else 200)
