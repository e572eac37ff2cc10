"""The JSON parser of every API endpoint (DRF's default parser, set in ``settings.REST_FRAMEWORK``).

Two kinds of body must never reach a view, and must never become a 500:

- a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413): DRF reads the request stream itself, bypassing
  Django's own body limit, so the check lives here;
- JSON nested deeper than ``MAX_JSON_DEPTH`` (400). Python's JSON decoder recurses once per level:
  ``[`` × 5,000 raised ``RecursionError`` (a 500, issue 10 § 6), and a structure just below the
  interpreter's limit would still recurse in whatever walks it later (validation, rendering an
  error). No request of this API nests deeper than a handful of levels (a referral with its
  children is four), so 32 leaves ample room and refuses only what no client sends in good faith.
"""

import io
import json

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser as DRFJSONParser

MAX_JSON_DEPTH = 32


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("Request body too large.")
    default_code = "request_too_large"


class TooDeeplyNested(exceptions.ParseError):
    default_detail = _("The JSON of the request is nested too deeply (at most %(depth)d levels).")
    default_code = "too_deeply_nested"

    def __init__(self):
        super().__init__(self.default_detail % {"depth": MAX_JSON_DEPTH})


class InvalidJSON(exceptions.ParseError):
    """DRF's "JSON parse error - Expecting value: …" in the language of the request, with the place
    of the first error where the decoder names one (not the decoder's own words)."""

    default_code = "invalid_json"

    def __init__(self, cause: BaseException | None = None):
        if isinstance(cause, json.JSONDecodeError):
            detail = _("The request body is not valid JSON (line %(line)d, column %(column)d).") % {
                "line": cause.lineno,
                "column": cause.colno,
            }
        else:  # invalid UTF-8, NaN or Infinity, a number of thousands of digits
            detail = _("The request body is not valid JSON in UTF-8.")
        super().__init__(detail)


def json_depth_exceeds(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the parsed ``value`` has containers nested more than ``limit`` levels deep. Iterative,
    so that checking a deep structure cannot itself run out of stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class JSONParser(DRFJSONParser):
    """DRF's JSON parser with a size limit (413) and a nesting limit (400 with a message)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise RequestTooLarge()
        # JSON is UTF-8 (RFC 8259 § 8.1): a charset parameter of the Content-Type is not followed, which
        # would store "StraÃe" for a UTF-8 body sent as "charset=latin-1".
        parser_context = {**(parser_context or {}), "encoding": "utf-8"}
        try:
            parsed = super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            raise TooDeeplyNested() from None
        except exceptions.ParseError as exc:
            raise InvalidJSON(exc.__context__) from None
        if json_depth_exceeds(parsed):
            raise TooDeeplyNested()
        return parsed
