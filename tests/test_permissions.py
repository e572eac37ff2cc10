"""The permission matrix: for every persona × referral state × endpoint, exactly the expected
referrals are visible and everything else answers 404 (403 only for a page of another role).

The endpoint list is generated from the URL resolver: a URL that is neither in ENDPOINTS nor in
EXEMPT fails ``test_every_url_is_covered``, so a new endpoint cannot be forgotten.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from notifications.models import Notification
from referrals.models import Referral, ReferralUserObjectPermission
from tests.factories import make_referral

PERSONAS = [
    "police_hilden", "police_hilden2", "police_velbert", "police_coordinator", "caseworker_hilden", "lead_hilden",
    "caseworker_velbert", "lead_velbert", "district_coordinator", "no_role", "admin",
]  # fmt: skip

# Which referral each persona may see (the rule of DESIGN.md written out by hand, not derived).
VISIBLE = {
    "police_hilden": {"draft_hilden", "submitted_hilden", "triage"},
    "police_hilden2": {"submitted_hilden", "triage"},
    "police_velbert": {"submitted_velbert", "granted_velbert"},
    "police_coordinator": {"submitted_hilden", "submitted_velbert", "triage", "granted_velbert"},
    "caseworker_hilden": {"submitted_hilden", "granted_velbert"},
    "lead_hilden": {"submitted_hilden"},
    "caseworker_velbert": {"submitted_velbert", "granted_velbert"},
    "lead_velbert": {"submitted_velbert", "granted_velbert"},
    "district_coordinator": {"triage"},
    "no_role": set(),
    "admin": set(),
}
POLICE = {"police_hilden", "police_hilden2", "police_velbert", "police_coordinator"}
OFFICE = {"caseworker_hilden", "lead_hilden", "caseworker_velbert", "lead_velbert"}
OFFICE_OF = {
    "caseworker_hilden": "JA-HIL",
    "lead_hilden": "JA-HIL",
    "caseworker_velbert": "JA-VEL",
    "lead_velbert": "JA-VEL",
}


@pytest.fixture
def world(personas):
    referrals = {
        "draft_hilden": make_referral(personas.police_hilden, submit=False),
        "submitted_hilden": make_referral(personas.police_hilden, postcode="40723", city="Hilden"),
        "submitted_velbert": make_referral(personas.police_velbert, postcode="42551", city="Velbert"),
        "triage": make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf"),
        "granted_velbert": make_referral(personas.police_velbert, postcode="42549", city="Velbert"),
    }
    ReferralUserObjectPermission.objects.create(
        user=personas.caseworker_hilden,
        permission=Permission.objects.get(codename="view_referral"),
        content_object=referrals["granted_velbert"],
    )
    return personas, referrals


def _refs(content: bytes, referrals) -> set[str]:
    text = content.decode()
    return {key for key, r in referrals.items() if r.reference in text}


def _api_list(client) -> set[str]:
    seen, url = [], "/api/v1/referrals/?page_size=2"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [r["reference"] for r in response.json()["results"]]
        url = response.json()["next"]
    assert len(seen) == len(set(seen))
    return set(seen)


def _clients(user):
    web = APIClient()
    web.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    return web, api


# --- the endpoints: how to ask each one, and what it must answer -------------------------------


def check_page_list(url_name, path, roles, narrow):
    def check(persona, user, referrals):
        web, _ = _clients(user)
        response = web.get(path)
        if persona not in roles:
            assert response.status_code == 403, (url_name, persona)
            return
        assert response.status_code == 200, (url_name, persona)
        expected = {k for k in VISIBLE[persona] if narrow(persona, k, referrals)}
        assert _refs(response.content, referrals) == expected, (url_name, persona)

    return check


def check_page_detail(persona, user, referrals):
    web, _ = _clients(user)
    for key, referral in referrals.items():
        status = web.get(f"/referrals/{referral.pk}/").status_code
        assert status == (200 if key in VISIBLE[persona] else 404), ("detail", persona, key, status)
    assert web.get("/referrals/987654/").status_code == 404


def check_page_edit(persona, user, referrals):
    web, _ = _clients(user)
    for key, referral in referrals.items():
        status = web.get(f"/referrals/{referral.pk}/edit/").status_code
        allowed = key == "draft_hilden" and persona == "police_hilden"
        assert status == (200 if allowed else 404), ("edit", persona, key, status)


def check_page_assign(persona, user, referrals):
    web, _ = _clients(user)
    for key, referral in referrals.items():
        status = web.post(f"/triage/{referral.pk}/assign/", {"youth_office": "0"}).status_code
        allowed = key == "triage" and persona == "district_coordinator"
        assert (status != 404) if allowed else (status == 404), ("assign", persona, key, status)
    assert Referral.objects.get(pk=referrals["triage"].pk).status == "triage"  # nothing assigned to office 0


def check_api_list(persona, user, referrals):
    _, api = _clients(user)
    expected = {referrals[k].reference for k in VISIBLE[persona]}
    assert _api_list(api) == expected, ("api list", persona)


def check_api_detail(persona, user, referrals):
    _, api = _clients(user)
    for key, referral in referrals.items():
        status = api.get(f"/api/v1/referrals/{referral.pk}/").status_code
        assert status == (200 if key in VISIBLE[persona] else 404), ("api detail", persona, key, status)


def check_api_create(persona, user, referrals):
    _, api = _clients(user)
    status = api.post("/api/v1/referrals/", {"draft": True}, format="json").status_code
    assert status == (201 if persona in POLICE else 403), ("api create", persona, status)


def check_api_assign(persona, user, referrals):
    _, api = _clients(user)
    for key, referral in referrals.items():
        status = api.post(f"/api/v1/referrals/{referral.pk}/assign-office/", {}, format="json").status_code
        allowed = key == "triage" and persona == "district_coordinator"
        assert status == (400 if allowed else 404), ("api assign", persona, key, status)


def check_notifications(persona, user, referrals):
    web, _ = _clients(user)
    response = web.get("/notifications/")
    assert response.status_code == 200
    mine = set(Notification.objects.for_user(user).values_list("pk", flat=True))
    for notification in Notification.objects.filter(channel="in_app"):
        status = web.post(f"/notifications/{notification.pk}/read/").status_code
        assert (status != 404) if notification.pk in mine else (status == 404), ("notification read", persona)
    assert web.post("/notifications/read-all/").status_code in (200, 302)
    others = Notification.objects.exclude(recipient_user=user).filter(channel="in_app", read_at__isnull=False)
    assert not others.exists()


def check_admin_referrals(persona, user, referrals):
    web, _ = _clients(user)
    response = web.get("/admin/referrals/referral/")
    if not user.is_staff:
        assert response.status_code == 302  # to the admin login
        return
    assert response.status_code == 200
    assert _refs(response.content, referrals) == VISIBLE[persona]
    for key, referral in referrals.items():
        status = web.get(f"/admin/referrals/referral/{referral.pk}/change/").status_code
        assert status in ((200,) if key in VISIBLE[persona] else (302, 404)), ("admin change", persona, key)


def check_admin_referral_writes(persona, user, referrals):
    web, _ = _clients(user)
    if not user.is_staff:
        assert web.get("/admin/referrals/referral/add/").status_code == 302
        return
    assert web.get("/admin/referrals/referral/add/").status_code == 403
    for key, referral in referrals.items():
        assert web.get(f"/admin/referrals/referral/{referral.pk}/delete/").status_code in (302, 403, 404)
        history = web.get(f"/admin/referrals/referral/{referral.pk}/history/")
        assert history.status_code in ((200,) if key in VISIBLE[persona] else (302, 404)), ("admin history", key)
        assert referral.reference not in history.content.decode() or key in VISIBLE[persona]
    assert Referral.objects.count() == len(referrals)


def _own_office(persona, key, referrals):
    return referrals[key].youth_office is not None and referrals[key].youth_office.code == OFFICE_OF[persona]


ENDPOINTS = {
    "referrals:list": check_page_list("referrals:list", "/referrals/", POLICE, lambda p, k, r: True),
    "referrals:inbox": check_page_list("referrals:inbox", "/inbox/", OFFICE, _own_office),
    "referrals:triage": check_page_list("referrals:triage", "/triage/", {"district_coordinator"}, lambda p, k, r: True),
    "referrals:detail": check_page_detail,
    "referrals:edit": check_page_edit,
    "referrals:assign_office": check_page_assign,
    "referrals:create": lambda persona, user, referrals: _check_create_page(persona, user),
    "referrals:home": lambda persona, user, referrals: _check_home(persona, user),
    "referral-list": lambda p, u, r: (check_api_list(p, u, r), check_api_create(p, u, r)),
    "referral-detail": check_api_detail,
    "referral-assign-office": check_api_assign,
    "notifications:list": check_notifications,
    "notifications:read": check_notifications,
    "notifications:read_all": check_notifications,
    "admin:referrals_referral_changelist": check_admin_referrals,
    "admin:referrals_referral_change": check_admin_referrals,
    "admin:referrals_referral_add": check_admin_referral_writes,
    "admin:referrals_referral_delete": check_admin_referral_writes,
    "admin:referrals_referral_history": check_admin_referral_writes,
}

# URLs that reach no referral and no personal data, with the reason.
EXEMPT = {
    "login": "login form",
    "logout": "ends the session",
    "set_language": "language switch",
    "api-schema": "OpenAPI schema, no data",
    "api-docs": "Swagger UI, no data",
}
EXEMPT_PREFIXES = ("admin:",)  # the rest of the admin: agencies, people, postcodes (no referral contents)
ADMIN_REFERRAL = re.compile(r"^admin:referrals_")


def _check_create_page(persona, user):
    web, _ = _clients(user)
    assert web.get("/referrals/new/").status_code == (200 if persona in POLICE else 403), ("create page", persona)


def _check_home(persona, user):
    web, _ = _clients(user)
    assert web.get("/").status_code in (200, 302)


def _url_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _url_names(pattern, ns)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed {pattern.pattern}>"


def test_every_url_is_covered():
    names = set(_url_names())
    uncovered = {
        n
        for n in names
        if n not in ENDPOINTS
        and n not in EXEMPT
        and not (n.startswith(EXEMPT_PREFIXES) and not ADMIN_REFERRAL.match(n))
    }
    assert not uncovered, f"URLs missing from the permission matrix: {sorted(uncovered)}"
    assert set(ENDPOINTS) <= names, f"matrix names URLs that no longer exist: {sorted(set(ENDPOINTS) - names)}"


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_matrix(world, endpoint, persona):
    personas, referrals = world
    ENDPOINTS[endpoint](persona, getattr(personas, persona), referrals)


def test_scoping_function_itself(world):
    personas, referrals = world
    by_pk = {r.pk: k for k, r in referrals.items()}
    for persona in PERSONAS:
        seen = {
            by_pk[pk] for pk in Referral.objects.visible_to(getattr(personas, persona)).values_list("pk", flat=True)
        }
        assert seen == VISIBLE[persona], persona


def test_anonymous_sees_nothing(world):
    _, referrals = world
    client = APIClient()
    assert client.get("/api/v1/referrals/").status_code in (401, 403)
    for referral in referrals.values():
        assert client.get(f"/api/v1/referrals/{referral.pk}/").status_code in (401, 403)
        assert client.get(f"/referrals/{referral.pk}/").status_code == 302
    for path in ("/", "/referrals/", "/inbox/", "/triage/", "/notifications/", "/referrals/new/"):
        assert client.get(path).status_code == 302, path


def test_deactivated_person_sees_nothing(world):
    personas, referrals = world
    personas.caseworker_hilden.is_active = False
    personas.caseworker_hilden.save()
    assert not Referral.objects.visible_to(personas.caseworker_hilden).exists()
