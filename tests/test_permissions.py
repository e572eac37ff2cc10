"""The permission matrix: for every persona × referral state × endpoint, exactly the expected
referrals are visible and everything else answers 404 (403 only for a page of another role).

The endpoint list is generated from the URL resolver: a URL that is neither in ENDPOINTS nor in
EXEMPT fails ``test_every_url_is_covered``, so a new endpoint cannot be forgotten.

The world (personas, referrals in every state, the cooperation module's objects, and each persona's
logged-in session) is built once for the module (``matrix_world``); each test runs in a savepoint inside
it and gets fresh copies of its objects.
It holds a second district (Düsseldorf, issue 18) with its own police, office and coordinator: nobody
reads across the district border except what the child's address routed there or an office forwarded.
"""

import copy
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from agencies.models import Agency
from notifications.models import Notification
from referrals.models import Referral, ReferralGrant, ReferralUserObjectPermission
from referrals.services import referral_accept, referral_forward
from tests.conftest import district_get, login_with_second_factor, personas_create
from tests.factories import make_referral
from tests.permissions_accounts import ACCOUNT_ENDPOINTS
from tests.permissions_dashboard import dashboard_endpoints
from tests.permissions_dialogue import DIALOGUE_ENDPOINTS
from tests.permissions_printing import printing_endpoints
from tests.permissions_screening import screening_endpoints
from tests.permissions_tasks import task_endpoints
from tests.test_access_log import check_access_log_api, check_access_log_page

PERSONAS = [
    "police_hilden", "police_hilden2", "police_velbert", "police_coordinator", "caseworker_hilden", "lead_hilden",
    "caseworker_velbert", "lead_velbert", "district_coordinator", "no_role", "admin",
    # the second district (docs/jurisdiction.md)
    "police_duesseldorf", "caseworker_duesseldorf", "coordinator_duesseldorf",
]  # fmt: skip
DUESSELDORF = {"police_duesseldorf", "caseworker_duesseldorf", "coordinator_duesseldorf"}
COORDINATORS = {"district_coordinator": "triage", "coordinator_duesseldorf": "triage_duesseldorf"}

# Which referral each persona may see (the rule of docs/domain.md "Wer sieht was" written out by hand, not derived).
VISIBLE = {
    "police_hilden": {
        "draft_hilden", "submitted_hilden", "triage", "forwarded_pending", "forwarded_accepted", "to_duesseldorf",
        "forwarded_to_duesseldorf",
    },
    "police_hilden2": {
        "submitted_hilden", "triage", "forwarded_pending", "forwarded_accepted", "to_duesseldorf",
        "forwarded_to_duesseldorf",
    },
    "police_velbert": {"submitted_velbert", "granted_velbert"},
    "police_coordinator": {
        "submitted_hilden", "submitted_velbert", "triage", "granted_velbert", "forwarded_pending", "forwarded_accepted",
        "to_duesseldorf", "forwarded_to_duesseldorf",
    },
    # The sending office sees a forwarded case until the receiver accepts it; then only the receiver.
    "caseworker_hilden": {"submitted_hilden", "granted_velbert", "forwarded_pending", "from_duesseldorf"},
    "lead_hilden": {"submitted_hilden", "forwarded_pending", "from_duesseldorf"},
    "caseworker_velbert": {"submitted_velbert", "granted_velbert", "forwarded_pending", "forwarded_accepted"},
    "lead_velbert": {"submitted_velbert", "granted_velbert", "forwarded_pending", "forwarded_accepted"},
    "district_coordinator": {"triage"},
    "no_role": set(),
    "admin": set(),
    # Düsseldorf police filed for a Hilden family (routed to Hilden) and for an unknown address (their
    # own district's triage); the Düsseldorf office got a Hilden police referral for a Düsseldorf family
    # and a case the Hilden office forwarded to it.
    "police_duesseldorf": {"from_duesseldorf", "triage_duesseldorf"},
    "caseworker_duesseldorf": {"to_duesseldorf", "forwarded_to_duesseldorf"},
    "coordinator_duesseldorf": {"triage_duesseldorf"},
}  # fmt: skip
POLICE = {"police_hilden", "police_hilden2", "police_velbert", "police_coordinator", "police_duesseldorf"}
OFFICE = {"caseworker_hilden", "lead_hilden", "caseworker_velbert", "lead_velbert", "caseworker_duesseldorf"}
OFFICE_OF = {
    "caseworker_hilden": "JA-HIL",
    "lead_hilden": "JA-HIL",
    "caseworker_velbert": "JA-VEL",
    "lead_velbert": "JA-VEL",
    "caseworker_duesseldorf": "JA-D",
}


@pytest.fixture(scope="module")
def matrix_world(django_db_setup, django_db_blocker):
    """Personas, referrals and the cooperation world, built once inside a transaction that is rolled
    back when the module ends. pytest-django runs each test in a savepoint within it, so every test
    starts from this same world and none sees another's changes (setUpTestData of Django's TestCase)."""
    from tests.test_meetings_api import meetings_world

    with django_db_blocker.unblock(), transaction.atomic():
        district_get()
        personas = personas_create()
        _duesseldorf_personas(personas)
        _BUILT.update(world=(personas, _referrals_create(personas)), coop=meetings_world(_coop_people()))
        _BUILT.update(sessions=_sessions_create(personas))
        with django_db_blocker.block():  # tests without the db fixture stay without a database
            yield
        _BUILT.clear()
        transaction.set_rollback(True)


_BUILT = {}  # what ``matrix_world`` built, while the module runs; tests get copies (``world``, ``_coop_world``)


@pytest.fixture
def world(matrix_world, db):
    """The personas and referrals of ``matrix_world``: copies for this test, which runs in its own savepoint."""
    return copy.deepcopy(_BUILT["world"])


def _sessions_create(personas) -> dict[int, str]:
    """One logged-in session (password and second factor) per persona, by user id: a check's browser
    session starts from it (``_web``) instead of logging in again for each test."""
    sessions = {}
    for persona in PERSONAS:
        client = APIClient()
        login_with_second_factor(client, getattr(personas, persona))
        sessions[getattr(personas, persona).pk] = client.session.session_key
    return sessions


def _duesseldorf_personas(personas):
    """The second district, seeded from its own file, with one officer, caseworker and coordinator."""
    from django.contrib.auth import get_user_model

    from agencies.models import Membership, Role
    from agencies.services import district_seed

    district_seed(slug="duesseldorf")
    for name, code, role in (
        ("police_duesseldorf", "PW-D-ALT", Role.POLICE_OFFICER),
        ("caseworker_duesseldorf", "JA-D", Role.CASEWORKER),
        ("coordinator_duesseldorf", "KOORD-D", Role.DISTRICT_COORDINATOR),
    ):
        user = get_user_model().objects.create_user(username=name, password="Test-Passwort-123")
        Membership.objects.create(user=user, agency=Agency.objects.get(code=code), role=role)
        setattr(personas, name, user)


