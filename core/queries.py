"""Small query helpers shared by the apps."""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def one_or_none(queryset: "QuerySet[M]") -> M | None:
    """The row of ``queryset`` — filtered to at most one, by its primary key — or None.

    ``first()`` adds an ORDER BY (the model's ordering, else the key), and Django compiles an ordering
    against every selected column: with ``select_related`` of a referral's relations that costs more
    than the query itself (a millisecond per lookup, on every page and API call of one referral).
    A lookup by key needs no order."""
    return next(iter(queryset.order_by()[:1]), None)
