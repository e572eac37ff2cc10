"""A stale concurrent write is a conflict first (issue 10 § 9): when the caller's version is outdated,
the answer is 412 (``If-Match``) or 409 (``version`` in the body, or a page's form) — also when the
competing change altered the status, the assignee or the office acting on the case, which used to
be answered 400 or 403. A client that reloads on conflict then sees the new state and decides
again. Outside the caller's scope it stays 404; with a current version the refusals are unchanged."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from agencies.models import Agency, Membership, Role
from referrals.models import Referral, ReferralEvent, Status
from tests.factories import api_token, make_referral

URL = "/api/v1/referrals/"


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


def post(client, referral, action, data=None, **headers):
    return client.post(f"{URL}{referral.pk}/{action}/", data or {}, format="json", headers=headers)


def fresh(referral) -> Referral:
    return Referral.objects.get(pk=referral.pk)


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden)  # submitted to Jugendamt Hilden


@pytest.fixture
def caseworker_hilden2(personas):
    user = get_user_model().objects.create_user(username="caseworker_hilden2", password="Test-Passwort-123")
    Membership.objects.create(user=user, agency=Agency.objects.get(code="JA-HIL"), role=Role.CASEWORKER)
    return user


def assert_conflict(response, status, current_version):
    assert response.status_code == status, response.content
    assert response.json()["version"] == current_version
    assert response["ETag"] == f'"{current_version}"'


@pytest.mark.parametrize("how", ["if-match", "body"])
def test_acknowledge_after_someone_else_assigned(personas, referral, caseworker_hilden2, how):
    """A (the lead) assigns, which acknowledges; B acknowledges with the version both read: the
    status no longer allows it, but B's version is stale — 412/409, not 400."""
    read = referral.version
    response = post(client_for(personas.lead_hilden), referral, "assign", {"assignee": caseworker_hilden2.pk})
    assert response.status_code == 200
    events = ReferralEvent.objects.count()
    b = client_for(personas.caseworker_hilden)
    if how == "if-match":
        assert_conflict(post(b, referral, "acknowledge", **{"If-Match": f'"{read}"'}), 412, read + 1)
    else:
        assert_conflict(post(b, referral, "acknowledge", {"version": read}), 409, read + 1)
    assert ReferralEvent.objects.count() == events
    # With the version it reloads, B learns the real refusal.
    assert post(b, referral, "acknowledge", {"version": read + 1}).status_code == 400


@pytest.mark.parametrize("how", ["if-match", "body"])
def test_take_over_after_someone_else_was_assigned(personas, referral, caseworker_hilden2, how):
    """A caseworker may take an unassigned case; after the lead assigned someone else, taking it with
    the old version is a conflict, not 403."""
    read = referral.version
    assert (
        post(client_for(personas.lead_hilden), referral, "assign", {"assignee": caseworker_hilden2.pk}).status_code
        == 200
    )
    b = client_for(personas.caseworker_hilden)
    data = {"assignee": personas.caseworker_hilden.pk}
    if how == "if-match":
        assert_conflict(post(b, referral, "assign", data, **{"If-Match": f'"{read}"'}), 412, read + 1)
    else:
        assert_conflict(post(b, referral, "assign", {**data, "version": read}), 409, read + 1)
    assert fresh(referral).assignee == caseworker_hilden2
    assert post(b, referral, "assign", {**data, "version": read + 1}).status_code == 403


@pytest.mark.parametrize("how", ["if-match", "body"])
def test_rerate_after_the_case_was_forwarded(personas, referral, how):
    """A forwards the case (the sender can no longer change it); B re-rates with the old version."""
    read = referral.version
    velbert = Agency.objects.get(code="JA-VEL")
    forwarded = post(
        client_for(personas.lead_hilden), referral, "forward", {"to_office": velbert.pk, "reason": "Umzug"}
    )
    assert forwarded.status_code == 200, forwarded.content
    b = client_for(personas.caseworker_hilden)
    data = {"urgency": "immediate", "reason": "Neue Lage"}
    if how == "if-match":
        assert_conflict(post(b, referral, "rerate", data, **{"If-Match": f'"{read}"'}), 412, read + 1)
    else:
        assert_conflict(post(b, referral, "rerate", {**data, "version": read}), 409, read + 1)
    assert fresh(referral).urgency == referral.urgency
    assert post(b, referral, "rerate", {**data, "version": read + 1}).status_code == 403


def test_return_after_the_receiving_office_accepted(personas, referral):
    """Velbert's lead and caseworker read the forwarded case; the lead accepts, the caseworker then
    returns it with the old version: the case is no longer forwarded, but the answer is 412."""
    velbert = Agency.objects.get(code="JA-VEL")
    assert (
        post(
            client_for(personas.lead_hilden), referral, "forward", {"to_office": velbert.pk, "reason": "Umzug"}
        ).status_code
        == 200
    )
    read = fresh(referral).version
    assert post(client_for(personas.lead_velbert), referral, "accept", {"version": read}).status_code == 200
    response = post(
        client_for(personas.caseworker_velbert),
        referral,
        "return",
        {"reason": "Nicht zuständig"},
        **{"If-Match": f'"{read}"'},
    )
    assert_conflict(response, 412, read + 1)
    assert fresh(referral).youth_office == velbert


def test_out_of_scope_stays_404_with_a_stale_version(personas, referral):
    read = referral.version
    assert post(client_for(personas.caseworker_hilden), referral, "acknowledge").status_code == 200
    other = client_for(personas.caseworker_velbert)
    assert post(other, referral, "acknowledge", **{"If-Match": f'"{read}"'}).status_code == 404
    assert post(other, referral, "acknowledge", {"version": read}).status_code == 404


def test_with_the_current_version_refusals_are_unchanged(personas, referral):
    current = referral.version
    police = client_for(personas.police_hilden)
    assert post(police, referral, "acknowledge", {"version": current}).status_code == 403
    assert post(client_for(personas.caseworker_hilden), referral, "close", {"version": current}).status_code == 400


# --- pages: the same rule for the forms, which send the version they were built on -----------------


def test_page_acknowledge_after_someone_else_assigned_is_a_conflict(client, personas, referral, caseworker_hilden2):
    read = referral.version
    client.force_login(personas.lead_hilden)
    assert (
        client.post(
            f"/referrals/{referral.pk}/assign/", {"assignee": caseworker_hilden2.pk, "version": read}
        ).status_code
        == 302
    )
    client.force_login(personas.caseworker_hilden)
    response = client.post(f"/referrals/{referral.pk}/acknowledge/", {"version": read})
    assert response.status_code == 409
    assert f'name="version" value="{read + 1}"' in response.content.decode()


def test_page_rerate_after_the_case_was_forwarded_is_a_conflict(client, personas, referral):
    read = referral.version
    client.force_login(personas.lead_hilden)
    velbert = Agency.objects.get(code="JA-VEL")
    response = client.post(
        f"/referrals/{referral.pk}/forward/",
        {"to_office": velbert.pk, "reason": "Umzug", "confirm": "1", "version": read},
    )
    assert response.status_code == 302, response.content[:500]
    assert fresh(referral).status == Status.FORWARDED
    client.force_login(personas.caseworker_hilden)
    response = client.post(
        f"/referrals/{referral.pk}/rerate/", {"urgency": "immediate", "reason": "x", "version": read}
    )
    assert response.status_code == 409
    # With the current version the refusal is what it was: the sender may not change a forwarded case.
    response = client.post(
        f"/referrals/{referral.pk}/rerate/", {"urgency": "immediate", "reason": "x", "version": read + 1}
    )
    assert response.status_code == 403


def test_page_out_of_scope_stays_404(client, personas, referral):
    client.force_login(personas.caseworker_velbert)
    assert client.post(f"/referrals/{referral.pk}/acknowledge/", {"version": referral.version - 1}).status_code == 404
