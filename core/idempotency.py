"""Idempotent write requests: a client that did not get the answer to a POST (timeout, dropped
connection, 500 after the commit) sends it again with the same key and gets the original answer
instead of a second referral, a second registration or a second notification.

API: every POST of the API honours the ``Idempotency-Key`` header (``IdempotentPostMixin``, used by
every viewset; tests/test_idempotency.py checks each POST operation of the OpenAPI schema).

- Same person, same key, same request (method, path, ``If-Match`` and body, compared as parsed
  JSON or form fields and file contents) → the stored status code and body again, with
  ``Idempotent-Replayed: true``.
- Same person, same key, another request → 422.
- Keys are per person: another person's key is never replayed to you (it is just a new key).
- The stored answer is written in the transaction of the change itself: a committed change always
  has its answer, a change rolled back (5xx) leaves no answer, so the retry does the work.
- A second request with a key whose first request is still in flight waits for it (the unique
  index of the uncommitted first row holds it) up to ``IDEMPOTENCY_WAIT_SECONDS`` and then gets the
  first request's answer; if the first is still not done by then: 409, try again.
- Answers below 500 are stored (a 400 or 409 is the answer to that request, too); answers of 500
  and more are rolled back with the change, and the key is free for the retry.
- Keys are kept ``IDEMPOTENCY_KEY_HOURS`` (at least 24); an expired key is deleted when it is used
  again and by the hourly beat job ``core.tasks.purge_idempotency_keys``.

Pages: the referral form carries a token per rendered form (``form_token``) used the same way, so
a double submit files one referral and redirects to it (``referrals.views``).
"""

import hashlib
import json
import re
import secrets
from contextlib import contextmanager

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples (UUIDs)
FORM_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Headers of an answer that belong to it and are replayed with it.
STORED_HEADERS = ("Content-Type", "ETag", "Location", "Content-Disposition")
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used for a different request. Use a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class KeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy(
        "A request with this Idempotency-Key is still being processed. Send it again in a moment."
    )
    default_code = "idempotency_key_in_flight"


class Replay(Exception):
    """The request was answered before: ``stored`` holds that answer."""

    def __init__(self, stored: IdempotencyKey):
        super().__init__(stored.pk)
        self.stored = stored


def key_lifetime():
    return timezone.timedelta(hours=max(24, settings.IDEMPOTENCY_KEY_HOURS))


