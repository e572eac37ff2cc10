"""An S3-compatible object store for the integration tests: moto's standalone server, started on
127.0.0.1 on a free port; the application's storage code talks real S3 protocol (HTTP) to it."""

import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from .conftest import BIN, Process, Processes, wait_until

ACCESS_KEY = "itest-access"
SECRET_KEY = "itest-secret"  # noqa: S105 - moto accepts any credentials


def moto(processes: Processes, port: int) -> Process:
    """moto's S3 server on ``port``; ready when it answers HTTP."""
    process = processes.start("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)])
    url = f"http://127.0.0.1:{port}"

    def answers():
        if not process.alive():
            pytest.fail(f"moto_server exited:\n{process.log()}")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    wait_until(answers, timeout=30, what="moto's S3 server")
    return process


def s3_env(port: int, bucket: str, prefix: str = "anlagen") -> dict:
    """What a node needs to keep its files in the bucket (settings: STORAGE_URL, AWS credentials)."""
    return {
        "STORAGE_URL": f"s3://{bucket}/{prefix}?endpoint_url=http://127.0.0.1:{port}&region=eu-central-1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def s3_client(port: int):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="eu-central-1",
    )


def create_bucket(port: int, bucket: str | None = None) -> str:
    bucket = bucket or f"kinderschutz-{uuid.uuid4().hex[:8]}"
    s3_client(port).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    return bucket


def s3_storage(port: int, bucket: str, prefix: str = "anlagen"):
    """The storage the nodes use, built the same way (core.storage_options.s3_storage_options), for this process."""
    import os

    from storages.backends.s3 import S3Storage

    from core.storage_options import s3_storage_options

    env = s3_env(port, bucket, prefix)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    return S3Storage(**s3_storage_options(env["STORAGE_URL"]), access_key=ACCESS_KEY, secret_key=SECRET_KEY)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload_attachment(web_url: str, referral_pk: int, token: str, content: bytes) -> tuple[int, dict]:
    import json

    body, content_type = multipart({"confidential": "false"}, {"file": ("bericht.pdf", content, "application/pdf")})
    request = urllib.request.Request(
        f"{web_url}/api/v1/referrals/{referral_pk}/attachments/",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": "application/json", "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {"body": exc.read().decode(errors="replace")[:2000]}


def download(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def local_files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []
