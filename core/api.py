"""The one API error handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``): whatever a service or a
client causes becomes a 4xx with a readable message, never a 500.

Services raise Django's exceptions (they know nothing of HTTP); views let them through, and this
handler translates them for every API module alike:

- ``ValidationError`` → 400, its field paths nested like DRF's own errors (``nest_errors``);
- ``PermissionDenied`` → 403 with the service's reason (the caller sees the object but lacks the
  right); ``Http404`` → 404;
- ``core.errors.StaleVersion`` (someone else changed the object since the client read it) → 409, or 412 when the
  client sent its version as ``If-Match`` (``mark_precondition``), with the current ``version`` and
  ``ETag``;
- a malformed body that got past the parser → 400.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import StaleVersion
from .storage import STORE_RETRY_AFTER, StoreUnavailable

__all__ = ["StaleVersion", "VersionConflict", "exception_handler", "mark_precondition", "nest_errors"]


class VersionConflict(exceptions.APIException):
    """Someone else changed the object since the client read it; nothing was written. 409 Conflict
    when the client sent the version in the body, 412 Precondition Failed when it sent ``If-Match``.
    The answer carries the current ``version`` (and its ``ETag``) so the client can reload."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The object was changed by someone else in the meantime. Reload it and try again.")
    default_code = "conflict"

    def __init__(self, detail=None, *, version: int, precondition: bool = False):
        super().__init__(detail)
        self.version = version
        if precondition:
            self.status_code = status.HTTP_412_PRECONDITION_FAILED


def mark_precondition(request) -> None:
    """The client sent its version as ``If-Match``: a stale version answers 412, not 409."""
    request.version_precondition = True


def nest_errors(flat: dict) -> dict:
    """``{"children.0.last_name": [...]}`` → ``{"children": [{"last_name": [...]}]}``: the same shape
    as DRF's own nested errors, so a client reads one format whichever check found the problem."""
    nested: dict = {}
    for path, messages in flat.items():
        *parents, leaf = path.split(".")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            if isinstance(child, list):  # list-level messages already there: keep them beside
                child = node[part] = {"non_field_errors": child}
            node = child
        if isinstance(node.get(leaf), dict):
            node[leaf].setdefault("non_field_errors", []).extend(messages)
        else:
            node.setdefault(leaf, []).extend(messages)
    return _lists(nested)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        items = [{} for _ in range(max(int(k) for k in node) + 1)]
        for key, value in node.items():
            items[int(key)] = _lists(value)
        return items
    return {key: _lists(value) for key, value in node.items()}


