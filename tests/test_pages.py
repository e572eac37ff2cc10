"""The HTML pages: the referral form (create, draft, edit, errors), the lists with keyset pagination
and pinned query counts, the detail page's two faces, triage assignment, role checks and the
notification inbox."""

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from agencies.models import Agency
from notifications.models import Channel, Notification
from referrals.forms import SECTIONS
from referrals.models import Referral, Status
from referrals.services import REFERRAL_FIELDS
from tests.factories import make_referral

CHILD = {
    "first_name": "Mia",
    "last_name": "Beispiel",
    "date_of_birth": "2019-04-02",
    "sex": "female",
    "whereabouts": "bei der Mutter",
    "school_or_kita": "Kita Sonnenschein",
    "address_if_different": "",
}
SECOND_CHILD = {**CHILD, "first_name": "Noah", "date_of_birth": "2021-08-15", "sex": "male", "school_or_kita": ""}
PERSON = {
    "role": "father",
    "first_name": "Tom",
    "last_name": "Beispiel",
    "date_of_birth": "1988-01-15",
    "phone": "0170 1234567",
    "address": "",
    "relation_to_child": "Vater",
    "has_custody": "on",
    "is_suspect": "on",
}


def form_data(*, action="submit", children=(CHILD,), persons=(), initial_children=0, initial_persons=0, **overrides):
    """The POST body the referral page sends for a complete referral in Hilden."""
    incident = timezone.localtime() - datetime.timedelta(hours=2)
    data = {
        "action": action,
        "police_case_number": "ME-2026-123456",
        "callback_phone": "02103 898-6410",
        "urgency": "urgent",
        "incident_at": incident.strftime("%Y-%m-%dT%H:%M"),
        "incident_location": "Wohnung der Familie",
        "callout_reason": "Ruhestörung, Streit",
        "concerns": ["domestic_violence", "guardian_alcohol_abuse"],
        "facts_observed": "Lautstarker Streit, zerbrochenes Geschirr, Kind weinend im Flur.",
        "facts_reported": "Nachbarin berichtet von wiederholtem Streit.",
        "children_present": "witnessed",
        "injuries": "",
        "home_condition": "aufgeräumt",
        "police_measures": ["residence_ban"],
        "risk_factors": ["alcohol"],
        "risk_notes": "",
        "parents_informed": "True",
        "parents_not_informed_reason": "",
        "household_street": "Mittelstraße",
        "household_house_number": "12",
        "household_postcode": "40723",
        "household_city": "Hilden",
    }
    data.update(_formset("children", children, initial_children))
    data.update(_formset("persons", persons, initial_persons))
    data.update(overrides)
    return data


def _formset(prefix, rows, initial):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def german(msgid: str) -> str:
    """A message as the German page shows it (whether or not the catalog translates it yet)."""
    with translation.override("de"):
        return gettext(msgid)


