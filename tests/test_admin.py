"""The admin site (issue 4 § 4): technical administrators manage people, agencies, postcodes and
settings; the admin site shows no referral contents and no secrets; admin actions are logged."""

import secrets

import pytest
from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import MultiWidget
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import mfa
from agencies.models import Agency, ApiToken, BackupCodeDevice, JurisdictionArea, Membership, Role, api_token_digest
from referrals.models import Attachment, Referral
from referrals.services import assessment_save, attachment_add, note_add, referral_acknowledge
from tests.factories import api_token, make_referral
from tests.test_meetings_api import meetings_world

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
CHILD = ("Zwetschge", "Quastenflosser")
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def _private_storage(monkeypatch, tmp_path):
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _post_data(response):
    """What the change form in ``response`` sends back unchanged: the main form, the inline forms
    and their management forms."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name, field in form.fields.items():
            key, value = form.add_prefix(name), form[name].value()
            if field.disabled or value is None or value is False:
                continue
            if isinstance(field.widget, MultiWidget):
                for i, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{i}"] = "" if part is None else str(part)
            elif value is True:
                data[key] = "on"
            elif isinstance(value, (list, tuple)):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)
    return data


def _change(client, obj, **changes):
    """Change ``obj`` through its admin change form; returns the answer to the POST."""
    url = _url(type(obj), "change", obj.pk)
    page = client.get(url)
    assert page.status_code == 200
    data = _post_data(page)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(url, data)


def _only_new_entry(before, **expected):
    entries = list(LogEntry.objects.filter(pk__gt=before))
    assert len(entries) == 1, [str(e) for e in entries]
    for name, value in expected.items():
        assert getattr(entries[0], name) == value, (name, getattr(entries[0], name), value)
    return entries[0]


def _last_log_id():
    return LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- every admin page loads ----------------------------------------------------------------------


@pytest.fixture
def full_world(personas, client):
    """Some rows of every kind the admin site lists: a referral with casework, a token, meetings, a
    log entry, a lockout record."""
    from axes.models import AccessAttempt

    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    note_add(referral=referral, user=personas.caseworker_hilden, text="Notiz")
    api_token(personas.caseworker_hilden)
    meetings_world(personas)
    AccessAttempt.objects.create(username="jemand", ip_address="192.0.2.1", failures_since_start=1)
    client.force_login(personas.admin)
    _change(client, Agency.objects.get(code="JA-HIL"), phone="02103 1111")
    return personas


@pytest.mark.parametrize("model,model_admin", REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_every_admin_page_answers(full_world, client, model, model_admin):
    """Every registered model admin — a new one is covered as soon as it is registered. Change pages
    of rows outside the administrator's scope (referrals, the cooperation programme) redirect to the
    admin index (302), as Django does for an object that does not exist."""
    request = _request(full_world.admin)
    client.force_login(full_world.admin)
    assert client.get(_url(model, "changelist")).status_code == 200
    assert client.get(_url(model, "add")).status_code == (200 if model_admin.has_add_permission(request) else 403)
    objects = list(model._default_manager.all()[:5])
    for obj in objects:
        for view in ("change", "history"):
            assert client.get(_url(model, view, quote(obj.pk))).status_code in (200, 302), (view, obj.pk)
        if model_admin.has_delete_permission(request, obj):
            assert client.get(_url(model, "delete", quote(obj.pk))).status_code in (200, 302), ("delete", obj.pk)


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_admin_index_lists_the_log_for_superusers_only(personas, client):
    client.force_login(personas.admin)
    assert _url(LogEntry, "changelist") in client.get("/admin/").content.decode()
    staff = get_user_model().objects.create_user(username="technik", password="x", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["agencies", "admin"]))
    client.force_login(staff)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert _url(Agency, "changelist") in index.content.decode()
    assert _url(LogEntry, "changelist") not in index.content.decode()
    assert client.get(_url(LogEntry, "changelist")).status_code == 403


# --- changes through the admin are logged --------------------------------------------------------


def test_changing_a_person_is_logged(personas, client):
    client.force_login(personas.admin)
    person = personas.caseworker_hilden
    before = _last_log_id()
    response = _change(client, person, first_name="Renate")
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    person.refresh_from_db()
    assert person.first_name == "Renate"
    entry = _only_new_entry(
        before,
        user=personas.admin,
        action_flag=CHANGE,
        object_id=str(person.pk),
        content_type=ContentType.objects.get_for_model(get_user_model()),
    )
    assert "First name" in entry.change_message  # Django stores the field's untranslated verbose name


def test_deactivating_a_person_in_the_form_is_logged(personas, client):
    client.force_login(personas.admin)
    person = personas.police_velbert
    before = _last_log_id()
    assert _change(client, person, is_active=None).status_code == 302
    person.refresh_from_db()
    assert not person.is_active
    entry = _only_new_entry(before, user=personas.admin, action_flag=CHANGE, object_id=str(person.pk))
    assert '"Active"' in entry.change_message


def test_changing_an_agency_is_logged(personas, client):
    client.force_login(personas.admin)
    agency = Agency.objects.get(code="JA-VEL")
    before = _last_log_id()
    assert _change(client, agency, phone="02051 26-0").status_code == 302
    agency.refresh_from_db()
    assert agency.phone == "02051 26-0"
    _only_new_entry(
        before,
        user=personas.admin,
        action_flag=CHANGE,
        object_id=str(agency.pk),
        object_repr=str(agency),
        content_type=ContentType.objects.get_for_model(Agency),
    )


def test_postcodes_added_changed_and_deleted_are_logged(personas, client):
    client.force_login(personas.admin)
    office = Agency.objects.get(code="JA-HIL")
    ct = ContentType.objects.get_for_model(JurisdictionArea)
    before = _last_log_id()
    response = client.post(
        _url(JurisdictionArea, "add"),
        {"postcode": "40999", "youth_office": office.pk, "municipality": "Testdorf", "city_names": "Testdorf"},
    )
    assert response.status_code == 302
    area = JurisdictionArea.objects.get(postcode="40999")
    _only_new_entry(before, user=personas.admin, action_flag=ADDITION, object_id=str(area.pk), content_type=ct)

    before = _last_log_id()
    assert _change(client, area, city_names="Testdorf, Neudorf").status_code == 302
    area.refresh_from_db()
    assert area.city_names == "Testdorf, Neudorf"
    _only_new_entry(before, user=personas.admin, action_flag=CHANGE, object_id=str(area.pk), content_type=ct)

    before = _last_log_id()
    assert client.post(_url(JurisdictionArea, "delete", area.pk), {"post": "yes"}).status_code == 302
    assert not JurisdictionArea.objects.filter(pk=area.pk).exists()
    _only_new_entry(before, user=personas.admin, action_flag=DELETION, object_id=str(area.pk), content_type=ct)


def test_changing_a_membership_is_logged(personas, client):
    client.force_login(personas.admin)
    membership = Membership.objects.get(user=personas.caseworker_velbert)
    before = _last_log_id()
    assert _change(client, membership, role=Role.OFFICE_LEAD).status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.OFFICE_LEAD
    entry = _only_new_entry(
        before,
        user=personas.admin,
        action_flag=CHANGE,
        object_id=str(membership.pk),
        content_type=ContentType.objects.get_for_model(Membership),
    )
    assert '"Role"' in entry.change_message


def test_deactivate_everywhere_logs_one_entry_per_person(personas, client):
    client.force_login(personas.admin)
    people = [personas.police_hilden, personas.caseworker_velbert, personas.admin]
    api_token(personas.police_hilden)
    before = _last_log_id()
    response = client.post(
        _url(get_user_model(), "changelist"),
        {"action": "deactivate_everywhere", "_selected_action": [p.pk for p in people]},
    )
    assert response.status_code == 302
    entries = LogEntry.objects.filter(pk__gt=before)
    # one per person deactivated; the administrator cannot deactivate themselves and is not logged
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(str(p.pk) for p in people[:2])
    for entry in entries:
        assert entry.user == personas.admin
        assert entry.action_flag == CHANGE
        assert entry.content_type == ContentType.objects.get_for_model(get_user_model())
        assert entry.change_message
    assert not get_user_model().objects.filter(pk__in=[p.pk for p in people[:2]], is_active=True).exists()
    assert get_user_model().objects.get(pk=personas.admin.pk).is_active
    assert not ApiToken.objects.filter(user=personas.police_hilden).exists()


# --- the log itself -----------------------------------------------------------------------------


def test_the_log_is_shown_and_cannot_be_changed_or_deleted(personas, client):
    client.force_login(personas.admin)
    assert _change(client, Agency.objects.get(code="JA-VEL"), phone="02051 1234").status_code == 302
    entry = LogEntry.objects.latest("pk")
    count = LogEntry.objects.count()

    listing = client.get(_url(LogEntry, "changelist"))
    assert listing.status_code == 200
    assert entry.object_repr in listing.content.decode()
    assert client.get(_url(LogEntry, "changelist"), {"q": entry.object_repr}).status_code == 200
    assert client.get(_url(LogEntry, "changelist"), {"action_flag__exact": CHANGE}).status_code == 200

    view = client.get(_url(LogEntry, "change", entry.pk))
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert client.post(_url(LogEntry, "change", entry.pk), {"object_repr": "anders"}).status_code == 403
    assert client.get(_url(LogEntry, "add")).status_code == 403
    assert client.post(_url(LogEntry, "add"), {"object_repr": "neu", "action_flag": 1}).status_code == 403
    assert client.get(_url(LogEntry, "delete", entry.pk)).status_code == 403
    assert client.post(_url(LogEntry, "delete", entry.pk), {"post": "yes"}).status_code == 403
    bulk = client.post(
        _url(LogEntry, "changelist"), {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302, 403)
    assert LogEntry.objects.count() == count
    entry.refresh_from_db()
    assert entry.object_repr != "anders"


def test_staff_with_every_permission_on_the_log_cannot_touch_it(personas, client):
    staff = get_user_model().objects.create_user(username="technik", password="x", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="admin"))
    LogEntry.objects.log_actions(personas.admin.pk, [Agency.objects.first()], CHANGE, "x")
    entry = LogEntry.objects.latest("pk")
    client.force_login(staff)
    for url in (_url(LogEntry, "changelist"), _url(LogEntry, "change", entry.pk), _url(LogEntry, "delete", entry.pk)):
        assert client.get(url).status_code == 403, url
    assert client.post(_url(LogEntry, "delete", entry.pk), {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_a_person_with_log_entries_cannot_be_deleted_through_the_admin(personas, client):
    """Deleting a person would delete their admin log entries (LogEntry.user cascades)."""
    other_admin = get_user_model().objects.create_superuser(username="admin2", password="x")
    LogEntry.objects.log_actions(other_admin.pk, [Agency.objects.first()], CHANGE, "x")
    client.force_login(personas.admin)
    assert client.post(_url(get_user_model(), "delete", other_admin.pk), {"post": "yes"}).status_code == 403
    assert get_user_model().objects.filter(pk=other_admin.pk).exists()
    assert LogEntry.objects.filter(user=other_admin).count() == 1


# --- no referral contents, no secrets ------------------------------------------------------------


def test_no_referral_contents_anywhere_in_the_admin(personas, client):
    """A referral with casework, seen by a superuser who is also a caseworker of the office (so the
    referral admin lists it): no page of the admin site shows a name, the facts, a note, an
    attachment or the assessment."""
    Membership.objects.create(user=personas.admin, agency=Agency.objects.get(code="JA-HIL"), role=Role.CASEWORKER)
    referral = make_referral(
        personas.police_hilden,
        postcode="40723",
        city="Hilden",
        facts_observed="Schnabeltier-Sachverhalt im Treppenhaus.",
        children=[{"first_name": CHILD[0], "last_name": CHILD[1], "date_of_birth": "2019-04-02", "sex": "female"}],
        persons=[{"role": "mother", "first_name": "Kunigunde", "last_name": "Wackelpudding"}],
    )
    caseworker = personas.caseworker_hilden
    referral = referral_acknowledge(referral=referral, user=caseworker)
    note_add(referral=referral, user=caseworker, text="Notiz über Familie Wackelpudding, vertraulich.")
    attachment_add(
        referral=referral, user=caseworker, uploaded_file=SimpleUploadedFile("Quastenflosser-Bericht.pdf", PDF)
    )
    assessment_save(
        referral=referral,
        user=caseworker,
        summary="Einschätzung Ameisenbär",
        outcome="support_need",
        measures=["offer_of_help"],
    )
    secrets = [*CHILD, "Kunigunde", "Wackelpudding", "Schnabeltier", "Ameisenbär", "Quastenflosser-Bericht"]

    client.force_login(personas.admin)
    seen_reference = False
    for path in _every_admin_page(personas.admin):
        response = client.get(path)
        assert response.status_code in (200, 302, 403), (path, response.status_code)
        html = response.content.decode()
        seen_reference |= referral.reference in html
        for secret in secrets:
            assert secret not in html, (path, secret)
    assert seen_reference  # the referral admin did list it (with its metadata)
    assert Referral.objects.visible_to(personas.admin).filter(pk=referral.pk).exists()


def _every_admin_page(user):
    """The index, and every changelist, change, history and deletion page of the rows the admin
    site lists to ``user`` (the deletion page names what would go with an object)."""
    paths = ["/admin/"]
    request = _request(user)
    for model, model_admin in admin.site._registry.items():
        paths.append(_url(model, "changelist"))
        for obj in model_admin.get_queryset(request)[:50]:
            paths += [_url(model, "change", quote(obj.pk)), _url(model, "history", quote(obj.pk))]
            if model_admin.has_delete_permission(request, obj):
                paths.append(_url(model, "delete", quote(obj.pk)))
    return paths


def test_second_factor_admins_are_not_registered():
    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(BackupCodeDevice)
    with pytest.raises(NoReverseMatch):
        reverse("admin:otp_totp_totpdevice_changelist")


def test_no_keys_of_tokens_or_second_factors_in_the_admin(personas, client):
    person = personas.caseworker_hilden
    key = api_token(person)
    token = ApiToken.objects.get(user=person)
    totp = TOTPDevice.objects.create(user=person, name="App", confirmed=True)
    codes = mfa.backup_codes_issue(user=person)
    digests = list(BackupCodeDevice.objects.get(user=person).codes.values_list("digest", flat=True))
    client.force_login(personas.admin)
    pages = [
        _url(ApiToken, "changelist"),
        _url(ApiToken, "change", person.pk),
        _url(ApiToken, "history", person.pk),
        _url(ApiToken, "delete", person.pk),
        _url(get_user_model(), "change", person.pk),
        _url(get_user_model(), "delete", person.pk),  # lists what goes with the person: the token, too
        _url(LogEntry, "changelist"),
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        for secret in (key, token.digest, totp.key, *codes, *digests):
            assert secret not in html, (path, secret)
    assert person.username in client.get(_url(ApiToken, "changelist")).content.decode()

    # revoking it is logged, without the key
    before = _last_log_id()
    assert client.post(_url(ApiToken, "delete", person.pk), {"post": "yes"}).status_code == 302
    assert not ApiToken.objects.filter(user=person).exists()
    entry = _only_new_entry(before, user=personas.admin, action_flag=DELETION, object_id=str(person.pk))
    assert key not in entry.object_repr
    log = client.get(_url(LogEntry, "changelist")).content.decode()
    assert key not in log


def test_administrator_resets_a_second_factor_for_one_person(personas, client):
    person = personas.caseworker_velbert
    TOTPDevice.objects.create(user=person, name="App", confirmed=True)
    client.force_login(personas.admin)
    changelist = _url(get_user_model(), "changelist")

    before = _last_log_id()
    two = client.post(
        changelist, {"action": "reset_second_factor", "_selected_action": [person.pk, personas.lead_velbert.pk]}
    )
    assert two.status_code == 302
    mine = client.post(changelist, {"action": "reset_second_factor", "_selected_action": [personas.admin.pk]})
    assert mine.status_code == 302
    assert TOTPDevice.objects.filter(user=person).exists()
    assert TOTPDevice.objects.filter(user=personas.admin).exists()
    assert _last_log_id() == before

    asked = client.post(changelist, {"action": "reset_second_factor", "_selected_action": [person.pk]})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.content.decode()
    assert TOTPDevice.objects.filter(user=person).exists(), "nothing happens before the confirmation"
    assert _last_log_id() == before
    response = client.post(
        changelist, {"action": "reset_second_factor", "_selected_action": [person.pk], "confirm": "yes"}
    )
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=person).exists()
    recovery = BackupCodeDevice.objects.get(user=person, purpose=BackupCodeDevice.Purpose.RECOVERY)
    code = response.context["code"]
    assert code in response.content.decode()
    assert recovery.verify_token(code)
    _only_new_entry(before, user=personas.admin, action_flag=CHANGE, object_id=str(person.pk))


def test_a_token_added_in_the_admin_shows_its_key_once_and_logs_no_key(personas, client):
    person = personas.police_velbert
    client.force_login(personas.admin)
    before = _last_log_id()
    response = client.post(_url(ApiToken, "add"), {"user": person.pk})
    assert response.status_code == 200
    key = response.context["key"]
    assert ApiToken.objects.get(user=person).digest == api_token_digest(key)
    assert key in response.content.decode()
    entry = _only_new_entry(before, user=personas.admin, action_flag=ADDITION, object_id=str(person.pk))
    assert key not in entry.object_repr
    for path in (_url(ApiToken, "changelist"), _url(ApiToken, "change", person.pk), _url(LogEntry, "changelist")):
        assert key not in client.get(path).content.decode(), path


def test_old_log_entries_naming_a_token_by_its_key_do_not_show_it(personas, client):
    """Entries written before tokens had a name in the admin carry the key as the object's name (and
    the content type of rest_framework.authtoken's proxy, which is no longer installed)."""
    key = secrets.token_hex(20)  # a key as rest_framework.authtoken made them
    LogEntry.objects.create(
        user=personas.admin,
        content_type=ContentType.objects.get_or_create(app_label="authtoken", model="tokenproxy")[0],
        object_id=str(personas.caseworker_velbert.pk),
        object_repr=key,
        action_flag=ADDITION,
    )
    client.force_login(personas.admin)
    entry = LogEntry.objects.latest("pk")
    for path in (_url(LogEntry, "changelist"), _url(LogEntry, "change", entry.pk)):
        response = client.get(path)
        assert response.status_code == 200
        assert key not in response.content.decode(), path


def test_referrals_and_notifications_are_read_only_in_the_admin(personas, client):
    Membership.objects.create(user=personas.admin, agency=Agency.objects.get(code="JA-HIL"), role=Role.CASEWORKER)
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    client.force_login(personas.admin)
    before = _last_log_id()
    version = Referral.objects.get(pk=referral.pk).version
    assert client.post(_url(Referral, "change", referral.pk), {"status": "closed"}).status_code == 403
    assert Referral.objects.get(pk=referral.pk).version == version
    from notifications.models import Notification

    notification = Notification.objects.first()
    assert notification is not None
    assert client.post(_url(Notification, "change", notification.pk), {"subject": "x"}).status_code == 403
    assert _last_log_id() == before