def _referrals_create(personas):
    referrals = {
        "draft_hilden": make_referral(personas.police_hilden, submit=False),
        "submitted_hilden": make_referral(personas.police_hilden, postcode="40723", city="Hilden"),
        "submitted_velbert": make_referral(personas.police_velbert, postcode="42551", city="Velbert"),
        # An address outside the instance (40721 Düsseldorf is Düsseldorf's office now).
        "triage": make_referral(personas.police_hilden, postcode="10115", city="Berlin"),
        "granted_velbert": make_referral(personas.police_velbert, postcode="42549", city="Velbert"),
        # Across the district border (issue 18): routed by the child's address.
        "from_duesseldorf": make_referral(personas.police_duesseldorf, postcode="40723", city="Hilden"),
        "to_duesseldorf": make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf"),
        "triage_duesseldorf": make_referral(personas.police_duesseldorf, postcode="10115", city="Berlin"),
    }
    ReferralUserObjectPermission.objects.create(
        user=personas.caseworker_hilden,
        permission=Permission.objects.get(codename="view_referral"),
        content_object=referrals["granted_velbert"],
    )
    # Hand-overs: Hilden offers a case to Velbert (pending), and another one that Velbert accepted.
    velbert = Agency.objects.get(code="JA-VEL")
    for key, accept in (("forwarded_pending", False), ("forwarded_accepted", True)):
        referral = make_referral(personas.police_hilden, postcode="40724", city="Hilden")
        referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
        if accept:
            referral_accept(referral=referral, user=personas.caseworker_velbert)
        referrals[key] = Referral.objects.select_related("youth_office", "forwarded_to").get(pk=referral.pk)
    # A hand-over across the border: Hilden to Düsseldorf, accepted.
    referral = make_referral(personas.police_hilden, postcode="40724", city="Hilden")
    duesseldorf = Agency.objects.get(code="JA-D")
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=duesseldorf, reason="Umzug")
    referral_accept(referral=referral, user=personas.caseworker_duesseldorf)
    referrals["forwarded_to_duesseldorf"] = Referral.objects.select_related("youth_office").get(pk=referral.pk)
    routed = ("from_duesseldorf", "to_duesseldorf", "forwarded_to_duesseldorf")
    assert [referrals[k].youth_office.code for k in routed] == ["JA-HIL", "JA-D", "JA-D"]
    assert referrals["triage"].status == referrals["triage_duesseldorf"].status == "triage"
    return referrals


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


def _web(user):
    """A browser session of ``user`` (logged in with both factors, see tests/conftest.py): the persona's
    session of ``matrix_world``, or a new login for anyone else."""
    web = APIClient()
    session_key = _BUILT.get("sessions", {}).get(user.pk)
    if session_key is None:
        web.force_login(user)
    else:
        web.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return web


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def refuses_get(client, url_of, persona, referrals, label):
    """A POST-only address answers 405 to a GET (``require_POST``, before any scope check), so a GET
    neither shows nor changes anything. The answer does not depend on the referral: it is checked on one
    the persona sees and one they do not, instead of on each of the world's referrals."""
    inside = [k for k in referrals if k in VISIBLE[persona]][:1]
    outside = [k for k in referrals if k not in VISIBLE[persona]][:1]
    for key in inside + outside:
        status = client.get(url_of(referrals[key])).status_code
        assert status == 405, (label, "GET", persona, key, status)


# --- the endpoints: how to ask each one, and what it must answer -------------------------------


def check_page_list(url_name, path, roles, narrow):
    def check(persona, user, referrals):
        web = _web(user)
        response = web.get(path)
        if persona not in roles:
            assert response.status_code == 403, (url_name, persona)
            return
        assert response.status_code == 200, (url_name, persona)
        expected = {k for k in VISIBLE[persona] if narrow(persona, k, referrals)}
        assert _refs(response.content, referrals) == expected, (url_name, persona)

    return check


def check_page_detail(persona, user, referrals):
    web = _web(user)
    for key, referral in referrals.items():
        status = web.get(f"/referrals/{referral.pk}/").status_code
        assert status == (200 if key in VISIBLE[persona] else 404), ("detail", persona, key, status)
    assert web.get("/referrals/987654/").status_code == 404


def check_page_edit(persona, user, referrals):
    web = _web(user)
    for key, referral in referrals.items():
        status = web.get(f"/referrals/{referral.pk}/edit/").status_code
        allowed = key == "draft_hilden" and persona == "police_hilden"
        assert status == (200 if allowed else 404), ("edit", persona, key, status)


def check_page_assign(persona, user, referrals):
    web = _web(user)
    for key, referral in referrals.items():
        status = web.post(f"/triage/{referral.pk}/assign/", {"youth_office": "0"}).status_code
        allowed = COORDINATORS.get(persona) == key
        assert (status != 404) if allowed else (status == 404), ("assign", persona, key, status)
    assert Referral.objects.get(pk=referrals["triage"].pk).status == "triage"  # nothing assigned to office 0


def check_api_list(persona, user, referrals):
    api = _api(user)
    expected = {referrals[k].reference for k in VISIBLE[persona]}
    assert _api_list(api) == expected, ("api list", persona)


def check_api_detail(persona, user, referrals):
    api = _api(user)
    for key, referral in referrals.items():
        status = api.get(f"/api/v1/referrals/{referral.pk}/").status_code
        assert status == (200 if key in VISIBLE[persona] else 404), ("api detail", persona, key, status)


def check_api_create(persona, user, referrals):
    api = _api(user)
    status = api.post("/api/v1/referrals/", {"draft": True}, format="json").status_code
    assert status == (201 if persona in POLICE else 403), ("api create", persona, status)


def check_api_assign(persona, user, referrals):
    api = _api(user)
    for key, referral in referrals.items():
        status = api.post(f"/api/v1/referrals/{referral.pk}/assign-office/", {}, format="json").status_code
        allowed = COORDINATORS.get(persona) == key
        assert status == (400 if allowed else 404), ("api assign", persona, key, status)


def check_notifications(persona, user, referrals):
    web = _web(user)
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
    web = _web(user)
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
    web = _web(user)
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
    """The referral is the persona's office's: responsible for it, or offered it in a hand-over."""
    offices = {referrals[key].youth_office, referrals[key].forwarded_to}
    return OFFICE_OF[persona] in {office.code for office in offices if office is not None}


# --- the casework API (issue 3) ---------------------------------------------------------------
# Every action answers 404 outside the caller's scope. The office's casework (assessment, notes,
# attachments, timeline) answers 404 also to whoever sees the referral without working on it in its
# office: police, the district coordinator, an individual grant. The checks send input that is refused
# before anything changes: they prove the scope; tests/test_api_casework.py proves the rules.


def _works_on(persona, key, referrals):
    return persona in OFFICE and _own_office(persona, key, referrals)


def _reads_contents(persona, key):
    return key in VISIBLE[persona] and persona not in COORDINATORS


def _api_url(referral, path):
    return f"/api/v1/referrals/{referral.pk}/{path}/"


def _versions(referrals):
    return dict(Referral.objects.filter(pk__in=[r.pk for r in referrals.values()]).values_list("pk", "version"))


def check_api_transition(path):
    def check(persona, user, referrals):
        api = _api(user)
        before = _versions(referrals)
        for key, referral in referrals.items():
            status = api.post(_api_url(referral, path), {"version": "x"}, format="json").status_code
            assert status == (400 if key in VISIBLE[persona] else 404), (path, persona, key, status)
        assert _versions(referrals) == before, path

    return check


def check_api_casework(path, *, read_status=200, write=None):
    def check(persona, user, referrals):
        api = _api(user)
        for key, referral in referrals.items():
            inside = _works_on(persona, key, referrals)
            status = api.get(_api_url(referral, path)).status_code
            assert status == (read_status if inside else 404), (path, "GET", persona, key, status)
            if write:
                status = api.post(_api_url(referral, path), {}, format=write).status_code
                assert status == (400 if inside else 404), (path, "POST", persona, key, status)

    return check


def check_api_followups(persona, user, referrals):
    api = _api(user)
    for key, referral in referrals.items():
        inside = _reads_contents(persona, key)
        status = api.get(_api_url(referral, "followups")).status_code
        assert status == (200 if inside else 404), ("followups", "GET", persona, key, status)
        status = api.post(_api_url(referral, "followups"), {}, format="json").status_code
        assert status == (400 if inside else 404), ("followups", "POST", persona, key, status)