def error_of(response, field) -> str:
    """The error message shown next to a field."""
    match = re.search(rf'<p class="field__error" id="id_{re.escape(field)}_error">(.*?)</p>', page_text(response), re.S)
    return match.group(1) if match else ""


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def input_value(response, name) -> str | None:
    """The value a text input or textarea of the re-rendered page holds."""
    content = response.content.decode()
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', content)
    if match:
        value = re.search(r'value="([^"]*)"', match.group(0))
        return html.unescape(value.group(1)) if value else ""
    match = re.search(rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>\n?(.*?)</textarea>', content, re.S)
    return html.unescape(match.group(1)) if match else None


def is_checked(response, name, value) -> bool:
    content = response.content.decode()
    pattern = rf'<input[^>]*name="{re.escape(name)}" value="{re.escape(value)}"[^>]*>'
    match = re.search(pattern, content)
    return bool(match and " checked" in match.group(0))


@pytest.fixture
def police(client, personas):
    client.force_login(personas.police_hilden)
    return client


# --- the referral form --------------------------------------------------------------------------


def test_every_referral_field_has_its_place_on_the_page():
    placed = [name for _key, _title, names in SECTIONS for name in names]
    assert sorted(placed) == sorted(REFERRAL_FIELDS)


def test_new_referral_page_starts_with_one_child_block_and_no_person(police):
    response = police.get(reverse("referrals:create"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="children-TOTAL_FORMS" value="1"' in content
    assert 'name="persons-TOTAL_FORMS" value="0"' in content
    assert 'name="children-0-first_name"' in content
    assert "<template data-formset-template>" in content
    assert 'name="action" value="draft"' in content and 'name="action" value="submit"' in content


def test_submit_complete_referral_with_two_children(police, personas):
    response = police.post(reverse("referrals:create"), form_data(children=(CHILD, SECOND_CHILD), persons=(PERSON,)))
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:detail", args=[referral.pk])
    assert referral.status == Status.SUBMITTED
    assert referral.youth_office.code == "JA-HIL"
    assert referral.created_by == personas.police_hilden
    assert referral.concerns == ["domestic_violence", "guardian_alcohol_abuse"]
    assert referral.parents_informed is True
    assert [c.first_name for c in referral.children.all()] == ["Mia", "Noah"]
    assert referral.children.first().date_of_birth == datetime.date(2019, 4, 2)
    person = referral.persons.get()
    assert (person.role, person.has_custody, person.is_suspect) == ("father", True, True)

    detail = police.get(response["Location"])
    text = page_text(detail)
    assert referral.reference in text
    assert "Jugendamt Hilden" in text  # the success message names the office
    assert "Mia" not in re.search(r'<div class="messages">.*?</div>\s*</div>', text, re.S).group(0)
    assert "Mia" not in re.search(r"<title>(.*?)</title>", text, re.S).group(1)


def test_submission_outside_the_district_says_triage(police):
    response = police.post(
        reverse("referrals:create"), form_data(household_postcode="10115", household_city="Berlin"), follow=True
    )
    referral = Referral.objects.get()
    assert referral.status == Status.TRIAGE
    [message] = [str(m) for m in response.context["messages"]]
    assert referral.reference in message
    assert not any(office.name in message for office in Agency.objects.youth_offices())


def test_draft_then_edit_and_submit(police, personas):
    response = police.post(
        reverse("referrals:create"),
        form_data(action="draft", police_case_number="", household_postcode="", children=(CHILD,)),
    )
    draft = Referral.objects.get()
    assert response.status_code == 302
    assert draft.status == Status.DRAFT
    assert draft.household_postcode == ""

    edit_url = reverse("referrals:edit", args=[draft.pk])
    page = police.get(edit_url)
    assert page.status_code == 200
    assert input_value(page, "children-0-first_name") == "Mia"
    assert 'name="children-INITIAL_FORMS" value="1"' in page.content.decode()

    response = police.post(edit_url, form_data(children=(CHILD, SECOND_CHILD), initial_children=1))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert draft.youth_office.code == "JA-HIL"
    assert draft.children.count() == 2
    assert Referral.objects.count() == 1

    # A submitted referral is no longer a draft: the edit page answers 404.
    assert police.get(edit_url).status_code == 404


def test_edit_page_is_prefilled_with_the_draft(police, personas):
    draft = make_referral(personas.police_hilden, submit=False)
    response = police.get(reverse("referrals:edit", args=[draft.pk]))
    assert response.status_code == 200
    assert input_value(response, "household_street") == "Mittelstraße"
    assert input_value(response, "facts_observed") == draft.facts_observed
    assert input_value(response, "incident_at") == timezone.localtime(draft.incident_at).strftime("%Y-%m-%dT%H:%M")
    assert input_value(response, "children-0-date_of_birth") == "2019-04-02"
    assert input_value(response, "persons-0-last_name") == "Beispiel"
    assert is_checked(response, "concerns", "domestic_violence")
    assert is_checked(response, "parents_informed", "True")
    assert is_checked(response, "urgency", "urgent")
    content = response.content.decode()
    assert 'name="children-TOTAL_FORMS" value="1"' in content
    assert 'name="persons-TOTAL_FORMS" value="1"' in content


def test_tampered_formset_data_is_an_error_not_a_crash(police):
    data = {k: v for k, v in form_data().items() if not k.startswith("children-")}
    response = police.post(reverse("referrals:create"), data)
    assert response.status_code == 200
    assert Referral.objects.count() == 0
    response = police.post(reverse("referrals:create"), form_data(**{"children-TOTAL_FORMS": "1000"}))
    assert response.status_code == 200
    assert Referral.objects.count() == 0


def test_only_the_author_edits_a_draft(client, personas):
    draft = make_referral(personas.police_hilden, submit=False)
    client.force_login(personas.police_hilden2)
    assert client.get(reverse("referrals:edit", args=[draft.pk])).status_code == 404
    assert client.post(reverse("referrals:edit", args=[draft.pk]), form_data()).status_code == 404


OVERLONG = "x" * 10_001


@pytest.mark.parametrize(
    ("overrides", "children", "error_field", "expected"),
    [
        ({}, (), "children", "Add at least one child."),
        ({}, ({**CHILD, "date_of_birth": "2999-01-01"},), "children-0-date_of_birth", "The date lies in the future."),
        ({"household_postcode": "4072"}, (CHILD,), "household_postcode", "A German postcode has exactly five digits."),
        ({"facts_observed": OVERLONG}, (CHILD,), "facts_observed", "10001"),
    ],
    ids=["no-child", "birth-date-in-future", "malformed-postcode", "overlong-text"],
)
def test_errors_keep_every_typed_value(police, overrides, children, error_field, expected):
    data = form_data(children=children, persons=(PERSON,), **overrides)
    response = police.post(reverse("referrals:create"), data)

    assert response.status_code == 200
    assert Referral.objects.count() == 0
    text = page_text(response)
    assert german(expected) in text
    assert 'class="error-summary"' in text
    if error_field != "children":
        assert german(expected) in error_of(response, error_field)
        # The message sits next to the field and the field points at it.
        assert f'id="id_{error_field}_error"' in text
        assert f'aria-describedby="id_{error_field}_error"' in text or re.search(
            rf'aria-describedby="[^"]*id_{error_field}_error', text
        )
        assert f'href="#id_{error_field}"' in text
    # Every value typed is still in the form.
    for name, value in data.items():
        if name == "action" or isinstance(value, list) or name.endswith(("_FORMS", "has_custody", "is_suspect")):
            continue
        if name in ("urgency", "children_present", "parents_informed") or name.endswith(("-sex", "-role")):
            continue
        assert input_value(response, name) == value, name
    for value in data["concerns"]:
        assert is_checked(response, "concerns", value)
    assert is_checked(response, "urgency", "urgent")
    assert is_checked(response, "children_present", "witnessed")
    assert is_checked(response, "parents_informed", "True")
    assert 'name="persons-0-has_custody" id="id_persons-0-has_custody" checked' in response.content.decode()
    assert '<option value="father" selected>' in response.content.decode()


def test_submission_errors_are_shown_together_with_format_errors(police):
    data = form_data(household_postcode="4072", police_case_number="", children=())
    response = police.post(reverse("referrals:create"), data)
    text = page_text(response)
    assert response.status_code == 200
    assert german("A German postcode has exactly five digits.") in error_of(response, "household_postcode")
    assert german("Add at least one child.") in text
    assert german("This field is required.") in error_of(response, "police_case_number")
    assert Referral.objects.count() == 0


def test_service_errors_land_on_the_right_block(police):
    """The service indexes children among the blocks that are kept: a removed block in between must
    not shift the error onto the wrong child."""
    removed = {**CHILD, "first_name": "Weg", "DELETE": "on"}
    nameless = {**SECOND_CHILD, "last_name": ""}
    response = police.post(reverse("referrals:create"), form_data(children=(CHILD, removed, nameless)))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="id_children-2-last_name_error"' in content
    assert 'id="id_children-1-last_name_error"' not in content
    assert 'href="#id_children-2-last_name"' in content
    # The removed block stays in the page, hidden, with its DELETE box still checked.
    assert re.search(r'<fieldset class="block" id="children-1-block" data-formset-block hidden>', content)
    assert Referral.objects.count() == 0


def test_removed_child_is_not_saved(police):
    removed = {**SECOND_CHILD, "DELETE": "on"}
    response = police.post(reverse("referrals:create"), form_data(children=(CHILD, removed)))
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert [c.first_name for c in referral.children.all()] == ["Mia"]


def test_untouched_empty_child_block_is_ignored_in_a_draft(police):
    empty = dict.fromkeys(CHILD, "") | {"sex": "unknown"}
    response = police.post(reverse("referrals:create"), form_data(action="draft", children=(empty,)))
    assert response.status_code == 302
    assert Referral.objects.get().children.count() == 0


def test_create_is_for_police_only(client, personas):
    for persona in (personas.caseworker_hilden, personas.district_coordinator, personas.no_role):
        client.force_login(persona)
        assert client.get(reverse("referrals:create")).status_code == 403
        assert client.post(reverse("referrals:create"), form_data()).status_code == 403
    assert Referral.objects.count() == 0


# --- lists ----------------------------------------------------------------------------------------


def _age(referral, **delta):
    Referral.objects.filter(pk=referral.pk).update(submitted_at=timezone.now() - datetime.timedelta(**delta))


def test_inbox_orders_most_urgent_then_oldest(client, personas):
    routine_old = make_referral(personas.police_hilden, urgency="routine")
    urgent_new = make_referral(personas.police_hilden, urgency="urgent")
    urgent_old = make_referral(personas.police_hilden, urgency="urgent")
    immediate = make_referral(personas.police_hilden, urgency="immediate")
    _age(routine_old, days=3)
    _age(urgent_new, hours=1)
    _age(urgent_old, hours=5)
    _age(immediate, minutes=5)
    make_referral(personas.police_velbert, postcode="42551", city="Velbert")  # another office's

    client.force_login(personas.caseworker_hilden)
    response = client.get(reverse("referrals:inbox"))
    assert response.status_code == 200
    references = re.findall(r"KPB-ME-\d{4}-\d{5}", response.content.decode())
    expected = [immediate, urgent_old, urgent_new, routine_old]
    assert references == [r.reference for r in expected]
    assert german("Domestic violence") in page_text(response)


def test_inbox_pages_have_no_duplicates_or_gaps(client, personas):
    referrals = [make_referral(personas.police_hilden, urgency=("urgent", "routine")[i % 2]) for i in range(30)]
    client.force_login(personas.caseworker_hilden)
    first = client.get(reverse("referrals:inbox"))
    cursor = first.context["page"].next_cursor
    assert cursor
    second = client.get(reverse("referrals:inbox"), {"cursor": cursor})
    seen = [r.pk for r in first.context["page"].items] + [r.pk for r in second.context["page"].items]
    assert len(first.context["page"].items) == 25
    assert sorted(seen) == sorted(r.pk for r in referrals)
    assert len(set(seen)) == 30
    assert not second.context["page"].has_next

    garbage = client.get(reverse("referrals:inbox"), {"cursor": "not-a-cursor!!"})
    assert garbage.status_code == 200
    assert [r.pk for r in garbage.context["page"].items] == [r.pk for r in first.context["page"].items]


@pytest.mark.parametrize("cursor", ["", "e30", "W10", "WyJ4Il0", "%%%", "W251bGwsbnVsbCxudWxsXQ"])
def test_station_list_survives_any_cursor(client, personas, cursor):
    make_referral(personas.police_hilden)
    client.force_login(personas.police_hilden)
    assert client.get(reverse("referrals:list"), {"cursor": cursor}).status_code == 200


def _inbox_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("referrals:inbox"))
    assert response.status_code == 200
    return len(queries)


def test_inbox_query_count_does_not_grow_with_rows(client, personas):
    make_referral(personas.police_hilden)
    one = _inbox_queries(client, personas.caseworker_hilden)
    for index in range(29):
        make_referral((personas.police_hilden, personas.police_velbert)[index % 2], urgency="routine")
    thirty = _inbox_queries(client, personas.caseworker_hilden)
    assert Referral.objects.filter(youth_office__code="JA-HIL").count() == 30
    assert one == thirty


@pytest.mark.parametrize(
    ("persona", "url_name", "filing"),
    [
        ("police_hilden", "referrals:list", {}),
        ("district_coordinator", "referrals:triage", {"postcode": "40721", "city": "Düsseldorf"}),
        ("caseworker_hilden", "notifications:list", {}),
    ],
)
def test_list_query_counts_do_not_grow_with_rows(client, personas, persona, url_name, filing):
    def count():
        client.force_login(getattr(personas, persona))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(url_name)).status_code == 200
        return len(queries)

    make_referral(personas.police_hilden, **filing)
    one = count()
    for _index in range(10):
        make_referral(personas.police_hilden, **filing)
    assert count() == one


def test_station_list_shows_drafts_of_the_author_only(client, personas):
    own_draft = make_referral(personas.police_hilden, submit=False)
    other_draft = make_referral(personas.police_hilden2, submit=False)
    submitted = make_referral(personas.police_hilden2)
    client.force_login(personas.police_hilden)
    response = client.get(reverse("referrals:list"))
    content = response.content.decode()
    assert own_draft.reference in content and submitted.reference in content
    assert other_draft.reference not in content
    assert reverse("referrals:edit", args=[own_draft.pk]) in content
    assert reverse("referrals:edit", args=[submitted.pk]) not in content


def test_triage_queue_lists_unroutable_referrals(client, personas):
    triaged = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")
    make_referral(personas.police_hilden)
    client.force_login(personas.district_coordinator)
    response = client.get(reverse("referrals:triage"))
    assert response.status_code == 200
    assert [r.pk for r in response.context["page"].items] == [triaged.pk]
    assert "40721" in page_text(response)


# --- detail and triage ------------------------------------------------------------------------------


def test_caseworker_sees_the_whole_referral(client, personas):
    referral = make_referral(personas.police_hilden)
    client.force_login(personas.caseworker_hilden)
    response = client.get(reverse("referrals:detail", args=[referral.pk]))
    text = page_text(response)
    assert response.status_code == 200
    for content in ("Mia", "Tom", "Lautstarker Streit", "Nachbarin berichtet", "Mittelstraße 12, 40721 Hilden"):
        assert content in text
    assert "Mia" not in re.search(r"<title>(.*?)</title>", text, re.S).group(1)


def test_detail_outside_scope_is_404(client, personas):
    referral = make_referral(personas.police_hilden)
    for persona in (personas.caseworker_velbert, personas.police_velbert, personas.district_coordinator):
        client.force_login(persona)
        assert client.get(reverse("referrals:detail", args=[referral.pk])).status_code == 404


def test_detail_query_count_is_constant(client, personas):
    small = make_referral(personas.police_hilden)
    many = make_referral(personas.police_hilden, children=[{"first_name": f"K{i}", "last_name": "B"} for i in range(6)])
    client.force_login(personas.caseworker_hilden)
    counts = []
    for referral in (small, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("referrals:detail", args=[referral.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_coordinator_sees_only_the_triage_summary(client, personas):
    referral = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")
    client.force_login(personas.district_coordinator)
    response = client.get(reverse("referrals:detail", args=[referral.pk]))
    text = page_text(response)
    assert response.status_code == 200
    assert referral.reference in text
    assert "Mittelstraße" in text and "40721" in text and "Düsseldorf" in text
    for secret in ("Mia", "Tom", "Beispiel", "Lautstarker Streit", "Nachbarin", "Kita Sonnenschein", "0170"):
        assert secret not in text
    assert 'action="{}"'.format(reverse("referrals:assign_office", args=[referral.pk])) in text
    assert "Jugendamt Velbert" in text  # the office select


def test_assign_office_moves_the_referral(client, personas):
    referral = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")
    client.force_login(personas.district_coordinator)
    url = reverse("referrals:assign_office", args=[referral.pk])
    assert client.get(url).status_code == 405

    from agencies.models import Agency

    office = Agency.objects.get(code="JA-HIL")
    response = client.post(url, {"office": "not-a-number"})
    assert response.status_code == 200  # re-rendered in place with the error summary (issue 16)
    assert 'href="#id_office"' in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == Status.TRIAGE

    confirm = client.post(url, {"office": office.pk})
    assert confirm.status_code == 200 and confirm.templates[0].name == "referrals/confirm_action.html"
    assert f'name="office" value="{office.pk}"' in confirm.content.decode()
    referral.refresh_from_db()
    assert referral.status == Status.TRIAGE  # asked first (QA of 2026-12-05: it was one click)
    response = client.post(url, {"office": office.pk, "confirm": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:triage")
    referral.refresh_from_db()
    assert referral.status == Status.SUBMITTED
    assert referral.youth_office == office
    # Out of the queue now: a second assignment finds nothing.
    assert client.post(url, {"office": office.pk}).status_code == 404

    client.force_login(personas.caseworker_hilden)
    assert client.get(reverse("referrals:detail", args=[referral.pk])).status_code == 200


def test_assign_office_only_from_the_triage_queue(client, personas):
    routed = make_referral(personas.police_hilden)
    triaged = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")
    client.force_login(personas.district_coordinator)
    assert client.post(reverse("referrals:assign_office", args=[routed.pk]), {"office": 1}).status_code == 404
    client.force_login(personas.caseworker_hilden)
    assert client.post(reverse("referrals:assign_office", args=[triaged.pk]), {"office": 1}).status_code == 404


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "forbidden"),
    [
        ("police_hilden", ["referrals:inbox", "referrals:triage"]),
        ("caseworker_hilden", ["referrals:list", "referrals:create", "referrals:triage"]),
        ("lead_hilden", ["referrals:list", "referrals:triage"]),
        ("district_coordinator", ["referrals:list", "referrals:inbox", "referrals:create"]),
        ("no_role", ["referrals:list", "referrals:inbox", "referrals:triage", "referrals:create"]),
        ("admin", ["referrals:list", "referrals:inbox", "referrals:triage"]),
    ],
)
def test_role_pages_answer_403_for_the_wrong_role(client, personas, persona, forbidden):
    client.force_login(getattr(personas, persona))
    for name in forbidden:
        assert client.get(reverse(name)).status_code == 403, name


@pytest.mark.parametrize(
    ("persona", "target"),
    [
        ("police_hilden", "referrals:list"),
        ("police_coordinator", "referrals:list"),
        ("caseworker_hilden", "referrals:inbox"),
        ("lead_velbert", "referrals:inbox"),
        ("district_coordinator", "referrals:triage"),
    ],
)
def test_home_redirects_by_role(client, personas, persona, target):
    client.force_login(getattr(personas, persona))
    response = client.get(reverse("referrals:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(target)


def test_home_without_role(client, personas):
    client.force_login(personas.no_role)
    response = client.get(reverse("referrals:home"))
    assert response.status_code == 200
    assert response.templates[0].name == "referrals/no_role.html"


@pytest.mark.parametrize(
    "url",
    ["/", "/referrals/", "/referrals/new/", "/referrals/1/", "/referrals/1/edit/", "/inbox/", "/triage/",
     "/notifications/"],
)  # fmt: skip
def test_every_page_requires_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- login, layout -----------------------------------------------------------------------------------


def test_login_keeps_the_username_and_shows_the_error(client, personas):
    response = client.post(reverse("login"), {"username": "police_hilden", "password": "wrong"})
    assert response.status_code == 200
    assert input_value(response, "username") == "police_hilden"
    assert input_value(response, "password") == ""
    assert 'class="error-summary"' in response.content.decode()

    response = client.post(reverse("login"), {"username": "police_hilden", "password": "Test-Passwort-123"})
    assert response.status_code == 302


def test_layout_has_landmarks_language_and_post_logout(client, personas):
    client.force_login(personas.caseworker_hilden)
    content = client.get(reverse("referrals:inbox")).content.decode()
    assert '<html lang="de">' in content
    assert 'href="#main"' in content and '<main id="main"' in content
    assert content.count("<h1") == 1
    assert 'action="/i18n/setlang/"' in content
    assert re.search(r'<form action="/accounts/logout/" method="post"', content)
    assert "Jugendamt Hilden" in content  # the person's agency
    assert " style=" not in content and "<script>" not in content and " onclick" not in content

    client.post("/i18n/setlang/", {"language": "en", "next": "/inbox/"})
    assert '<html lang="en">' in client.get(reverse("referrals:inbox")).content.decode()


def test_referral_form_has_no_inline_code(police):
    content = police.get(reverse("referrals:create")).content.decode()
    assert " style=" not in content
    assert not re.search(r"<script(?![^>]*\bsrc=)", content)
    assert not re.search(r"\son[a-z]+=", content)


# --- notifications ----------------------------------------------------------------------------------


def test_notification_list_shows_own_notifications_only(client, personas):
    referral = make_referral(personas.police_hilden)  # notifies Hilden's caseworker and lead
    other = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    client.force_login(personas.caseworker_hilden)
    response = client.get(reverse("notifications:list"))
    text = page_text(response)
    assert response.status_code == 200
    assert referral.reference in text
    assert other.reference not in text
    assert 'class="counter"' in text  # the unread indicator in the header


def test_mark_read_opens_the_link_and_refuses_other_peoples(client, personas):
    referral = make_referral(personas.police_hilden)
    own = Notification.objects.get(recipient_user=personas.caseworker_hilden, channel=Channel.IN_APP)
    foreign = Notification.objects.get(recipient_user=personas.lead_hilden, channel=Channel.IN_APP)
    client.force_login(personas.caseworker_hilden)

    assert client.get(reverse("notifications:read", args=[own.pk])).status_code == 405
    response = client.post(reverse("notifications:read", args=[own.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:detail", args=[referral.pk])
    own.refresh_from_db()
    assert own.read_at is not None

    assert client.post(reverse("notifications:read", args=[foreign.pk])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_mark_all_read(client, personas):
    make_referral(personas.police_hilden)
    make_referral(personas.police_hilden)
    client.force_login(personas.caseworker_hilden)
    response = client.post(reverse("notifications:read_all"))
    assert response.status_code == 302
    assert not Notification.objects.for_user(personas.caseworker_hilden).filter(read_at__isnull=True).exists()
    assert Notification.objects.for_user(personas.lead_hilden).filter(read_at__isnull=True).count() == 2


def test_notification_with_foreign_link_is_not_followed(client, personas):
    notification = Notification.objects.create(
        channel=Channel.IN_APP,
        kind="test",
        subject="s",
        body="b",
        link="https://evil.example/",
        recipient_user=personas.caseworker_hilden,
    )
    client.force_login(personas.caseworker_hilden)
    response = client.post(reverse("notifications:read", args=[notification.pk]))
    assert response["Location"] == reverse("notifications:list")
