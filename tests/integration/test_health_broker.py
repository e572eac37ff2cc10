"""/health/ready against a real Redis that goes away (issue 17 § 2 and § 4): 200 while it answers,
503 naming the broker while it is stopped, 200 again once it is back — from a gunicorn node."""

import json
import time
import urllib.error
import urllib.request

import pytest

from .conftest import free_port, wait_until

pytestmark = pytest.mark.integration


def ready(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ready_names_the_broker_while_redis_is_stopped(processes, capsys):
    port = free_port()
    redis = processes.redis(port)
    web, url = processes.web(REDIS_URL=f"redis://127.0.0.1:{port}/0")

    status, body = ready(url)
    assert status == 200, body
    assert body["failing"] == []

    redis.stop()
    started = time.monotonic()
    status, body = ready(url)
    took = time.monotonic() - started
    assert status == 503, body
    assert "broker" in body["failing"]
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"] == "ok"
    # The cache is on the same Redis (CACHES follows REDIS_URL): named too, nothing else.
    assert set(body["failing"]) <= {"broker", "cache"}
    assert took < 8, f"the probe took {took:.1f} s with Redis down"

    processes.redis(port)
    wait_until(lambda: ready(url)[0] == 200, timeout=20, what="ready to answer 200 again")
    assert ready(url)[1]["failing"] == []
    assert web.alive()
    with capsys.disabled():
        print(f"\n[health] ready answered 503 {body['failing']} in {took:.2f} s while Redis was stopped")
