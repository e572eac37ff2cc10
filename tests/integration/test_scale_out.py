"""Several nodes on shared PostgreSQL, Redis and object storage (issue 17 § 4), as separate processes
on this machine: two gunicorn nodes on two ports (each with a local folder of its own), two Celery
workers and one beat, a private Redis and moto's S3 server.

- A referral filed on node A with an attachment is read and the attachment downloaded on node B;
  the office is notified exactly once with both workers running.
- Node A is killed (SIGKILL) while clients file on it: node B keeps answering, and every referral in
  the database is complete (children, persons, its notifications) — none half-written.
- The backup and restore drill of docs/betrieb.md: ``pg_dump`` + ``files_export`` → a fresh database
  (``pg_restore``) and a fresh bucket (``files_import``) → a node booted on them is ready, and the
  caseworker sees the same cases and downloads the same files.
"""

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.urls import reverse

from notifications.models import Channel, Notification
from referrals.models import Attachment, Referral
from tests.factories import api_token, referral_payload

from .conftest import BIN, ROOT, free_port, post_json, read_mails, subprocess_database_url, wait_until
from .objectstore import create_bucket, download, local_files, moto, s3_env, upload_attachment

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4\n" + b"Anlage " * 3000 + b"\n%%EOF\n"


def get_json(url: str, token: str, timeout: float = 10) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def start_cluster(processes, tmp_path, *, beat: bool = True):
    """Private Redis and S3 store, two workers, (one beat), two web nodes. Returns (url_a, url_b, node_a, store)."""
    redis_port, s3_port = free_port(), free_port()
    processes.redis(redis_port)
    moto(processes, s3_port)
    bucket = create_bucket(s3_port)
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "BEAT_LOCK_SECONDS": "6", **s3_env(s3_port, bucket)}
    workers = [
        processes.start(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "default,notifications,scheduling",
                "-c",
                "1",
                "--pool=solo",
                "-l",
                "info",
                "-n",
                f"itest-{uuid.uuid4().hex[:8]}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            VAR_DIR=str(tmp_path / f"worker{i}"),
            **env,
        )  # fmt: skip
        for i in (1, 2)
    ]
    if beat:
        processes.start(
            "beat", [str(BIN / "celery"), "-A", "config", "beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")],
            VAR_DIR=str(tmp_path / "beat"), **env,
        )  # fmt: skip
    node_a, url_a = processes.web(VAR_DIR=str(tmp_path / "node-a"), **env)
    node_b, url_b = processes.web(VAR_DIR=str(tmp_path / "node-b"), **env)
    for worker in workers:
        processes.wait_for_log(worker, " ready.")
    return url_a, url_b, node_a, env


def notifications_of(referral: Referral):
    return Notification.objects.filter(link=reverse("referrals:detail", args=[referral.pk]))


def test_two_nodes_share_files_notify_once_and_survive_a_killed_node(processes, personas, tmp_path, mail_dir, capsys):
    url_a, url_b, node_a, env = start_cluster(processes, tmp_path)
    police, caseworker = api_token(personas.police_hilden), api_token(personas.caseworker_hilden)

    status, body = post_json(f"{url_a}/api/v1/referrals/", referral_payload(), token=police)
    assert status == 201, body
    referral = Referral.objects.filter(created_by=personas.police_hilden).latest("pk")
    status, body = upload_attachment(url_a, referral.pk, caseworker, PDF)
    assert status == 201, body
    status, detail = get_json(f"{url_b}/api/v1/referrals/{referral.pk}/", caseworker)
    assert status == 200 and detail["reference"] == referral.reference
    status, content = download(f"{url_b}/api/v1/referrals/{referral.pk}/attachments/{body['id']}/", caseworker)
    assert status == 200 and content == PDF
    for node in ("node-a", "node-b"):
        assert local_files(tmp_path / node / "private") == []

    def delivered():
        rows = list(notifications_of(referral))
        return rows if rows and all(n.delivered_at for n in rows) else None

    rows = wait_until(delivered, timeout=30, what="both workers to deliver the office's notifications")
    time.sleep(5)  # more sweeps of beat, both workers idle: nothing is sent again
    rows = list(notifications_of(referral))
    assert all(n.attempts == 1 for n in rows), [(n.pk, n.attempts) for n in rows]
    mails = Counter(m["To"] for m in read_mails(mail_dir) if referral.reference in m["Subject"] + m.get_content())
    assert mails == Counter({referral.youth_office.email: 1}), dict(mails)
    assert {n.channel for n in rows} == {Channel.EMAIL, Channel.IN_APP}

    # Load on node A, then SIGKILL it in the middle; node B is asked all the while.
    load_token = api_token(personas.police_hilden2)
    accepted, errors, b_answers = [], Counter(), []
    stop = threading.Event()

    def file_on_a():
        while not stop.is_set():
            try:
                status, body = post_json(f"{url_a}/api/v1/referrals/", referral_payload(), token=load_token, timeout=5)
            except OSError as exc:
                errors[type(exc).__name__] += 1
                time.sleep(0.1)
                continue
            if status == 201:
                accepted.append(body.get("reference"))
            else:
                errors[status] += 1

    def ask_b():
        while not stop.is_set():
            started = time.monotonic()
            status, _ = get_json(f"{url_b}/api/v1/referrals/?limit=5", caseworker)
            b_answers.append((status, time.monotonic() - started))
            time.sleep(0.1)

    threads = [threading.Thread(target=file_on_a, daemon=True) for _ in range(3)] + [
        threading.Thread(target=ask_b, daemon=True)
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(accepted) >= 5, timeout=30, what="filings on node A")
    os.killpg(node_a.pid, signal.SIGKILL)
    killed_at = len(b_answers)
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(10)

    after = b_answers[killed_at:]
    assert after and all(status == 200 for status, _ in after), after
    assert max(seconds for _, seconds in after) < 2, after
    assert not node_a.alive()
    # None half-written: every referral of the load has its reference, child, person and notifications.
    filed = Referral.objects.filter(created_by=personas.police_hilden2)
    assert set(accepted) <= set(filed.values_list("reference", flat=True))
    for row in filed:
        assert row.reference and row.youth_office_id and row.submitted_at, row.pk
        assert row.children.count() == 1 and row.persons.count() == 1, row.pk
        assert notifications_of(row).exists(), row.pk
    with capsys.disabled():
        print(
            f"\n[scale-out] {len(accepted)} filings accepted by node A before SIGKILL "
            f"({filed.count()} in the database, all complete; client errors {dict(errors)}); "
            f"node B answered {len(after)} requests after the kill, slowest {max(s for _, s in after):.2f} s"
        )


