"""Shared fixtures: the seeded district and one persona per role and office."""

import contextlib
import datetime
import os
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import Agency, District, Membership, Role
from agencies.services import district_seed


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


def _clock_at_test_moment():
    moment = os.environ.get("TEST_CLOCK")
    if not moment:
        return contextlib.nullcontext()
    return time_machine.travel(datetime.datetime.fromisoformat(moment), tick=True)


@pytest.fixture(autouse=True, scope="session")
def _test_clock_session():
    """``TEST_CLOCK`` for what is built once per session or module (the seeded district, the
    permission matrix's world): built at that moment too, see ``_test_clock``."""
    with _clock_at_test_moment():
        yield


@pytest.fixture(autouse=True)
def _test_clock():
    """``TEST_CLOCK=2026-12-31T23:59+01:00`` starts every test at that moment (the clock then ticks
    on; a test's own ``time_machine.travel`` still wins). .ci/run runs the date-sensitive tests at
    hostile moments this way — before a holiday weekend, at the turn of the year, in the hours of the
    daylight saving changes — so that no test depends on the day it happens to run (issue 19)."""
    with _clock_at_test_moment():
        yield


@pytest.fixture(autouse=True)
def _force_login_with_second_factor(monkeypatch):
    """``Client.force_login`` stands for a complete login — password and second factor — so that
    tests of pages and the API need not go through the TOTP step each time: it gives the person a
    confirmed TOTP device (if they have none) and marks the session as verified with it, as
    ``agencies.mfa`` does after a correct code. Tests of the login itself use ``Client.login`` or
    the login form and get an unverified session (tests/test_mfa.py)."""
    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        _second_factor_passed(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


def login_with_second_factor(client, user):
    """What ``Client.force_login`` does in a test (``_force_login_with_second_factor``), for fixtures of
    a wider scope, where the patch is not in place: the session of a complete login."""
    Client.force_login(client, user)
    if DEVICE_ID_SESSION_KEY not in client.session:
        _second_factor_passed(client, user)


def _second_factor_passed(client, user):
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database starts with the district seeded, committed once: each test's transaction
    rolls back to it, so no test pays for seeding (about 200 queries). Tests that flush the database
    (``transactional_db``, ``live_server``) run last; after them ``district`` seeds it again."""
    with django_db_blocker.unblock():
        district_seed(slug="mettmann")


@pytest.fixture
def district(db):
    return district_get()


def district_get():
    """The seeded district; seeded here only if a test flushed the database before."""
    return District.objects.filter(slug="mettmann").first() or district_seed(slug="mettmann").district


def _person(username, agency_code, role):
    user = get_user_model().objects.create_user(username=username, password="Test-Passwort-123")
    if agency_code:
        Membership.objects.create(user=user, agency=Agency.objects.get(code=agency_code), role=role)
    return user


@pytest.fixture
def personas(district):
    """One person per role: own office is Hilden (and Hilden station), the other is Velbert."""
    return personas_create()


PERSONA_ROLES = (  # username, agency code, role
    ("police_hilden", "PW-HIL", Role.POLICE_OFFICER),
    ("police_hilden2", "PW-HIL", Role.POLICE_OFFICER),
    ("police_velbert", "PW-VEL", Role.POLICE_OFFICER),
    ("police_coordinator", "KPB-ME", Role.POLICE_COORDINATOR),
    ("caseworker_hilden", "JA-HIL", Role.CASEWORKER),
    ("lead_hilden", "JA-HIL", Role.OFFICE_LEAD),
    ("caseworker_velbert", "JA-VEL", Role.CASEWORKER),
    ("lead_velbert", "JA-VEL", Role.OFFICE_LEAD),
    ("district_coordinator", "KOORD", Role.DISTRICT_COORDINATOR),
    ("no_role", None, None),
)


def personas_create():
    """The people of ``personas``; also used by fixtures of a wider scope (tests/test_permissions.py).
    Written with three queries (most tests start with them): the users and their memberships in bulk,
    all with the one password ``Test-Passwort-123``; ``admin`` is a superuser."""
    user_model = get_user_model()
    password = make_password("Test-Passwort-123")
    users = user_model.objects.bulk_create(
        [user_model(username=username, password=password) for username, _code, _role in PERSONA_ROLES]
        + [user_model(username="admin", password=password, is_staff=True, is_superuser=True)]
    )
    codes = {code for _username, code, _role in PERSONA_ROLES if code}
    agencies = {agency.code: agency for agency in Agency.objects.filter(code__in=codes)}
    Membership.objects.bulk_create(
        Membership(user=user, agency=agencies[code], role=role)
        for user, (_username, code, role) in zip(users, PERSONA_ROLES, strict=False)
        if code
    )
    return SimpleNamespace(**{user.username: user for user in users})
