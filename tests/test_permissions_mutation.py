"""A scratch check of the permission matrix itself (issue 11 §5): break the scope on purpose — the
scoping function leaks one office's referral to a caseworker of another office — and show that the
matrix's checks fail. A matrix that still passed with a broken scope would prove nothing."""

import pytest
from django.db.models import Q

from referrals import models
from tests.test_permissions import MATRIX_ROWS, matrix_world, world  # noqa: F401  (the matrix's fixtures)

# Endpoints that show what ``visible_to`` lets through (the inbox narrows the scope again to the
# person's own offices, so a leak of this kind does not reach it).
ENDPOINTS = ("referrals:detail", "referral-detail", "referral-list")


@pytest.fixture
def leaky_scope(world, monkeypatch):  # noqa: F811
    """The scope as it would be with a bug: Velbert's caseworker also sees Hilden's referral. The rule
    lives in ``scope_branches`` (``visible_to`` is their OR; the lists read them one by one), so the
    bug is a branch too much there."""
    personas, referrals = world
    leaked = referrals["submitted_hilden"]
    original = models.scope_branches

    def scope_branches(user):
        branches = original(user)
        if getattr(user, "pk", None) == personas.caseworker_velbert.pk:
            return [*branches, Q(pk=leaked.pk)]
        return branches

    monkeypatch.setattr(models, "scope_branches", scope_branches)
    return world


def test_the_matrix_passes_with_the_real_scope(world):  # noqa: F811
    personas, referrals = world
    for endpoint in ENDPOINTS:
        MATRIX_ROWS[endpoint]("caseworker_velbert", personas.caseworker_velbert, referrals)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_matrix_catches_a_leaking_scope(leaky_scope, endpoint):
    personas, referrals = leaky_scope
    with pytest.raises(AssertionError):
        MATRIX_ROWS[endpoint]("caseworker_velbert", personas.caseworker_velbert, referrals)
