"""Slow clients cannot stop the service (issue 10 § 10): gunicorn with the production configuration
(config/gunicorn.conf.py, as ``bin/run`` starts it with DEBUG off) keeps answering other clients
within 1 s while slowloris connections — each sending one header line a second and never finishing
its request, reconnecting when dropped — are open; and each slow connection is dropped after the
header deadline instead of holding a thread for ever.

Everything stays on 127.0.0.1; every loop is bounded in time and stops by itself. The figures are
printed (run with ``-s`` to see them).

To see the old configuration fail (2 sync workers, as ``bin/run`` started production before), run
with ``SLOW_CLIENTS_SERVER=sync``: the first test then fails (only a few answers within 1 s)."""

import os
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import BIN, ROOT, free_port, wait_until

pytestmark = pytest.mark.integration

PROBE_PATH = "/accounts/login/"  # a page of the application (no static file, no redirect)
PROBE_LIMIT = 1.0  # seconds another client may wait for an answer


class SlowClient(threading.Thread):
    """One slowloris connection: the request line, then one header line a second, never the blank
    line that ends the headers. When the server drops it, it reconnects (as attack tools do) and
    records how long the server let it hold the connection."""

    def __init__(self, port: int, stop: threading.Event, index: int):
        super().__init__(daemon=True)
        self.port, self.stop, self.index = port, stop, index
        self.held: list[float] = []  # seconds each dropped connection was held by the server

    def run(self):
        while not self.stop.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                self.stop.wait(0.2)
                continue
            opened = time.monotonic()
            try:
                sock.sendall(f"GET {PROBE_PATH}?slow={self.index} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
                line = 0
                while not self.stop.wait(1.0):
                    line += 1
                    sock.sendall(f"X-Slow-{line}: {'a' * 10}\r\n".encode())
                    sock.settimeout(0.01)  # has the server closed the connection?
                    try:
                        if sock.recv(1024) == b"":
                            raise ConnectionResetError
                    except TimeoutError:
                        pass
                    finally:
                        sock.settimeout(5)
            except OSError:
                self.held.append(time.monotonic() - opened)
            finally:
                sock.close()


def probe(url: str) -> float | None:
    """Seconds until another client got its answer, or None if not within ``PROBE_LIMIT``."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url + PROBE_PATH, timeout=PROBE_LIMIT) as response:
            response.read()
            ok = response.status == 200
    except (urllib.error.URLError, OSError):
        return None
    seconds = time.monotonic() - started
    return seconds if ok and seconds <= PROBE_LIMIT else None


def attack(port: int, url: str, *, slow: int, seconds: float) -> dict:
    """``slow`` slowloris connections for ``seconds``, probing with a normal client meanwhile."""
    stop = threading.Event()
    clients = [SlowClient(port, stop, i) for i in range(slow)]
    for client in clients:
        client.start()
    time.sleep(1.5)  # let them connect and take their threads
    answered, failed = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = probe(url)
        if result is None:
            failed += 1
        else:
            answered.append(result)
        time.sleep(0.2)
    stop.set()
    for client in clients:
        client.join(timeout=10)
    held = sorted(h for client in clients for h in client.held)
    return {
        "slow": slow,
        "probes": len(answered) + failed,
        "answered": len(answered),
        "failed": failed,
        "slowest": max(answered, default=0.0),
        "dropped": len(held),
        "held_max": max(held, default=0.0),
    }


def start_server(processes, **extra_env) -> tuple[int, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if os.environ.get("SLOW_CLIENTS_SERVER") == "sync":  # the configuration before issue 10 § 10
        options = ["--workers", "2", "--access-logfile", "-", "--graceful-timeout", "10"]
    else:
        options = ["-c", str(Path(ROOT, "config", "gunicorn.conf.py"))]
    process = processes.start(
        "web",
        [str(BIN / "gunicorn"), "config.wsgi:application", *options, "--bind", f"127.0.0.1:{port}"],
        DEBUG="false",
        SECRET_KEY="integration-test-key-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        **extra_env,
    )

    def answers():
        if not process.alive():
            pytest.fail(f"the web server exited with {process.popen.returncode}:\n{process.log()}")
        return probe(url) is not None

    wait_until(answers, timeout=60, what="the web server")
    return port, url


def report(name: str, figures: dict) -> None:
    print(
        f"\n[{name}] {figures['slow']} slow connections: {figures['answered']}/{figures['probes']} other requests "
        f"answered within {PROBE_LIMIT:.0f} s (slowest {figures['slowest']:.3f} s); slow connections dropped by "
        f"the server: {figures['dropped']} (longest held {figures['held_max']:.1f} s)"
    )


def test_other_clients_are_answered_within_a_second_during_a_slowloris_attack(processes):
    port, url = start_server(processes, WEB_CONCURRENCY="2", WEB_HEADER_TIMEOUT="10")
    for slow, seconds in ((2, 8.0), (10, 13.0)):
        figures = attack(port, url, slow=slow, seconds=seconds)
        report(
            "2 sync workers (old)" if os.environ.get("SLOW_CLIENTS_SERVER") == "sync" else "production config", figures
        )
        assert figures["failed"] == 0, figures
        assert figures["probes"] >= 10
    # With 10 slow connections for 13 s and a 10 s header deadline, the server dropped them.
    assert figures["dropped"] >= 1 and figures["held_max"] <= 10 + 2.5, figures


def test_a_slow_client_ties_up_one_thread_and_only_until_the_header_deadline(processes):
    """One worker with 4 threads: 3 slow clients leave a thread for everyone else; a 4th takes the
    last one, and then another client waits — until the header deadline frees the threads."""
    if os.environ.get("SLOW_CLIENTS_SERVER") == "sync":
        pytest.skip("measures the gthread configuration")
    port, url = start_server(processes, WEB_CONCURRENCY="1", WEB_THREADS="4", WEB_HEADER_TIMEOUT="5")
    figures = attack(port, url, slow=3, seconds=6.0)
    report("1 worker x 4 threads", figures)
    assert figures["failed"] == 0, figures

    stop = threading.Event()
    clients = [SlowClient(port, stop, i) for i in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(1.5)
        started = time.monotonic()
        waited = None
        while waited is None and time.monotonic() - started < 12:  # bounded: two header deadlines
            try:
                with urllib.request.urlopen(url + PROBE_PATH, timeout=12) as response:
                    response.read()
                    waited = time.monotonic() - started
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)
    print(f"\n[1 worker x 4 threads] 4 slow connections: another client was answered after {waited} s")
    assert waited is not None and 1.0 < waited <= 5 + 2.5, waited
