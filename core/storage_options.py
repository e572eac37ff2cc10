"""Settings of the private object store, read by ``config.settings`` before Django is set up: this
module needs nothing of Django's, so the settings can import it (``core.storage`` needs the app registry)."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.config import Config


def s3_storage_options(url: str) -> dict[str, Any]:
    """django-storages ``S3Storage`` options from ``s3://BUCKET[/PREFIX]?endpoint_url=...&region=...``.

    Query parameters: ``endpoint_url`` (any S3-compatible store; unset: AWS), ``region`` (default
    ``eu-central-1``), ``addressing_style`` (``path`` for most self-hosted stores, the default, or
    ``virtual``), ``sse`` (server-side encryption, e.g. ``AES256``). Credentials are not part of the
    URL: boto3 reads ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or an instance role)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("STORAGE_URL must look like s3://BUCKET[/PREFIX]?endpoint_url=https://...")
    query = dict(parse_qsl(parts.query))
    options: dict[str, Any] = {
        "bucket_name": parts.netloc,
        "location": parts.path.strip("/"),
        "region_name": query.get("region", "eu-central-1"),
        "default_acl": "private",  # never publicly readable, whatever the bucket's default is
        "querystring_auth": True,  # url() would only ever give a signed, short-lived link
        "querystring_expire": 60,
        "file_overwrite": False,
        "signature_version": "s3v4",
        "addressing_style": query.get("addressing_style", "path"),
        # A store that does not answer fails fast (the health probe, a download) instead of hanging.
        "client_config": Config(
            connect_timeout=2,
            read_timeout=20,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": query.get("addressing_style", "path")},
            signature_version="s3v4",
        ),
    }
    if query.get("endpoint_url"):
        options["endpoint_url"] = query["endpoint_url"]
    if query.get("sse"):
        options["object_parameters"] = {"ServerSideEncryption": query["sse"]}
    return options
