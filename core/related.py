"""The related rows a page shows (an agency's name, a person's name), read after the page by primary key.

A list page reads its rows in one ordered index range that stops after the page (``core.pagination``).
Joining the related tables into that query made it cost 3–5 times the bare range at 1,000,000
referrals (issue 12, README "The database at a million referrals"): the planner weighs every join
order and the executor probes each joined table per row. Read apart, the rows are the bare range, and
the related rows are one primary-key lookup per related model for the whole page — a constant number
of small queries, whatever the table size. (Django's ``prefetch_related_objects`` would read the agencies
once per key: three queries for a referral's office, station and receiving office instead of one.)
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import ForeignKey, Model

# The columns of a listed person that lists show (``person_name``: full name, else the username).
PERSON_NAME_FIELDS = ("id", "username", "first_name", "last_name")


def attach_related(
    rows: Sequence[Model], fields: Iterable[str], *, only: dict[type[Model], Sequence[str]] | None = None
) -> None:
    """Fill the foreign keys ``fields`` of ``rows`` (all of one model) as ``select_related`` would: one
    query per related model (the three agency keys of a referral share one), only for the ids that
    occur, none if none does. A key already loaded (``select_related``) is left as it is.
    ``only``: the columns to read of a related model (all of them otherwise)."""
    if not rows:
        return
    meta = rows[0]._meta
    keys: list[ForeignKey[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, ForeignKey), f"{name} is not a foreign key"
        keys.append(field)
    wanted: dict[type[Model], set[Any]] = defaultdict(set)
    for row in rows:
        for field in keys:
            value = getattr(row, field.attname)
            if value is not None and not field.is_cached(row):
                wanted[field.related_model].add(value)  # type: ignore[index]
    found: dict[type[Model], dict[Any, Model]] = {}
    for model, ids in wanted.items():
        queryset = model._default_manager.all()
        if only and model in only:
            queryset = queryset.only(*only[model])
        found[model] = queryset.in_bulk(sorted(ids))
    for row in rows:
        for field in keys:
            if field.is_cached(row):
                continue
            value = getattr(row, field.attname)
            related = None if value is None else found[field.related_model].get(value)  # type: ignore[index]
            field.set_cached_value(row, related)
