"""Metrics of a node with several gunicorn workers (issue 17 § 2): with ``PROMETHEUS_MULTIPROC_DIR``
set, ``/metrics`` reports the sum over every worker process of the node, whichever worker answers the
scrape — without it, each scrape would show only the counts of the worker that happened to answer."""

import concurrent.futures
import json
import re
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict

from .conftest import BIN, free_port, wait_until

pytestmark = pytest.mark.integration

METRIC = "django_http_requests_total_by_method_total"
REQUESTS = 240


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.read()


def scraped_get_count(url: str) -> float:
    body = get(f"{url}/metrics").decode()
    match = re.search(rf'^{METRIC}\{{method="GET"\}} ([0-9.e+]+)$', body, re.M)
    assert match, body[:2000]
    return float(match.group(1))


def get_count_per_worker(folder: Path) -> Counter:
    """The GET count each worker process wrote to its own file (``counter_<pid>.db``)."""
    counts = Counter()
    for path in folder.glob("counter_*.db"):
        for key, value, *_rest in MmapedDict.read_all_values_from_file(str(path)):
            _metric, name, labels, _help = json.loads(key)
            if name == METRIC and labels.get("method") == "GET":
                counts[path.name] += value
    return counts


def test_metrics_sum_over_the_workers_of_a_node(processes, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.start(
        "web",
        [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "2", "--timeout", "60", "--graceful-timeout", "5"],
        PROMETHEUS_MULTIPROC_DIR=str(folder),
    )  # fmt: skip

    def answers():
        try:
            get(f"{url}/health/live")
        except OSError:
            return False
        return True

    wait_until(answers, timeout=60, what="the web server")

    # Requests from several clients at once, so that both workers serve some of them.
    sent = 1  # the probe above
    for _round in range(5):
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _i: get(f"{url}/health/live"), range(REQUESTS)))
        sent += REQUESTS
        per_worker = get_count_per_worker(folder)
        if len([count for count in per_worker.values() if count > 0]) >= 2:
            break
    assert len([count for count in per_worker.values() if count > 0]) >= 2, per_worker
    assert max(per_worker.values()) < sent  # neither worker alone has seen every request

    # Every scrape — whichever worker answers it — reports the node's total; each scrape is a GET
    # too, counted as it arrives (before the counts are read).
    for scrape in range(1, 7):
        assert scraped_get_count(url) == sent + scrape
