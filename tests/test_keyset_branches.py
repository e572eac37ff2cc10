"""Keyset pages read branch by branch (issue 12): the scope's branches (``list_branches``) are read
as separate ordered queries and merged — the pages hold the same rows in the same order as one query
over the whole scope, with no row twice and none lost at a page boundary."""

import pytest

from core.pagination import keyset_page
from referrals.models import Referral
from referrals.selectors import STATION_ORDERING, list_branches, station_referrals_for
from tests.factories import make_referral


def _walk(queryset, *, size, branches) -> list[int]:
    seen, cursor = [], None
    while True:
        page = keyset_page(queryset, ordering=STATION_ORDERING, cursor=cursor, size=size, branches=branches)
        seen += [r.pk for r in page.items]
        if not page.has_next:
            return seen
        cursor = page.next_cursor


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 2, 3, 50])
def test_pages_merged_from_branches_equal_one_query(personas, size):
    officer = personas.police_hilden
    for index in range(7):  # the officer's drafts (own-drafts branch) between the station's referrals
        make_referral(officer, submit=index % 3 != 0)
        make_referral(personas.police_hilden2)
    queryset = station_referrals_for(officer)
    branches = [station_referrals_for(officer, scope) for scope in list_branches(officer)]
    assert len(branches) == 2  # the station, and the officer's own drafts
    expected = list(queryset.order_by(*STATION_ORDERING).values_list("pk", flat=True))
    assert len(expected) == Referral.objects.exclude(status="draft").count() + 3
    assert _walk(queryset, size=size, branches=branches) == expected


@pytest.mark.django_db
def test_a_row_in_two_branches_is_listed_once(personas):
    make_referral(personas.police_hilden)
    officer = personas.police_hilden
    branches = [station_referrals_for(officer, scope) for scope in list_branches(officer)] * 2  # each row twice
    queryset = station_referrals_for(officer)
    assert _walk(queryset, size=1, branches=branches) == list(queryset.values_list("pk", flat=True))