def check_api_attachment(persona, user, referrals):
    """A file of the Hilden office: only its staff download it, and only through its own referral."""
    import tempfile

    from django.contrib.auth import get_user_model
    from django.core.files.storage import FileSystemStorage
    from django.core.files.uploadedfile import SimpleUploadedFile

    from referrals.models import Attachment
    from referrals.services import attachment_add

    field = Attachment._meta.get_field("file")
    storage = field.storage
    with tempfile.TemporaryDirectory() as directory:
        field.storage = FileSystemStorage(location=directory)
        try:
            attachment = attachment_add(
                referral=referrals["submitted_hilden"],
                user=get_user_model().objects.get(username="caseworker_hilden"),
                uploaded_file=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n"),
            )
            api = _api(user)
            for key, referral in referrals.items():
                response = api.get(_api_url(referral, f"attachments/{attachment.pk}"))
                if response.streaming:
                    b"".join(response.streaming_content)  # reading to the end closes the file
                allowed = key == "submitted_hilden" and _works_on(persona, key, referrals)
                assert response.status_code == (200 if allowed else 404), ("attachment", persona, key)
        finally:
            field.storage = storage


# --- the casework pages (issue 3) ------------------------------------------------------------
# Each action of the office page is a POST of its own: 404 outside the caller's scope (and 405 to a
# GET), inside it either a refusal for the wrong role (403) or the page again because the empty POST
# lacks the version (200) — never a change. tests/test_pages_casework.py proves the rules.

PAGE_ACTIONS = (
    "acknowledge", "assign", "rerate", "forward", "accept", "return", "assessment", "sign-off", "close", "reopen",
    "notes", "attachments", "followups",
)  # fmt: skip


def _page_versions(referrals):
    return dict(Referral.objects.filter(pk__in=[r.pk for r in referrals.values()]).values_list("pk", "version"))


def _office_role(persona, key, referrals):
    """How the persona's office stands to the referral: "office" (responsible, works on it),
    "receiving" (offered it in a pending hand-over), "sender" (handed it over, read-only) or None."""
    referral, code = referrals[key], OFFICE_OF.get(persona)
    if code is None:
        return None
    if referral.status == "forwarded":
        if referral.forwarded_to.code == code:
            return "receiving"
        return "sender" if referral.youth_office.code == code else None
    return "office" if referral.youth_office and referral.youth_office.code == code else None


def _page_action_allowed(path, persona, key, referrals):
    """Who gets the form (200) rather than a refusal (403) among those who see the referral."""
    if path == "followups":
        return persona in POLICE
    if path in ("accept", "return"):
        return _office_role(persona, key, referrals) == "receiving"
    if path == "reopen":  # the transition table: only the office's lead reopens (referrals/transitions.py)
        return _office_role(persona, key, referrals) == "office" and persona.startswith("lead_")
    return _office_role(persona, key, referrals) == "office"


def check_page_export(persona, user, referrals):
    """An incomplete export form is refused with a message (redirect) inside scope, 404 outside."""
    web = _web(user)
    before = _page_versions(referrals)
    refuses_get(web, lambda referral: f"/referrals/{referral.pk}/export/", persona, referrals, "export")
    for key, referral in referrals.items():
        action = f"/referrals/{referral.pk}/export/"
        status = web.post(action, {}).status_code
        assert status == (302 if key in VISIBLE[persona] else 404), ("export", persona, key, status)
    assert _page_versions(referrals) == before


def check_page_action(path):
    def check(persona, user, referrals):
        web = _web(user)
        before = _page_versions(referrals)
        refuses_get(web, lambda referral: f"/referrals/{referral.pk}/{path}/", persona, referrals, path)
        for key, referral in referrals.items():
            action = f"/referrals/{referral.pk}/{path}/"
            status = web.post(action, {}).status_code
            if key not in VISIBLE[persona]:
                expected = 404
            else:
                expected = 200 if _page_action_allowed(path, persona, key, referrals) else 403
            assert status == expected, (path, persona, key, status)
        assert web.post(f"/referrals/987654/{path}/", {}).status_code == 404
        assert _page_versions(referrals) == before, path

    return check


def _grants_allowed(persona, key, referrals):
    """Only the lead of the responsible office (not during a hand-over, not a draft) keeps the grants."""
    return persona.startswith("lead_") and _office_role(persona, key, referrals) == "office"


def check_page_grants(persona, user, referrals):
    """The grants page of a case (issue 11 §4): 404 outside the scope, 403 inside it for everyone
    but the lead of the responsible office; an empty POST changes nothing."""
    web = _web(user)
    for key, referral in referrals.items():
        url = f"/referrals/{referral.pk}/grants/"
        if key not in VISIBLE[persona]:
            expected = 404
        else:
            expected = 200 if _grants_allowed(persona, key, referrals) else 403
        assert web.get(url).status_code == expected, ("grants", persona, key)
        assert web.post(url, {}).status_code == expected, ("grants POST", persona, key)
    assert not ReferralGrant.objects.exists()


def check_page_grant_end(persona, user, referrals):
    """Ending a grant: POST only; 404 outside the scope or for a grant that does not exist."""
    web = _web(user)
    refuses_get(web, lambda referral: f"/referrals/{referral.pk}/grants/987654/end/", persona, referrals, "grant end")
    for key, referral in referrals.items():
        url = f"/referrals/{referral.pk}/grants/987654/end/"
        if key not in VISIBLE[persona] or _grants_allowed(persona, key, referrals):
            expected = 404
        else:
            expected = 403
        assert web.post(url).status_code == expected, ("grant end", persona, key)


def check_page_bulk_assign(persona, user, referrals):
    web = _web(user)
    data = {"referral": [r.pk for r in referrals.values()], "assignee": user.pk}
    data.update({f"version_{r.pk}": r.version for r in referrals.values()})
    status = web.post("/inbox/assign/", data).status_code
    # Office staff: the foreign rows make it fail, re-rendered in place (200); nobody else gets in.
    assert status == (200 if persona in OFFICE else 403), ("bulk assign", persona, status)
    assert not Referral.objects.filter(assignee__isnull=False).exists()  # never a referral outside the inbox


def check_page_attachment_download(persona, user, referrals):
    """A file of the Hilden office: only its staff download it, only through its own referral."""
    import tempfile

    from django.contrib.auth import get_user_model
    from django.core.files.storage import FileSystemStorage
    from django.core.files.uploadedfile import SimpleUploadedFile

    from referrals.models import Attachment
    from referrals.services import attachment_add

    field = Attachment._meta.get_field("file")
    storage = field.storage
    with tempfile.TemporaryDirectory() as directory:
        field.storage = FileSystemStorage(location=directory)
        try:
            attachment = attachment_add(
                referral=referrals["submitted_hilden"],
                user=get_user_model().objects.get(username="caseworker_hilden"),
                uploaded_file=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n"),
            )
            web = _web(user)
            for key, referral in referrals.items():
                response = web.get(f"/referrals/{referral.pk}/attachments/{attachment.pk}/")
                if response.streaming:
                    b"".join(response.streaming_content)  # reading to the end closes the file
                allowed = key == "submitted_hilden" and persona in OFFICE and _own_office(persona, key, referrals)
                assert response.status_code == (200 if allowed else 404), ("download", persona, key)
        finally:
            field.storage = storage


# --- the cooperation module (issue 5) ---------------------------------------------------------
# ``meetings_world`` of tests/test_meetings_api.py: a Hilden and a Velbert series with one meeting each,
# an action item of the Hilden caseworker, a hospitation request of a Hilden officer at the Hilden youth
# office, an event of the Velbert office for police and one of the Hilden station for youth offices.
# Who sees which is written out in ``VISIBLE_MEETINGS``. Outside the scope every URL answers 404;
# inside it a missing right answers 403; a right with incomplete input answers the form again (200) or
# 400 (API). tests/test_meetings_pages.py and tests/test_meetings_api.py prove the rules.

