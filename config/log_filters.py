"""Filters of the log configuration (``LOGGING`` in config/settings.py)."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A refusal is not a fault: Django logs a 403 (``PermissionDenied``) with the traceback of the
    exception that answered it, twenty lines for each refused click, which buried the lines an
    operator looks for. 4xx answers keep their one line ("Forbidden (Permission denied): /triage/");
    5xx keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
