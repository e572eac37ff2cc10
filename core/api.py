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
