"""Exceptions services raise besides Django's own (``ValidationError``, ``PermissionDenied``); pages
and ``core.api.exception_handler`` answer them."""


class StaleVersion(Exception):
    """The caller's ``expected_version`` is not the current one: someone else changed the object
    since the caller read it. Nothing was written; the caller reloads and decides again."""

    def __init__(self, message: str, current_version: int):
        super().__init__(message)
        self.current_version = current_version
