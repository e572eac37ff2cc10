"""The API's router: object ids in addresses are ASCII digits (DRF's default takes any text up to the
next slash, and ``int()`` then read ``/api/v1/referrals/１/`` with a full-width digit as referral 1 —
QA of 2026-12-05). Anything else is no address of the API: 404, as for an unknown path."""

from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    def get_lookup_regex(self, viewset, lookup_prefix=""):
        """DRF's, with ``[0-9]+`` where the viewset names no ``lookup_value_regex`` of its own."""
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        lookup_value = getattr(viewset, "lookup_value_regex", None) or "[0-9]+"
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{lookup_value})"
