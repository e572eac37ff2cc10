"""DRF wiring shared by every API module: the multipart parser with a size limit (the JSON parser is
``core.parsers``), the answer to a lost concurrent edit, and an exception handler that turns
anything a client can cause into a 4xx with a readable message, never a 500."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.parsers import RequestTooLarge  # the JSON parser lives there too (settings.REST_FRAMEWORK)


class LimitedMultiPartParser(MultiPartParser):
    """Multipart parser for uploads that refuses, with 413 and before reading the body, a request
    larger than one attachment (``ATTACHMENT_MAX_BYTES``) plus the form fields beside it. The exact
    limit per file is the service's to check; this keeps a huge upload from reaching the disk."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        meta = getattr(request, "META", {})
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.ATTACHMENT_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestTooLarge()
        return super().parse(stream, media_type, parser_context)


class VersionConflict(exceptions.APIException):
    """Someone else changed the object since the client read it; nothing was written. 409 Conflict
    when the client sent the version in the body, 412 Precondition Failed when it sent ``If-Match``.
    The answer carries the current ``version`` (and its ``ETag``) so the client can reload."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object was changed by someone else in the meantime. Reload it and try again."
    default_code = "conflict"

    def __init__(self, detail=None, *, version: int, precondition: bool = False):
        super().__init__(detail)
        self.version = version
        if precondition:
            self.status_code = status.HTTP_412_PRECONDITION_FAILED


def exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if isinstance(exc, VersionConflict) and response is not None:
        response.data["version"] = exc.version
        response["ETag"] = f'"{exc.version}"'
    if response is None and isinstance(exc, (UnicodeDecodeError, ValueError)):
        return Response({"detail": "Malformed request."}, status=status.HTTP_400_BAD_REQUEST)
    return response
