"""Integration tests run real processes: a Celery worker (with embedded beat where needed), the web
application under gunicorn and, for the outage test, a private Redis server. Nothing is mocked and
nothing runs eagerly. The processes share the test database pytest-django created, so every test
uses ``transactional_db`` (data is committed and visible to them).

Environment: ``REDIS_URL`` (default ``redis://127.0.0.1:6379/14``) is the broker of the happy-path
test; the outage test starts its own ``redis-server`` on a free port and never touches the machine's.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv running pytest: .venv/bin
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
LOG_TAIL_LINES = 200


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures know in teardown whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def subprocess_database_url() -> str:
    """The database pytest-django created for this run, as a URL the subprocesses' settings read."""
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user = urllib.parse.quote(settings.get("USER") or "", safe="")
        password = urllib.parse.quote(settings.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings.get("HOST") or "127.0.0.1"
        port = settings.get("PORT") or "5432"
        return f"postgres://{auth}{host}:{port}/{urllib.parse.quote(settings['NAME'], safe='')}"
    if connection.vendor == "sqlite":
        name = str(settings["NAME"])
        if connection.is_in_memory_db() or not name:
            pytest.fail(
                "Integration tests start other processes, which cannot see SQLite's in-memory test database. "
                "Run them against PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/kinderschutz "
                "(as .ci/run does)."
            )
        return f"sqlite:///{Path(name).resolve()}"
    pytest.fail(f"Integration tests do not support the {connection.vendor} database backend.")


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


class Process:
    """One subprocess in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], *, env: dict, log_dir: Path):
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the leader (graceful), then SIGKILL to whatever is left of its group."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.popen.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # pool processes, embedded beat
        except (ProcessLookupError, PermissionError):
            pass
        self.popen.wait()


class Processes:
    """Starts the system's processes for one test and stops all of them afterwards."""

    def __init__(self, *, env: dict, tmp: Path):
        self.env = env
        self.tmp = tmp
        self.started: list[Process] = []

    def start(self, name: str, args: list[str], **extra_env) -> Process:
        process = Process(name, args, env={**self.env, **extra_env}, log_dir=self.tmp)
        self.started.append(process)
        return process

    def wait_for_log(self, process: Process, text: str, *, timeout: float = 60) -> None:
        def seen():
            if not process.alive():
                pytest.fail(f"{process.name} exited with {process.popen.returncode} before '{text}':\n{process.log()}")
            return text in process.log()

        wait_until(seen, timeout=timeout, what=f"'{text}' from {process.name}")

    def redis(self, port: int) -> Process:
        """A private Redis server (no persistence) on ``port``; ready when it answers."""
        redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
        process = self.start(
            "redis",
            [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.tmp)],
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        wait_until(lambda: redis_answers(url) or not process.alive(), timeout=20, what="the private Redis")
        assert process.alive(), f"redis-server did not start:\n{process.log()}"
        return process

    def worker(self, *, beat: bool = False, **extra_env) -> Process:
        args = [str(BIN / "celery"), "-A", "config", "worker", "-Q", "default,notifications", "-c", "1",
                "--pool=solo", "-l", "info", "-n", f"itest-{uuid.uuid4().hex[:8]}@%h", "--without-mingle",
                "--without-gossip"]  # fmt: skip
        if beat:
            args += ["-B", "-s", str(self.tmp / f"beat-{uuid.uuid4().hex[:6]}")]
        process = self.start("worker", args, **extra_env)
        self.wait_for_log(process, " ready.")
        return process

    def web(self, **extra_env) -> tuple[Process, str]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = self.start(
            "web",
            [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "4", "--timeout", "60", "--graceful-timeout", "5", "--access-logfile", "-"],
            **extra_env,
        )  # fmt: skip

        def answers():
            if not process.alive():
                pytest.fail(f"the web server exited with {process.popen.returncode}:\n{process.log()}")
            try:
                urllib.request.urlopen(f"{url}/api/v1/", timeout=2)
            except urllib.error.HTTPError:
                return True  # any HTTP answer: the server is up
            except OSError:
                return False
            return True

        wait_until(answers, timeout=60, what="the web server")
        return process, url

    def stop_all(self, *, show_logs: bool) -> None:
        for process in reversed(self.started):
            process.stop()
        if show_logs:
            for process in self.started:
                lines = process.log().splitlines()[-LOG_TAIL_LINES:]
                print(f"\n===== {process.name} (pid {process.pid}): {' '.join(process.args)}", file=sys.stderr)
                print("\n".join(lines), file=sys.stderr)


@pytest.fixture(scope="session")
def broker_url() -> str:
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if not redis_answers(url):
        pytest.fail(
            f"Redis does not answer at {url}: start it or set REDIS_URL (integration tests need a real broker)."
        )
    return url


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def processes(request, transactional_db, tmp_path, mail_dir):
    """Start processes with ``processes.worker()``, ``.web()``, ``.redis(port)``. All of them are
    stopped at teardown (before the test database is flushed), their logs shown if the test failed."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "DEBUG": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": subprocess_database_url(),
        "EMAIL_URL": f"filemail://{mail_dir}",
        "NOTIFICATION_RESEND_AFTER_SECONDS": "2",
        "NOTIFICATION_SWEEP_SECONDS": "2",
        # A beat killed by a test leaves its lock in Redis until it runs out (config.beat): keep that short.
        "BEAT_LOCK_SECONDS": "6",
        "VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "INFO",
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    manager = Processes(env=env, tmp=tmp_path)
    try:
        yield manager
    finally:
        failed = any(getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
                     for when in ("setup", "call"))  # fmt: skip
        manager.stop_all(show_logs=failed)


def post_json(url: str, data: dict, *, token: str, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(data).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body or b"{}")
        except ValueError:
            return exc.code, {"body": body.decode(errors="replace")[:2000]}


def read_mails(mail_dir: Path) -> list:
    """Every message the file backend wrote (it may put several messages into one file), parsed with
    the modern e-mail policy: ``mail["Subject"]`` and ``mail.get_content()`` are decoded text."""
    from email import message_from_bytes
    from email.policy import default

    messages = []
    for path in sorted(mail_dir.glob("*")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(message_from_bytes(chunk.lstrip(b"\n"), policy=default))
    return messages
