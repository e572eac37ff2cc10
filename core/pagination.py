"""Keyset (cursor) pagination: the next page starts after the last row's sort key, so page 1,000
costs what page 1 costs (no OFFSET). Used by pages and API alike."""

import base64
import datetime
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import DateField, DateTimeField, F, Field, IntegerField, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class InvalidCursor(ValueError):
    pass


@dataclass
class Page:
    items: list
    next_cursor: str | None
    has_next: bool


def _encode(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, datetime.date) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, ordering: list[str], queryset: QuerySet) -> list:
    """The sort key a cursor holds, each value checked against the type of its ordering field: an
    edited cursor (a number where a date belongs, a date beyond the year 9999 in UTC, a text for an
    id) raises ``InvalidCursor`` — a 400 with a message, never a database error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:  # a crafted cursor of nested brackets: 400, not 500
        raise InvalidCursor(cursor) from exc
    if not isinstance(values, list) or len(values) != len(ordering):
        raise InvalidCursor(cursor)
    fields = [_field(queryset, name.lstrip("-")) for name in ordering]
    return [_checked(value, field, cursor) for field, value in zip(fields, values, strict=True)]


def _field(queryset: QuerySet, dotted: str) -> Field:
    """The model field (or annotation's output field) an ordering name refers to."""
    if dotted in queryset.query.annotations:
        return queryset.query.annotations[dotted].output_field
    model, field = queryset.model, None
    for part in dotted.split("__"):
        field = model._meta.get_field(part)
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    if field is not None and field.is_relation:
        field = field.target_field
    return field


def _checked(value, field: Field, cursor: str):
    if value is None:
        if field.null:
            return None
        raise InvalidCursor(cursor)
    if isinstance(field, DateField):  # and DateTimeField, its subclass
        timestamp = isinstance(field, DateTimeField)
        try:
            parsed = (parse_datetime if timestamp else parse_date)(value) if isinstance(value, str) else None
            if timestamp and parsed is not None and parsed.tzinfo is not None:
                parsed.astimezone(datetime.UTC)  # 0001-01-01T00:00+14:00 lies before the first instant
        except (ValueError, OverflowError):
            raise InvalidCursor(cursor) from None
        if parsed is None or (timestamp and parsed.tzinfo is None):
            raise InvalidCursor(cursor)
        return parsed
    if isinstance(field, IntegerField):  # ids and ranks; a bool is an int to Python, not to a cursor
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
            raise InvalidCursor(cursor)
        return value
    if not isinstance(value, str) or len(value) > 1000 or "\x00" in value:
        raise InvalidCursor(cursor)
    return value


def _after(ordering: list[str], values: list, *, row_value: bool = True) -> Q | TupleGreaterThan | TupleLessThan:
    """Rows strictly after ``values`` in ``ordering`` (each field ascending, or descending with a
    leading '-'). When every field runs the same way it is one row-value comparison,
    ``(a, b, id) > (x, y, z)``: PostgreSQL reads it as a single range of the index that delivers the
    order, where the equivalent chain of ORs defeats the index (issue 12). A mixed order falls back to
    (a > x) OR (a = x AND b > y) OR ..."""
    descending = {field.startswith("-") for field in ordering}
    if len(descending) == 1 and row_value:
        lookup = TupleLessThan if descending.pop() else TupleGreaterThan
        return lookup(Tuple(*(F(field.lstrip("-")) for field in ordering)), tuple(values))
    condition = Q(pk__in=[])
    equal = Q()
    for field, value in zip(ordering, values, strict=True):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        condition |= equal & Q(**{f"{name}__{op}": value})
        equal &= Q(**{name: value})
    return condition


def keyset_page(
    queryset: QuerySet,
    *,
    ordering: list[str],
    cursor: str | None,
    size: int,
    branches: Sequence[QuerySet] = (),
    after_window: str | None = None,
) -> Page:
    """One page of ``queryset`` in ``ordering`` (the last field must be unique, e.g. ``id``).
    ``cursor`` is the opaque token of the previous page; an invalid one raises ``InvalidCursor``.

    ``branches``: querysets whose union is ``queryset`` (e.g. built on
    ``Referral.objects.visible_branches``). Each is read as its own page — one ordered index scan
    that stops after ``size + 1`` rows — and the pages are merged in order: a constant number of
    queries, each constant in the table size, where one query with the OR across columns reads and
    sorts every matching row.

    ``after_window``: the name of a window annotation of ``queryset`` that counts its rows
    (``COUNT(…) OVER ()``, so at least 1 on every row). The cursor's condition then applies after the
    window functions, which see every row and not only those after the cursor: OR-ed with
    ``<after_window> = 0``, which no row meets, the condition refers to the window, and Django puts
    it in the outer query of its QUALIFY emulation (``inbox_search_page``: the counts of a search
    and its page in one query)."""
    after = _after(ordering, _decode(cursor, ordering, queryset), row_value=not after_window) if cursor else None
    if after is not None and after_window:
        # the chain of ORs: Django's QUALIFY refers to the inner query's columns one by one (a row value
        # would become one opaque column); it filters rows already read, so no index is lost
        after = Q(after) | Q(**{after_window: 0})
    if len(branches) > 1:
        rows = _merged([_ordered(branch, ordering, after) for branch in branches], ordering, size + 1)
    else:
        rows = list(_ordered(queryset, ordering, after)[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_next and rows:
        last = rows[-1]
        next_cursor = _encode([_value(last, f.lstrip("-")) for f in ordering])
    return Page(items=rows, next_cursor=next_cursor, has_next=has_next)


def rows_after(queryset: QuerySet, ordering: list[str], row) -> QuerySet:
    """The rows of ``queryset`` after ``row`` in ``ordering``: what the pages after it hold (the
    retention dry run counts them for "… and X more")."""
    return queryset.filter(_after(ordering, [_value(row, f.lstrip("-")) for f in ordering]))


def _ordered(queryset: QuerySet, ordering: list[str], after) -> QuerySet:
    queryset = queryset.order_by(*ordering)
    return queryset.filter(after) if after is not None else queryset


def _merged(querysets: list[QuerySet], ordering: list[str], limit: int) -> list:
    """The first ``limit`` rows of the union of ``querysets`` (each in ``ordering``), without the
    duplicates of rows that several branches hold."""
    found: dict[object, object] = {}
    for queryset in querysets:
        for row in queryset[:limit]:
            found.setdefault(row.pk, row)

    def compare(a, b) -> int:
        for field in ordering:
            x, y = _value(a, field.lstrip("-")), _value(b, field.lstrip("-"))
            if x != y:
                return (-1 if x < y else 1) * (-1 if field.startswith("-") else 1)
        return 0

    return sorted(found.values(), key=functools.cmp_to_key(compare))[:limit]


def _value(obj, dotted: str):
    value = obj
    for part in dotted.split("__"):
        value = getattr(value, part)
    return value


class KeysetPagination(BasePagination):
    """DRF pagination on ``keyset_page``: the view names its total order in ``keyset_ordering`` (and
    may name the branches of its queryset with a ``keyset_branches()`` method).
    Answers ``{"next": url or null, "results": [...]}``; bad ``page_size``/``cursor`` → 400."""

    page_size = 50
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        try:
            raw = str(request.query_params.get("page_size", self.page_size))
            if not raw.isascii():  # int() reads full-width and other Unicode digits as well
                raise ValueError(raw)
            size = min(int(raw), self.max_page_size)
        except ValueError:
            raise ValidationError({"page_size": [_("Enter a whole number.")]}) from None
        if size < 1:
            raise ValidationError({"page_size": [_("Enter a number of at least 1.")]})
        try:
            page = keyset_page(
                queryset,
                ordering=view.keyset_ordering,
                cursor=request.query_params.get("cursor"),
                size=size,
                branches=view.keyset_branches() if hasattr(view, "keyset_branches") else (),
            )
        except InvalidCursor:
            raise ValidationError({"cursor": [_("Invalid cursor: reload the list.")]}) from None
        self.request = request
        self.next_cursor = page.next_cursor
        return page.items

    def get_paginated_response(self, data):
        next_url = None
        if self.next_cursor:
            next_url = replace_query_param(self.request.build_absolute_uri(), "cursor", self.next_cursor)
        return Response({"next": next_url, "results": data})

    def get_schema_operation_parameters(self, view):
        """``cursor`` and ``page_size`` on every keyset list (drf-spectacular asks for them)."""
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Opaque cursor from `next`.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"At least 1, default {self.page_size}; more than {self.max_page_size} is taken as "
                f"{self.max_page_size}.",
                "schema": {"type": "integer"},
            },
        ]

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "example": None,
                    "description": "The next page, or null on the last.",
                },
                "results": schema,
            },
        }
