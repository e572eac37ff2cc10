"""DRF wiring shared by every API module: a JSON parser with a size limit and an exception handler
that turns anything a client can cause into a 4xx with a readable message, never a 500."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


class LimitedJSONParser(JSONParser):
    """JSON parser that refuses bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with 413.

    DRF reads the request stream itself, bypassing Django's own body limit, so the check lives here.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise RequestTooLarge()
        import io

        return super().parse(io.BytesIO(data), media_type, parser_context)


def exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, (UnicodeDecodeError, ValueError)):
        return Response({"detail": "Malformed request."}, status=status.HTTP_400_BAD_REQUEST)
    return response