def exception_handler(exc, context):
    if isinstance(exc, StaleVersion):
        precondition = getattr(context.get("request"), "version_precondition", False)
        exc = VersionConflict(str(exc), version=exc.current_version, precondition=precondition)
    elif isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(nest_errors(exc.message_dict) if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, StoreUnavailable):
        response = Response(
            {"detail": _("The file store cannot be reached right now. Please try again in a minute.")},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(STORE_RETRY_AFTER)
        return response
    elif isinstance(exc, exceptions.ValidationError):
        exc.detail = _no_data_translated(exc.detail)
    response = drf_exception_handler(exc, context)
    if isinstance(exc, VersionConflict) and response is not None:
        response.data["version"] = exc.version
        response["ETag"] = f'"{exc.version}"'
    if response is None and isinstance(exc, OverflowError):  # a number no column holds, a date past 9999
        detail = _("A number or date in the request lies outside the range it can have.")
        return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
    if response is None and isinstance(exc, (UnicodeDecodeError, ValueError)):
        return Response({"detail": _("The request could not be read.")}, status=status.HTTP_400_BAD_REQUEST)
    return response


def _no_data_translated(detail):
    """DRF's untranslated "No data provided" (a body of ``null`` or nothing) in the request's language."""
    if isinstance(detail, dict):
        return {key: _no_data_translated(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_no_data_translated(item) for item in detail]
    if isinstance(detail, exceptions.ErrorDetail) and detail.code == "null" and str(detail) == "No data provided":
        return exceptions.ErrorDetail(_("Send the data as a JSON object."), code="null")
    return detail


def overlapping_shapes_as_any_of(result, generator, request, public):
    """drf-spectacular's postprocessing hook (``SPECTACULAR_SETTINGS``): an answer that takes one of
    several shapes chosen by the caller's relation (``referrals.api.schema.DETAIL_RESPONSE``: the
    office's detail, the police detail with its feedback, the coordinator's triage summary) is
    ``anyOf``, not ``oneOf`` — the shapes overlap (each is open to more properties), so a valid answer
    fits more than one, which ``oneOf`` forbids."""
    for name in OVERLAPPING_SHAPES:
        component = result.get("components", {}).get("schemas", {}).get(name)
        if component and "oneOf" in component:
            component["anyOf"] = component.pop("oneOf")
    return result


OVERLAPPING_SHAPES = ("ReferralDetailForCaller",)


def standard_error_responses(result, generator, request, public):
    """drf-spectacular's postprocessing hook (``SPECTACULAR_SETTINGS``): the error answers every
    operation can give, documented on every operation (QA of 2026-12-05 found 400s of meetings,
    events and hospitations, 403s of the retention rules and the routing preview, 404s of agencies and
    the triage assignment that the schema did not mention, and field errors documented as ``{detail}``):

    - 400 (``ValidationError``): for every operation that takes a body or query parameters. Either
      ``{"detail": "…"}`` or the fields' messages, nested like the input (``nest_errors``);
    - 401: without a valid token or session (``WWW-Authenticate: Token``);
    - 403 (``Error``): the caller's role lacks the right, or a session request lacks its CSRF token;
    - 404 (``Error``): for every operation on an object: outside the caller's scope, or nonexistent;
    - with an ``Idempotency-Key`` (core.idempotency): 422 for a key used for another request, and 409
      while the first request with the key is still running (beside the version's conflict, if any);
    - with a body: 413 (too large) and 415 (another Content-Type).

    An operation's own description of a code (why it refuses) is kept; only the shape of a 400 becomes
    ``ValidationError``."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ValidationError"] = {
        "type": "object",
        "description": 'Either {"detail": "…"} or each field\'s messages, nested like the input: '
        '{"household_address": {"postcode": ["…"]}}, {"children": [{}, {"first_name": ["…"]}]}.',
        "additionalProperties": {},
    }
    defaults = {
        "400": ("ValidationError", "Invalid input: the message says which field and why."),
        "401": ("Error", "Not authenticated: no token or session, or an invalid one."),
        "403": ("Error", "Not allowed for the caller's role, or a session request without its CSRF token."),
        "404": ("Error", "Outside the caller's scope, or nonexistent."),
    }
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            takes_input = "requestBody" in operation or any(
                parameter.get("in") == "query" for parameter in operation.get("parameters", [])
            )
            public_operation = {} in operation.get("security", [{"auth": []}])
            wanted = {
                "400": takes_input or "400" in responses,
                "401": not public_operation,
                "403": not public_operation,
                "404": "{" in path or "404" in responses,
            }
            if any(parameter.get("name") == "Idempotency-Key" for parameter in operation.get("parameters", [])):
                in_flight = "The first request with this Idempotency-Key is still running."
                if "409" in responses:  # the version's conflict: either answer
                    conflict = responses["409"]
                    conflict["description"] = f"{conflict.get('description', '')} Or: {in_flight}".strip()
                    for content in conflict.get("content", {}).values():
                        content["schema"] = {"anyOf": [content["schema"], {"$ref": "#/components/schemas/Error"}]}
                else:
                    responses["409"] = _error_response(in_flight)
                responses.setdefault("422", _error_response("This Idempotency-Key was used for another request."))
            if "requestBody" in operation:
                responses.setdefault("413", _error_response("The body is larger than the server takes."))
                responses.setdefault("415", _error_response("A Content-Type the operation does not take."))
            for code, (component, description) in defaults.items():
                if not wanted[code]:
                    continue
                documented = responses.setdefault(code, {"description": description})
                documented["description"] = documented.get("description") or description
                json_content = documented.setdefault("content", {}).setdefault("application/json", {})
                json_content["schema"] = {"$ref": f"#/components/schemas/{component}"}  # its examples are kept
    return result


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