COOP_OBJECTS = {
    "hilden": ("series_hilden", "meeting_hilden"),
    "velbert": ("series_velbert", "meeting_velbert"),
}
COOP_INVITEES = {"hilden": {"caseworker_hilden", "police_hilden"}, "velbert": {"caseworker_velbert", "police_velbert"}}
COOP_COORDINATOR = {"district_coordinator", "coordinator_duesseldorf"}
COOP_LEADS = {"lead_hilden", "lead_velbert", "police_coordinator", "district_coordinator", "coordinator_duesseldorf"}
COOP_STAFF = POLICE | OFFICE
COOP_EVENT_HOSTS = {
    "event_police": {"caseworker_velbert", "lead_velbert", "district_coordinator"},
    "event_offices": {"police_hilden", "police_hilden2", "district_coordinator"},
}


def _coop_people():
    from types import SimpleNamespace

    from django.contrib.auth import get_user_model

    return SimpleNamespace(**{u.username: u for u in get_user_model().objects.all()})


def _coop_world():
    """The people and a copy of the cooperation world of ``matrix_world`` (``meetings_world``)."""
    return _coop_people(), copy.deepcopy(_BUILT["coop"])


def _coop_visible(persona):
    from tests.test_meetings_api import VISIBLE_MEETINGS

    # The cooperation world is Kreis Mettmann's: the second district sees none of it.
    return set() if persona in DUESSELDORF else VISIBLE_MEETINGS[persona]


def _coop_soon(days=25, hour=10):
    from tests.test_meetings_api import local, next_working_day

    return local(next_working_day(days), hour)


def _coop_status(allowed, visible, ok):
    return (ok if allowed else 403) if visible else 404


def check_coop_titles(path, kind):
    """A list page or API list shows exactly the visible objects of ``kind`` (series, event, ...)."""

    def check(persona, user, referrals):
        _people, world = _coop_world()
        keys = {"series": ("hilden", "velbert"), "event": ("event_police", "event_offices")}[kind]
        objects = {k: getattr(world, COOP_OBJECTS[k][0] if k in COOP_OBJECTS else k) for k in keys}
        if path.startswith("/api/"):
            seen, url = [], f"{path}?page_size=1"
            api = _api(user)
            while url:
                response = api.get(url)
                assert response.status_code == 200, (path, persona)
                seen += [row["title"] for row in response.json()["results"]]
                url = response.json()["next"]
            assert len(seen) == len(set(seen)), (path, persona)
            text = "\n".join(seen)
        else:
            response = _web(user).get(path)
            assert response.status_code == 200, (path, persona)
            text = response.content.decode()
        for key, obj in objects.items():
            assert (obj.title in text) == (key in _coop_visible(persona)), (path, persona, key)

    return check


def check_coop_calendar(view):
    """The calendar shows the meetings one sees (month and list view), nobody else's."""

    def check(persona, user, referrals):
        from django.utils import timezone

        _people, world = _coop_world()
        web = _web(user)
        for key in ("hilden", "velbert"):
            meeting = getattr(world, COOP_OBJECTS[key][1])
            day = timezone.localtime(meeting.start).date()
            query = f"?month={day:%Y-%m}" if view == "month" else f"?from={day}&to={day}"
            response = web.get(f"/cooperation/{'' if view == 'month' else 'list/'}{query}")
            assert response.status_code == 200, (view, persona)
            shown = f'href="/cooperation/meetings/{meeting.pk}/"' in response.content.decode()
            assert shown == (key in _coop_visible(persona)), (view, persona, key)

    return check


def check_coop_detail(url, keys, *, api=False):
    """GET of each object's page (or API detail): 200 in scope, 404 outside and for nonexistent ids."""

    def check(persona, user, referrals):
        _people, world = _coop_world()
        client = _api(user) if api else _web(user)
        for key in keys:
            obj = _coop_object(world, key, url)
            status = client.get(url.format(pk=obj.pk)).status_code
            assert status == (200 if key in _coop_visible(persona) else 404), (url, persona, key, status)
        assert client.get(url.format(pk=987654)).status_code == 404

    return check


def _coop_object(world, key, url):
    if key in COOP_OBJECTS:
        return getattr(world, COOP_OBJECTS[key][0 if "series" in url else 1])
    return getattr(world, key)


def check_coop_role_page(path, roles):
    """A page for some roles only: 200 for them, 403 for everyone else."""

    def check(persona, user, referrals):
        _coop_world()
        web = _web(user)
        assert web.get(path).status_code == (200 if persona in roles else 403), (path, persona)

    return check


def check_coop_api_role(path, roles):
    """An API endpoint for some roles only: 200 for them, 403 for everyone else."""

    def check(persona, user, referrals):
        _coop_world()
        assert _api(user).get(path).status_code == (200 if persona in roles else 403), (path, persona)

    return check


def check_coop_action(url, keys, allowed, *, ok, data=None, api=False, method="post"):
    """An action on each object: 404 outside the scope; inside it ``ok`` for whom ``allowed(persona,
    key)`` says, else 403. A page action refuses GET (405)."""

    def check(persona, user, referrals):
        people, world = _coop_world()
        client = _api(user) if api else _web(user)
        for key in keys:
            obj = _coop_object(world, key, url)
            target = url.format(pk=obj.pk, item=world.action.pk)
            if not api:
                assert client.get(target).status_code == 405, (url, persona)
            body = data(people) if callable(data) else (data or {})
            send = getattr(client, method)
            response = send(target, body, format="json") if api else send(target, body)
            expected = _coop_status(allowed(persona, key), key in _coop_visible(persona), ok)
            assert response.status_code == expected, (url, persona, key, response.status_code)

    return check


def check_coop_edit_page(persona, user, referrals):
    _people, world = _coop_world()
    web = _web(user)
    for key in ("hilden", "velbert"):
        series = getattr(world, COOP_OBJECTS[key][0])
        status = web.get(f"/cooperation/series/{series.pk}/edit/").status_code
        expected = _coop_status(persona in COOP_COORDINATOR, key in _coop_visible(persona), 200)
        assert status == expected, ("series edit", persona, key, status)


def check_coop_attendance(persona, user, referrals):
    _people, world = _coop_world()
    web = _web(user)
    for key, hosts in COOP_EVENT_HOSTS.items():
        status = web.get(f"/cooperation/events/{getattr(world, key).pk}/attendance/").status_code
        assert status == _coop_status(persona in hosts, key in _coop_visible(persona), 200), (persona, key, status)


def check_coop_subscription(persona, user, referrals):
    from meetings.models import CalendarFeedToken

    web = _web(user)
    assert web.get("/cooperation/subscription/").status_code == 200
    assert web.post("/cooperation/subscription/revoke/").status_code == 302  # nothing to revoke
    assert web.post("/cooperation/subscription/").status_code == 302
    token = CalendarFeedToken.objects.get(user=user).token
    assert token in web.get("/cooperation/subscription/").content.decode()
    assert web.post("/cooperation/subscription/revoke/").status_code == 200  # asks first
    assert web.post("/cooperation/subscription/revoke/", {"confirm": "1"}).status_code == 302
    assert not CalendarFeedToken.objects.filter(user=user).exists()


def check_coop_feed(persona, user, referrals):
    """The public feed: the token is the only key; unknown and revoked tokens answer 404."""
    from rest_framework.test import APIClient

    from meetings.models import CalendarFeedToken
    from meetings.services import feed_token_get_or_create, feed_token_revoke

    anonymous = APIClient()
    token = feed_token_get_or_create(user=user).token
    response = anonymous.get(f"/cooperation/calendar/{token}.ics")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"], persona
    assert anonymous.get(f"/cooperation/calendar/{token[:-1]}x.ics").status_code == 404
    feed_token_revoke(user=user)
    assert not CalendarFeedToken.objects.filter(user=user).exists()
    assert anonymous.get(f"/cooperation/calendar/{token}.ics").status_code == 404


