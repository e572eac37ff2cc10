"""DRF wiring shared by every API module: the multipart parser with a size limit (the JSON parser is
``core.parsers``; the one exception handler is ``core.api.exception_handler``)."""

from django.conf import settings
from rest_framework.parsers import MultiPartParser

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
