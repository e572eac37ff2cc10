"""Shared fixtures: the seeded district and one persona per role and office."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from agencies.models import Agency, Membership, Role
from agencies.services import district_seed


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def district(db):
    return district_seed(slug="mettmann").district


def _person(username, agency_code, role):
    user = get_user_model().objects.create_user(username=username, password="Test-Passwort-123")
    if agency_code:
        Membership.objects.create(user=user, agency=Agency.objects.get(code=agency_code), role=role)
    return user


@pytest.fixture
def personas(district):
    """One person per role: own office is Hilden (and Hilden station), the other is Velbert."""
    admin = get_user_model().objects.create_superuser(username="admin", password="Test-Passwort-123")
    return SimpleNamespace(
        police_hilden=_person("police_hilden", "PW-HIL", Role.POLICE_OFFICER),
        police_hilden2=_person("police_hilden2", "PW-HIL", Role.POLICE_OFFICER),
        police_velbert=_person("police_velbert", "PW-VEL", Role.POLICE_OFFICER),
        police_coordinator=_person("police_coordinator", "KPB-ME", Role.POLICE_COORDINATOR),
        caseworker_hilden=_person("caseworker_hilden", "JA-HIL", Role.CASEWORKER),
        lead_hilden=_person("lead_hilden", "JA-HIL", Role.OFFICE_LEAD),
        caseworker_velbert=_person("caseworker_velbert", "JA-VEL", Role.CASEWORKER),
        lead_velbert=_person("lead_velbert", "JA-VEL", Role.OFFICE_LEAD),
        district_coordinator=_person("district_coordinator", "KOORD", Role.DISTRICT_COORDINATOR),
        no_role=_person("no_role", None, None),
        admin=admin,
    )