def check_coop_api_feed(persona, user, referrals):
    api = _api(user)
    response = api.get("/api/v1/calendar/feed/")
    assert response.status_code == 200 and response.json()["webcal_url"].startswith("webcal://")
    assert api.delete("/api/v1/calendar/feed/").status_code == 204


def check_coop_api_list_create(path, kind, roles, payload):
    """An API list shows exactly the visible objects; POST creates for ``roles``, 403 for others."""
    titles = check_coop_titles(path, kind) if kind else None

    def check(persona, user, referrals):
        if titles:
            titles(persona, user, referrals)
        else:  # hospitations: by id
            _people, world = _coop_world()
            api = _api(user)
            ids = {row["id"] for row in api.get(path).json()["results"]}
            assert (world.hospitation.pk in ids) == ("hospitation" in _coop_visible(persona)), (path, persona)
        api = _api(user)
        status = api.post(path, payload(persona, _coop_people()), format="json").status_code
        assert status == (201 if persona in roles else 403), (path, "POST", persona, status)

    return check


def check_coop_api_list(persona, user, referrals):
    _people, world = _coop_world()
    api = _api(user)
    ids = {row["id"] for row in api.get("/api/v1/meetings/").json()["results"]}
    expected = {getattr(world, COOP_OBJECTS[k][1]).pk for k in ("hilden", "velbert") if k in _coop_visible(persona)}
    assert ids == expected, ("meetings", persona)


def check_coop_api_series_detail(persona, user, referrals):
    check_coop_detail("/api/v1/meeting-series/{pk}/", ("hilden", "velbert"), api=True)(persona, user, referrals)
    check_coop_action(
        "/api/v1/meeting-series/{pk}/", ("hilden", "velbert"), lambda p, k: p in COOP_COORDINATOR, ok=200,
        data={"title": "Neu"}, api=True, method="patch",
    )(persona, user, referrals)  # fmt: skip


def _coop_series_payload(persona, people):
    from tests.test_meetings_api import agency

    if persona in DUESSELDORF:  # a coordinator plans with the agencies and people of their own district
        agencies, invitee = [agency("JA-D").pk, agency("PW-D-ALT").pk], people.caseworker_duesseldorf
    else:
        agencies, invitee = [agency("JA-VEL").pk, agency("PW-VEL").pk], people.caseworker_velbert
    return {
        "title": "Neue Reihe", "agencies": agencies,
        "invitees": [invitee.pk], "rrule": "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU",
        "first_start": _coop_soon(10).isoformat(),
    }  # fmt: skip


def _coop_hospitation_payload(persona, people):
    from tests.test_meetings_api import agency, next_working_day

    host = "JA-HIL" if persona in POLICE else "PW-HIL"
    if persona in DUESSELDORF:
        host = "JA-D" if persona in POLICE else "PW-D-ALT"
    return {"host_agency": agency(host).pk, "wished_dates": [next_working_day(9).isoformat()], "purpose": "Lernen"}


def _coop_event_payload(persona, people):
    import datetime

    from tests.test_meetings_api import agency

    host = {"lead_velbert": "JA-VEL", "police_coordinator": "KPB-ME", "coordinator_duesseldorf": "JA-D"}.get(
        persona, "JA-HIL"
    )
    start = _coop_soon(30, 14)
    return {
        "host_agency": agency(host).pk, "title": "Neu", "description": "", "audience": "both",
        "start": start.isoformat(), "end": (start + datetime.timedelta(hours=2)).isoformat(), "place": "Saal",
        "capacity": 10, "registration_deadline": (start - datetime.timedelta(days=2)).isoformat(),
    }  # fmt: skip


def _coop_meeting_manager(persona, key):
    return persona in COOP_COORDINATOR


def _coop_records_actions(persona, key):
    return persona in COOP_COORDINATOR or persona in COOP_INVITEES.get(key, ())


def _coop_anyone(persona, key):
    return True


def _coop_host_lead(persona, key):
    return persona == "lead_hilden"


def _coop_visitor(persona, key):
    return persona == "police_hilden"


def _coop_action_owner(persona, key):
    return persona in ("caseworker_hilden", "district_coordinator")