@contextmanager
def _lock_timeout(seconds: float):
    """Bound the wait for a concurrent request's uncommitted key (PostgreSQL; SQLite serialises
    writers itself). Set for the transaction (savepoint) and put back after the insert; if the insert
    fails, rolling back its savepoint puts the setting back."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (previous,) = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(seconds * 1000)}ms"])
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def _lock_timed_out(exc: OperationalError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "pgcode", None) == LOCK_NOT_AVAILABLE or getattr(cause, "sqlstate", None) == (
        LOCK_NOT_AVAILABLE
    )


def idempotency_claim(*, user, key: str, request_hash: str, method: str, path: str) -> IdempotencyKey:
    """Claim ``key`` of ``user`` for this request, inside the caller's transaction, or raise.

    Raises ``Replay`` with the stored answer for a retry, ``KeyReused`` (422) if the key was used for
    another request, ``KeyInFlight`` (409) if the first request with the key did not finish within
    ``IDEMPOTENCY_WAIT_SECONDS``. The returned row must get its answer (``idempotency_store``) in the
    same transaction as the change.
    """
    now = timezone.now()
    IdempotencyKey.objects.filter(user=user, key=key).expired(now).delete()
    existing = IdempotencyKey.objects.filter(user=user, key=key).first()
    if existing is None:
        try:
            with transaction.atomic(), _lock_timeout(settings.IDEMPOTENCY_WAIT_SECONDS):
                return IdempotencyKey.objects.create(
                    user=user, key=key, request_hash=request_hash, method=method, path=path[:300],
                    created_at=now, expires_at=now + key_lifetime(),
                )  # fmt: skip
        except IntegrityError:
            # A request with the same key committed while this one waited for it: its answer counts.
            existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        except OperationalError as exc:
            if _lock_timed_out(exc):
                raise KeyInFlight() from None
            raise
        if existing is None:  # the other request's row expired or was purged in this very moment
            raise KeyInFlight()
    if existing.request_hash != request_hash:
        raise KeyReused()
    raise Replay(existing)


def idempotency_store(claim: IdempotencyKey, response) -> None:
    """Store ``response`` as the answer to the claimed request, in the transaction of the change.
    A server error is not an answer to keep: the transaction is rolled back (the change and the
    claim with it), and the retry does the work."""
    if response.status_code >= 500:
        transaction.set_rollback(True)
        return
    if getattr(response, "streaming", False):  # no POST answers with a stream; never keep half of one
        claim.delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    claim.status_code = response.status_code
    claim.response_body = bytes(response.content)
    claim.response_headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    claim.save(update_fields=["status_code", "response_body", "response_headers"])


def replayed_response(stored: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(stored.response_body), status=stored.status_code)
    for name, value in stored.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_keys_purge(*, now=None) -> int:
    """Delete every expired key (their answers can hold case contents). Returns how many."""
    deleted, _by_model = IdempotencyKey.objects.expired(now or timezone.now()).delete()
    return deleted


# --- the API: one mixin for every viewset ----------------------------------------------------------


def _canonical(value):
    """The request body as comparable data: JSON and form fields as values, files by name, size and
    content digest (the file is rewound for the view)."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    if hasattr(value, "lists"):  # QueryDict, MultiValueDict
        return {str(k): [_canonical(v) for v in values] for k, values in value.lists()}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def request_hash(request) -> str:
    """What makes two requests "the same" for a key: method, path with query, ``If-Match`` and body."""
    try:
        canonical = json.dumps(
            {
                "method": request.method,
                "path": request.get_full_path(),
                "if_match": request.headers.get("If-Match"),
                "body": _canonical(request.data),
            },
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
    except RecursionError:
        raise exceptions.ParseError() from None
    return hashlib.sha256(canonical.encode()).hexdigest()


def header_key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise exceptions.ValidationError(
            {HEADER: [_("The Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID.")]}
        )
    return key


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique value per intended request (e.g. a UUID), 1–255 visible ASCII characters. A retry "
    "with the same key and the same request gets the original status and body again (header "
    "`Idempotent-Replayed: true`) instead of doing it twice; the same key with another request: 422; while "
    "the first request with the key is still running the retry waits for it (409 if it takes too long). "
    "Keys are per person and kept at least 24 hours.",
)


class IdempotentAutoSchema(AutoSchema):
    """Documents the ``Idempotency-Key`` header on every POST of a viewset with the mixin."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        return parameters


class IdempotentPostMixin:
    """Makes every POST of a DRF view idempotent under ``Idempotency-Key`` (module docstring).

    With the header the whole request runs in one transaction: the key is claimed after
    authentication (so the person is known and a refused login claims nothing), the view does its
    work, and the answer is stored before the commit."""

    schema = IdempotentAutoSchema()
    _idempotency_claim = None

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST" or HEADER not in request.headers:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            key = header_key(request)
            if key is not None:
                self._idempotency_claim = idempotency_claim(
                    user=request.user, key=key, request_hash=request_hash(request), method=request.method,
                    path=request.path,
                )  # fmt: skip

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return replayed_response(exc.stored)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claim, self._idempotency_claim = self._idempotency_claim, None
        if claim is not None:
            idempotency_store(claim, response)
        return response


# --- pages: a token per rendered form --------------------------------------------------------------


def form_token(posted: str | None = None) -> str:
    """The token of a form about to be rendered: the one it was posted with (a form shown again with
    errors keeps it, since nothing was saved), else a new one."""
    if posted and FORM_TOKEN_PATTERN.match(posted):
        return posted
    return secrets.token_urlsafe(32)


def form_claim(*, user, token: str | None, path: str) -> IdempotencyKey | None:
    """Claim a posted form's token inside the transaction of the change; ``None`` for a post without
    a (well-formed) token, which is then not protected. Raises ``Replay`` for a form already sent —
    the stored answer is the redirect to what it made."""
    if not token or not FORM_TOKEN_PATTERN.match(token):
        return None
    try:
        return idempotency_claim(
            user=user, key=f"form:{token}", request_hash=hashlib.sha256(path.encode()).hexdigest(), method="POST",
            path=path,
        )  # fmt: skip
    except KeyReused:
        # The same rendered form sent to another page (edited by hand): protect nothing, refuse nothing.
        return None