def run_manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def run(*args: str) -> None:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(args[:2])}: {result.stderr}"


def test_backup_and_restore_drill(processes, personas, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the drill uses pg_dump and pg_restore: run with DATABASE_URL=postgres://...")
    url_a, _, _, env = start_cluster(processes, tmp_path, beat=False)
    police, caseworker = api_token(personas.police_hilden), api_token(personas.caseworker_hilden)
    files = {}
    for _ in range(2):
        status, body = post_json(f"{url_a}/api/v1/referrals/", referral_payload(), token=police)
        assert status == 201, body
        referral = Referral.objects.filter(created_by=personas.police_hilden).latest("pk")
        content = PDF + uuid.uuid4().hex.encode()
        status, body = upload_attachment(url_a, referral.pk, caseworker, content)
        assert status == 201, body
        files[(referral.pk, body["id"])] = content
    status, before = get_json(f"{url_a}/api/v1/referrals/?limit=50", caseworker)
    assert status == 200
    seen_before = sorted(r["reference"] for r in before["results"])
    assert len(seen_before) >= 2

    # Backup (docs/betrieb.md): the database first, then the files.
    source_url = subprocess_database_url()
    dump, folder = tmp_path / "kinderschutz.dump", tmp_path / "dateien"
    run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source_url)
    node_env = {**processes.env, **env}
    run_manage(node_env, "files_export", str(folder))
    assert len(local_files(folder)) == Attachment.objects.count() == 2

    # Restore into a fresh database and a fresh bucket.
    restored_name = f"kk_restore_{uuid.uuid4().hex[:8]}"
    base = source_url.rsplit("/", 1)[0]
    run("psql", f"{base}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{restored_name}"')
    try:
        run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={base}/{restored_name}", str(dump))
        s3_port = int(env["STORAGE_URL"].split("127.0.0.1:")[1].split("&")[0])
        new_store = s3_env(s3_port, create_bucket(s3_port))
        restored_env = {**node_env, **new_store, "DATABASE_URL": f"{base}/{restored_name}"}
        run_manage(restored_env, "migrate", "--check")
        run_manage(restored_env, "files_import", str(folder))

        node, url = processes.web(
            VAR_DIR=str(tmp_path / "restored"), DATABASE_URL=restored_env["DATABASE_URL"], **new_store
        )
        with urllib.request.urlopen(f"{url}/health/ready", timeout=10) as response:
            assert response.status == 200
        status, after = get_json(f"{url}/api/v1/referrals/?limit=50", caseworker)
        assert status == 200
        assert sorted(r["reference"] for r in after["results"]) == seen_before
        for (referral_pk, attachment_pk), content in files.items():
            status, got = download(f"{url}/api/v1/referrals/{referral_pk}/attachments/{attachment_pk}/", caseworker)
            assert status == 200 and got == content
        node.stop()
    finally:
        subprocess.run(
            ["psql", f"{base}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)'],
            capture_output=True,
            timeout=60,
        )