COOP_MEETINGS = ("hilden", "velbert")
COOP_EVENTS = ("event_police", "event_offices")
COOP_HOSPITATION = ("hospitation",)
COOP_ENDPOINTS = {
    # pages
    "meetings:calendar": check_coop_calendar("month"),
    "meetings:calendar_list": check_coop_calendar("list"),
    "meetings:series_list": check_coop_titles("/cooperation/series/", "series"),
    "meetings:series_create": check_coop_role_page("/cooperation/series/new/", COOP_COORDINATOR),
    "meetings:series_preview": check_coop_role_page(
        "/cooperation/series/preview/?cadence=quarterly_2tu&first_start=2027-03-09T10:00", COOP_COORDINATOR
    ),
    "meetings:series_detail": check_coop_detail("/cooperation/series/{pk}/", COOP_MEETINGS),
    "meetings:series_edit": check_coop_edit_page,
    "meetings:meeting_detail": check_coop_detail("/cooperation/meetings/{pk}/", COOP_MEETINGS),
    "meetings:meeting_ics": check_coop_detail("/cooperation/meetings/{pk}/invitation.ics", COOP_MEETINGS),
    "meetings:meeting_confirm": check_coop_action(
        "/cooperation/meetings/{pk}/confirm/", COOP_MEETINGS, _coop_meeting_manager, ok=302
    ),
    "meetings:meeting_move": check_coop_action(
        "/cooperation/meetings/{pk}/move/", COOP_MEETINGS, _coop_meeting_manager, ok=200
    ),
    "meetings:meeting_cancel": check_coop_action(
        "/cooperation/meetings/{pk}/cancel/", COOP_MEETINGS, _coop_meeting_manager, ok=200
    ),
    "meetings:agenda_add": check_coop_action("/cooperation/meetings/{pk}/agenda/", COOP_MEETINGS, _coop_anyone, ok=200),
    "meetings:minutes_save": check_coop_action(
        "/cooperation/meetings/{pk}/minutes/", COOP_MEETINGS, _coop_meeting_manager, ok=200
    ),
    "meetings:action_add": check_coop_action(
        "/cooperation/meetings/{pk}/actions/", COOP_MEETINGS, _coop_records_actions, ok=200
    ),
    "meetings:action_done": check_coop_action(
        "/cooperation/meetings/{pk}/actions/{item}/done/", ("hilden",), _coop_action_owner, ok=302
    ),
    "meetings:hospitation_list": lambda p, u, r: _coop_hospitation_list(p, u),
    "meetings:hospitation_request": check_coop_role_page("/cooperation/hospitations/new/", COOP_STAFF),
    "meetings:hospitation_totals": check_coop_role_page("/cooperation/hospitations/totals/", COOP_LEADS),
    "meetings:hospitation_detail": check_coop_detail("/cooperation/hospitations/{pk}/", COOP_HOSPITATION),
    "meetings:hospitation_approve": check_coop_action(
        "/cooperation/hospitations/{pk}/approve/", COOP_HOSPITATION, _coop_host_lead, ok=200
    ),
    "meetings:hospitation_decline": check_coop_action(
        "/cooperation/hospitations/{pk}/decline/", COOP_HOSPITATION, _coop_host_lead, ok=200
    ),
    "meetings:hospitation_complete": check_coop_action(
        "/cooperation/hospitations/{pk}/complete/", COOP_HOSPITATION, _coop_visitor, ok=200
    ),
    "meetings:event_list": check_coop_titles("/cooperation/events/", "event"),
    "meetings:event_create": check_coop_role_page("/cooperation/events/new/", COOP_LEADS),
    "meetings:event_detail": check_coop_detail("/cooperation/events/{pk}/", COOP_EVENTS),
    "meetings:event_register": check_coop_action(
        "/cooperation/events/{pk}/register/", COOP_EVENTS, _coop_anyone, ok=302
    ),
    "meetings:event_cancel_registration": check_coop_action(  # confirmed: the cancellation itself
        "/cooperation/events/{pk}/cancel-registration/", COOP_EVENTS, _coop_anyone, ok=302, data={"confirm": "1"}
    ),
    "meetings:event_attendance": check_coop_attendance,
    "meetings:subscription": check_coop_subscription,
    "meetings:subscription_revoke": check_coop_subscription,
    "meetings:feed": check_coop_feed,
    "meetings:report": check_coop_role_page("/cooperation/report/", COOP_COORDINATOR),
    "meetings:report_csv": check_coop_role_page("/cooperation/report.csv", COOP_COORDINATOR),
    # API
    "meeting-series-list": check_coop_api_list_create(
        "/api/v1/meeting-series/", "series", COOP_COORDINATOR, _coop_series_payload
    ),
    "meeting-series-detail": check_coop_api_series_detail,
    "meeting-series-preview": check_coop_api_role(
        "/api/v1/meeting-series/preview/?rrule=FREQ%3DMONTHLY%3BBYDAY%3D2TU&first_start=2027-03-09T10%3A00%3A00%2B01%3A00",
        COOP_COORDINATOR,
    ),
    "meeting-list": check_coop_api_list,
    "meeting-detail": check_coop_detail("/api/v1/meetings/{pk}/", COOP_MEETINGS, api=True),
    "meeting-ics": check_coop_detail("/api/v1/meetings/{pk}/ics/", COOP_MEETINGS, api=True),
    "meeting-confirm": check_coop_action(
        "/api/v1/meetings/{pk}/confirm/", COOP_MEETINGS, _coop_meeting_manager, ok=200, api=True
    ),
    "meeting-move": check_coop_action(
        "/api/v1/meetings/{pk}/move/",
        COOP_MEETINGS,
        _coop_meeting_manager,
        ok=200,
        api=True,
        data=lambda people: {"start": _coop_soon(40).isoformat()},
    ),
    "meeting-cancel": check_coop_action(
        "/api/v1/meetings/{pk}/cancel/",
        COOP_MEETINGS,
        _coop_meeting_manager,
        ok=200,
        api=True,
        data={"reason": "Krankheit"},
    ),
    "meeting-agenda": check_coop_action(
        "/api/v1/meetings/{pk}/agenda/", COOP_MEETINGS, _coop_anyone, ok=201, api=True, data={"title": "Thema"}
    ),
    "meeting-minutes": check_coop_action(  # a proposed meeting has no minutes yet: 400 for the coordinator
        "/api/v1/meetings/{pk}/minutes/",
        COOP_MEETINGS,
        _coop_meeting_manager,
        ok=400,
        api=True,
        data={"minutes": "Protokoll"},
    ),
    "meeting-actions": check_coop_action(  # nor action items
        "/api/v1/meetings/{pk}/actions/",
        COOP_MEETINGS,
        _coop_records_actions,
        ok=400,
        api=True,
        data=lambda people: {
            "title": "Aufgabe",
            "owner": people.caseworker_hilden.pk,
            "due_on": str(_coop_soon(30).date()),
        },
    ),
    "meeting-action-done": check_coop_action(
        "/api/v1/meetings/{pk}/actions/{item}/done/", ("hilden",), _coop_action_owner, ok=200, api=True
    ),
    "hospitation-list": check_coop_api_list_create(
        "/api/v1/hospitations/", None, COOP_STAFF, _coop_hospitation_payload
    ),
    "hospitation-detail": check_coop_detail("/api/v1/hospitations/{pk}/", COOP_HOSPITATION, api=True),
    "hospitation-approve": check_coop_action(
        "/api/v1/hospitations/{pk}/approve/",
        COOP_HOSPITATION,
        _coop_host_lead,
        ok=200,
        api=True,
        data=lambda people: {"date": str(_coop_soon(12).date()), "host_person": people.caseworker_hilden.pk},
    ),
    "hospitation-decline": check_coop_action(
        "/api/v1/hospitations/{pk}/decline/",
        COOP_HOSPITATION,
        _coop_host_lead,
        ok=200,
        api=True,
        data={"reason": "Keine Kapazität"},
    ),
    "hospitation-complete": check_coop_action(  # requested, not yet approved: 400 for the visitor
        "/api/v1/hospitations/{pk}/complete/",
        COOP_HOSPITATION,
        _coop_visitor,
        ok=400,
        api=True,
        data={"feedback": "Gut"},
    ),
    "info-event-list": check_coop_api_list_create("/api/v1/events/", "event", COOP_LEADS, _coop_event_payload),
    "info-event-detail": check_coop_detail("/api/v1/events/{pk}/", COOP_EVENTS, api=True),
    "info-event-register": check_coop_action(
        "/api/v1/events/{pk}/register/", COOP_EVENTS, _coop_anyone, ok=200, api=True
    ),
    "info-event-cancel-registration": check_coop_action(  # not registered: 400
        "/api/v1/events/{pk}/cancel-registration/", COOP_EVENTS, _coop_anyone, ok=400, api=True
    ),
    "calendar-feed": check_coop_api_feed,
}


# --- retention (issue 4) -------------------------------------------------------------------------
# Each office gets a rule starting tomorrow; its submitted referral is made closed long ago, so the
# dry run of its own office lists exactly that referral. Only the office's lead sees rules and dry
# runs: others get 403 on the page and the API list, and 404 for a rule of an office they do not lead.

RETENTION_LEADS = {"lead_hilden": ("JA-HIL", "submitted_hilden"), "lead_velbert": ("JA-VEL", "submitted_velbert")}
# The district coordinator sets the rules of the coordination office (referrals handed over from the
# triage queue): page and list answer 200, with none of the offices' rules or referrals.
RETENTION_COORDINATORS = {"district_coordinator": "KOORD", "coordinator_duesseldorf": "KOORD-D"}


def _retention_rules(referrals):
    import datetime

    from django.utils import timezone

    from referrals.models import RetentionRule

    rules = {}
    for code, key in RETENTION_LEADS.values():
        Referral.objects.filter(pk=referrals[key].pk).update(
            status="closed", closed_at=timezone.now() - datetime.timedelta(days=400), retention_outcome="none"
        )  # as referral_close would leave it without an assessment (Referral.retention_outcome)
        rules[code] = RetentionRule.objects.create(
            office=Agency.objects.get(code=code),
            outcome="none",
            keep_days=30,
            valid_from=timezone.localdate() + datetime.timedelta(days=1),
        )
    return rules


def check_retention_withdraw(persona, user, referrals):
    """A rule not yet in force is withdrawn by its office's lead alone: 404 to everyone else (the
    rule is out of their scope, ``rules_for_lead``), 405 to a GET."""
    from referrals.models import RetentionRule

    rules = _retention_rules(referrals)
    web = _web(user)
    for code, rule in rules.items():
        url = f"/retention/{rule.pk}/withdraw/"
        assert web.get(url).status_code == 405, ("retention withdraw GET", persona, code)
        own = RETENTION_LEADS.get(persona, (None,))[0] == code
        assert web.post(url).status_code == (302 if own else 404), ("retention withdraw", persona, code)
        assert RetentionRule.objects.filter(pk=rule.pk).exists() != own, ("retention withdraw", persona, code)


