"""Keyset (cursor) pagination: the next page starts after the last row's sort key, so page 1,000
costs what page 1 costs (no OFFSET). Used by pages and API alike."""

import base64
import datetime
import json
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime


class InvalidCursor(ValueError):
    pass


@dataclass
class Page:
    items: list
    next_cursor: str | None
    has_next: bool


def _encode(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, datetime.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, count: int) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor(cursor) from exc
    if not isinstance(values, list) or len(values) != count:
        raise InvalidCursor(cursor)
    decoded = []
    for value in values:
        if isinstance(value, str) and (parsed := parse_datetime(value)) is not None:
            value = parsed
        elif value is not None and not isinstance(value, (int, str)):
            raise InvalidCursor(cursor)
        decoded.append(value)
    return decoded


def _after(ordering: list[str], values: list) -> Q:
    """Rows strictly after ``values`` in ``ordering`` (each field ascending, or descending with a
    leading '-'): (a > x) OR (a = x AND b > y) OR ... — portable row-value comparison."""
    condition = Q(pk__in=[])
    equal = Q()
    for field, value in zip(ordering, values, strict=True):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        condition |= equal & Q(**{f"{name}__{op}": value})
        equal &= Q(**{name: value})
    return condition


def keyset_page(queryset: QuerySet, *, ordering: list[str], cursor: str | None, size: int) -> Page:
    """One page of ``queryset`` in ``ordering`` (the last field must be unique, e.g. ``id``).
    ``cursor`` is the opaque token of the previous page; an invalid one raises ``InvalidCursor``."""
    queryset = queryset.order_by(*ordering)
    if cursor:
        queryset = queryset.filter(_after(ordering, _decode(cursor, len(ordering))))
    rows = list(queryset[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_next and rows:
        last = rows[-1]
        next_cursor = _encode([_value(last, f.lstrip("-")) for f in ordering])
    return Page(items=rows, next_cursor=next_cursor, has_next=has_next)


def _value(obj, dotted: str):
    value = obj
    for part in dotted.split("__"):
        value = getattr(value, part)
    return value