def check_retention_page(persona, user, referrals):
    _retention_rules(referrals)
    web = _web(user)
    response = web.get("/retention/")
    if persona in RETENTION_COORDINATORS:
        assert response.status_code == 200, ("retention page", persona)
        assert _refs(response.content, referrals) == set(), ("retention page", persona)
        return
    if persona not in RETENTION_LEADS:
        assert response.status_code == 403, ("retention page", persona)
        return
    assert response.status_code == 200, ("retention page", persona)
    assert _refs(response.content, referrals) == {RETENTION_LEADS[persona][1]}, ("retention page", persona)


def check_api_retention_list(persona, user, referrals):
    rules = _retention_rules(referrals)
    api = _api(user)
    response = api.get("/api/v1/retention-rules/")
    if persona in RETENTION_COORDINATORS:
        assert response.status_code == 200, ("retention rules", persona)
        coordination = Agency.objects.get(code=RETENTION_COORDINATORS[persona])
        assert {row["office"] for row in response.json()} == {coordination.pk}
        return
    if persona not in RETENTION_LEADS:
        assert response.status_code == 403, ("retention rules", persona)
        return
    assert response.status_code == 200
    assert {row["office"] for row in response.json()} == {rules[RETENTION_LEADS[persona][0]].office_id}


def check_api_retention_dry_run(persona, user, referrals):
    rules = _retention_rules(referrals)
    api = _api(user)
    for code, rule in rules.items():
        response = api.get(f"/api/v1/retention-rules/{rule.pk}/dry-run/")
        own = RETENTION_LEADS.get(persona, (None,))[0] == code
        assert response.status_code == (200 if own else 404), ("dry run", persona, code, response.status_code)
        if own:
            assert _refs(response.content, referrals) == {RETENTION_LEADS[persona][1]}
    assert api.get("/api/v1/retention-rules/987654/dry-run/").status_code == 404


def _coop_hospitation_list(persona, user):
    _people, world = _coop_world()
    web = _web(user)
    response = web.get("/cooperation/hospitations/")
    assert response.status_code == 200
    shown = f'href="/cooperation/hospitations/{world.hospitation.pk}/"' in response.content.decode()
    assert shown == ("hospitation" in _coop_visible(persona)), ("hospitation list", persona)


# --- contact directory and routing preview (issue 9) -------------------------------------------
# Members of the district see every agency's entry; the on-call numbers only police and youth
# offices (and the agency's own people); another district and people without a membership see
# nothing (403 page, empty list, 404 detail); whoever keeps an entry edits it, others 403, outside 404.

DIRECTORY_MEMBERS = POLICE | OFFICE | set(COORDINATORS)
ONCALL_SEERS = POLICE | OFFICE
ENTRY_KEEPERS = {
    "lead_hilden": {"JA-HIL"},
    "lead_velbert": {"JA-VEL"},
    "police_coordinator": {"KPB-ME", "PW-HIL", "PW-VEL"},
    "district_coordinator": {"KOORD"},
    "coordinator_duesseldorf": {"KOORD-D"},
}
PREVIEWERS = POLICE | set(COORDINATORS)


def _offices_seen_and_not(persona):
    """The youth office of the persona's own district and the one of the other district."""
    own, foreign = ("JA-D", "JA-HIL") if persona in DUESSELDORF else ("JA-HIL", "JA-D")
    return Agency.objects.get(code=own), Agency.objects.get(code=foreign)


def check_directory_page(persona, user, referrals):
    from tests.test_directory import other_district_people

    other, _people = other_district_people()
    hilden, foreign = _offices_seen_and_not(persona)  # ``hilden``: the persona's own district's office
    response = _web(user).get("/directory/")
    assert APIClient().get("/directory/").status_code == 302  # anonymous: to the login
    if persona not in DIRECTORY_MEMBERS:
        assert response.status_code == 403, ("directory", persona)
        return
    text = response.content.decode()
    assert response.status_code == 200 and hilden.name in text and hilden.phone in text
    assert (hilden.oncall_phone in text) == (persona in ONCALL_SEERS), ("directory on-call", persona)
    assert other.name not in text and other.oncall_phone not in text
    assert foreign.name not in text, ("directory of the other district", persona)


def check_directory_edit(persona, user, referrals):
    from tests.test_directory import other_district_people

    other, _people = other_district_people()
    web = _web(user)
    codes = ["JA-HIL", "JA-VEL", "KPB-ME", "PW-HIL", "KOORD", "JA-D", "KOORD-D"]
    agencies = [*Agency.objects.filter(code__in=codes).select_related("district"), other]
    before = {a.pk: a.oncall_phone for a in agencies}
    own_district = "duesseldorf" if persona in DUESSELDORF else "mettmann"
    for agency in agencies:
        url = f"/directory/{agency.pk}/edit/"
        if agency.district.slug != own_district or persona not in DIRECTORY_MEMBERS:
            expected = 404
        else:
            expected = 200 if agency.code in ENTRY_KEEPERS.get(persona, set()) else 403
        assert web.get(url).status_code == expected, ("directory edit", persona, agency.code)
        status = web.post(url, {"oncall_phone": "0000"}).status_code
        assert status == (200 if expected == 200 else expected), ("directory edit POST", persona, agency.code)
    assert {a.pk: a.oncall_phone for a in Agency.objects.filter(pk__in=before)} == before  # incomplete: unsaved


def check_api_agencies(persona, user, referrals):
    from tests.test_directory import other_district_people

    other, _people = other_district_people()
    api = _api(user)
    assert APIClient().get("/api/v1/agencies/").status_code in (401, 403)
    listed = api.get("/api/v1/agencies/")
    assert listed.status_code == 200
    hilden, foreign = _offices_seen_and_not(persona)  # ``hilden``: the persona's own district's office
    assert api.get(f"/api/v1/agencies/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/agencies/{foreign.pk}/").status_code == 404, ("agency of the other district", persona)
    if persona not in DIRECTORY_MEMBERS:
        assert listed.json() == [], ("agencies", persona)
        assert api.get(f"/api/v1/agencies/{hilden.pk}/").status_code == 404
        return
    names = {a["name"] for a in listed.json()}
    assert hilden.name in names and other.name not in names and foreign.name not in names
    detail = api.get(f"/api/v1/agencies/{hilden.pk}/").json()
    expected = hilden.oncall_phone if persona in ONCALL_SEERS else None
    assert detail["oncall_phone"] == expected, ("agency on-call", persona)
    others = [a for a in listed.json() if a["kind"] != "coordination"]
    assert all((a["oncall_phone"] is None) != (persona in ONCALL_SEERS) for a in others)


def check_routing_preview(persona, user, referrals):
    assert APIClient().get("/api/v1/routing/preview/?postcode=40721&city=Hilden").status_code in (401, 403)
    response = _api(user).get("/api/v1/routing/preview/?postcode=40721&city=Hilden")
    assert response.status_code == (200 if persona in PREVIEWERS else 403), ("routing preview", persona)


ENDPOINTS = {
    "referrals:list": check_page_list("referrals:list", "/referrals/", POLICE, lambda p, k, r: True),
    "referrals:inbox": check_page_list("referrals:inbox", "/inbox/", OFFICE, _own_office),
    "referrals:triage": check_page_list("referrals:triage", "/triage/", set(COORDINATORS), lambda p, k, r: True),
    "referrals:detail": check_page_detail,
    "referrals:edit": check_page_edit,
    "referrals:assign_office": check_page_assign,
    "referrals:create": lambda persona, user, referrals: _check_create_page(persona, user),
    "referrals:home": lambda persona, user, referrals: _check_home(persona, user),
    **{f"referrals:{path.replace('-', '_')}": check_page_action(path) for path in PAGE_ACTIONS},
    "referrals:attachment": check_page_attachment_download,
    "referrals:grants": check_page_grants,
    "referrals:grant_end": check_page_grant_end,
    "referrals:bulk_assign": check_page_bulk_assign,
    "referrals:export": check_page_export,
    "referrals:retention": check_retention_page,
    "referrals:retention_withdraw": check_retention_withdraw,
    "retention-rule-list": check_api_retention_list,
    "retention-rule-dry-run": check_api_retention_dry_run,
    "referral-export": check_api_transition("export"),
    "referral-list": lambda p, u, r: (check_api_list(p, u, r), check_api_create(p, u, r)),
    "referral-detail": check_api_detail,
    "referral-assign-office": check_api_assign,
    "referral-acknowledge": check_api_transition("acknowledge"),
    "referral-assign": check_api_transition("assign"),
    "referral-rerate": check_api_transition("rerate"),
    "referral-forward": check_api_transition("forward"),
    "referral-accept": check_api_transition("accept"),
    "referral-return": check_api_transition("return"),
    "referral-sign-off": check_api_transition("sign-off"),
    "referral-close": check_api_transition("close"),
    "referral-reopen": check_api_transition("reopen"),
    "referral-assessment": check_api_casework("assessment", read_status=404, write="json"),  # none yet
    "referral-notes": check_api_casework("notes", write="json"),
    "referral-attachments": check_api_casework("attachments", write="multipart"),
    "referral-attachment": check_api_attachment,
    "referral-timeline": check_api_casework("timeline"),
    "referral-followups": check_api_followups,
    "referrals:access_log": check_access_log_page("/access-log/"),
    "referrals:access_log_csv": check_access_log_page("/access-log.csv"),
    "referral-access-log": check_access_log_api,
    "notifications:list": check_notifications,
    "notifications:read": check_notifications,
    "notifications:read_all": check_notifications,
    "admin:referrals_referral_changelist": check_admin_referrals,
    "admin:referrals_referral_change": check_admin_referrals,
    "admin:referrals_referral_add": check_admin_referral_writes,
    "admin:referrals_referral_delete": check_admin_referral_writes,
    "admin:referrals_referral_history": check_admin_referral_writes,
    **COOP_ENDPOINTS,
    "token_list": lambda persona, user, referrals: check_tokens(persona, user, "list"),
    "token_issue": lambda persona, user, referrals: check_tokens(persona, user, "issue"),
    "token_revoke": lambda persona, user, referrals: check_tokens(persona, user, "revoke"),
    "mfa_reset": lambda persona, user, referrals: check_tokens(persona, user, "mfa_reset"),
    "directory:list": check_directory_page,
    "directory:edit": check_directory_edit,
    "agency-list": check_api_agencies,
    "agency-detail": check_api_agencies,
    "routing-preview": check_routing_preview,
    **ACCOUNT_ENDPOINTS,  # changing one's own password (issue 16 §5)
    **DIALOGUE_ENDPOINTS,  # questions to the police, police attachments (issue 14 §3); replaces the attachment rows
    **screening_endpoints(check_page_action, check_api_casework, check_api_transition),
    **printing_endpoints(
        web=_web, api=_api, visible=VISIBLE, police=POLICE, works_on=_works_on, office_role=_office_role
    ),
    **dashboard_endpoints(),
    **task_endpoints(check_page_action, check_api_casework, check_api_transition),
}

# URLs that reach no referral and no personal data, with the reason.
EXEMPT = {
    "login": "login form",
    "logout": "ends the session",
    "account": "the requester's own account (name, roles, whether they hold a token)",
    "logout_everywhere": "ends the requester's own sessions",
    "keepalive": "extends the requester's own session, answers the seconds left",
    "mfa_verify": "the code step of the requester's own login (tests/test_mfa.py)",
    "mfa_enrol": "sets up the requester's own authenticator app (tests/test_mfa.py)",
    "mfa_backup_codes": "new backup codes of the requester (tests/test_mfa.py)",
    "set_language": "language switch",
    "api-schema": "OpenAPI schema, no data",
    "api-docs": "Swagger UI, no data",
    "health_live": "process up, no data (tests/test_health.py)",
    "health_ready": "names of failing parts only, no data (tests/test_health.py)",
    "metrics": "counts without personal data, internal addresses only (tests/test_metrics.py)",
}
EXEMPT_PREFIXES = ("admin:",)  # the rest of the admin: agencies, people, postcodes (no referral contents)
ADMIN_REFERRAL = re.compile(r"^admin:referrals_")


# API tokens (issue 4): a lead manages their office's people, the police coordinator the authority's
# and its stations'; anyone else is refused (403), a person outside the requester's agencies is 404.
TOKEN_MANAGERS = {
    "lead_hilden": "caseworker_hilden",
    "lead_velbert": "caseworker_velbert",
    "police_coordinator": "police_hilden",
}


def check_tokens(persona, user, action):
    from django.contrib.auth import get_user_model

    web = _web(user)
    people = get_user_model().objects.in_bulk(
        ["caseworker_hilden", "caseworker_velbert", "police_hilden"], field_name="username"
    )
    for username, person in people.items():
        if action == "list":
            response = web.get("/accounts/tokens/")
            expected = 200 if persona in TOKEN_MANAGERS else 403
        elif action == "issue":
            response = web.post(f"/accounts/tokens/{person.pk}/issue/")
        elif action == "mfa_reset":  # the confirmation page; the reset itself is tests/test_mfa.py
            response = web.get(f"/accounts/people/{person.pk}/second-factor-reset/")
        else:
            response = web.get(f"/accounts/tokens/{person.pk}/revoke/")
        if action != "list":
            if persona not in TOKEN_MANAGERS:
                expected = 403
            else:
                expected = 200 if TOKEN_MANAGERS[persona] == username else 404
        assert response.status_code == expected, ("tokens", action, persona, username, response.status_code)


def _check_create_page(persona, user):
    web = _web(user)
    assert web.get("/referrals/new/").status_code == (200 if persona in POLICE else 403), ("create page", persona)


def _check_home(persona, user):
    web = _web(user)
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


def _rows(names):
    """The matrix's rows: endpoints that share one check (the three notification URLs, the admin's
    referral pages, ...) form one row named after all of them, so that check runs once per persona."""
    rows = {}
    for name in sorted(names):
        rows.setdefault(ENDPOINTS[name], []).append(name)
    return {"+".join(names): check for check, names in rows.items()}


MATRIX_ROWS = _rows(set(ENDPOINTS) - set(COOP_ENDPOINTS))
COOP_ROWS = _rows(COOP_ENDPOINTS)


@pytest.mark.parametrize("endpoint", MATRIX_ROWS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_matrix(world, endpoint, persona):
    personas, referrals = world
    MATRIX_ROWS[endpoint](persona, getattr(personas, persona), referrals)


@pytest.mark.parametrize("endpoint", COOP_ROWS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_matrix_cooperation(world, endpoint, persona):
    """The cooperation checks look at the objects of tests.test_meetings_api.meetings_world (part of
    ``matrix_world``, see ``_coop_world``); they take no referrals."""
    personas, _ = world
    COOP_ROWS[endpoint](persona, getattr(personas, persona), {})


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


def test_every_api_operation_of_the_schema_is_covered(client, world):
    """The OpenAPI schema is the API's contract: each of its paths must resolve to a URL that the
    matrix checks (so an endpoint cannot hide from the matrix behind a schema-only route)."""
    import re as _re

    from django.urls import resolve

    personas, _ = world
    client.force_login(personas.caseworker_hilden)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    missing = []
    for path in schema["paths"]:
        concrete = _re.sub(r"\{[^}]+\}", "1", path)
        match = resolve(concrete)
        name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
        if name not in ENDPOINTS:
            missing.append((path, name))
    assert schema["paths"] and not missing, missing
