"""The assessment per child (issue 13 §2): one part per child with its own result, the shared parts,
versions with author and time, conflicts shown instead of overwritten, the old single outcome migrated
to each child's result."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from referrals import services
from referrals.models import Assessment, AssessmentChild, AssessmentVersion, Referral, Status
from tests.factories import make_referral

TWO_CHILDREN = [
    {"first_name": "Lea", "last_name": "Beispiel", "date_of_birth": "2025-06-01", "sex": "female"},
    {"first_name": "Tim", "last_name": "Beispiel", "date_of_birth": None, "sex": "male"},
]


def acute(child, **kw):
    return {
        "child": child.pk, "result": "acute_risk", "kinds": ["neglect", "physical_abuse"], "danger_from": ["father"],
        "residence": "both_parents", "foreign_origin": "no", "german_spoken": True, "help_before": ["none"],
        "help_new": ["s42", "family_court"], **kw,
    }  # fmt: skip


def support(child, **kw):
    return {
        "child": child.pk, "result": "support_need", "kinds": [], "danger_from": [], "residence": "both_parents",
        "foreign_origin": "no", "german_spoken": True, "help_before": ["s16_19"], "help_new": ["s31"], **kw,
    }  # fmt: skip


@pytest.fixture
def referral(personas):
    referral = make_referral(personas.police_hilden, children=TWO_CHILDREN)
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    return Referral.objects.get(pk=referral.pk)


def save(referral, user, children, **kw):
    infant, teen = referral.children.order_by("id")
    return services.assessment_save(
        referral=Referral.objects.get(pk=referral.pk), user=user, summary=kw.pop("summary", "Hausbesuch zu zweit."),
        measures=["taking_into_care"], home_visit_on=datetime.date(2026, 1, 5), child_seen=True,
        impressions=["home_visit"], professionals=kw.pop("professionals", None) or [user.pk, kw.pop("colleague")],
        children=children(infant, teen), **kw,
    )  # fmt: skip


def test_two_children_two_results_and_the_most_severe_outcome(personas, referral):
    assessment = save(
        referral,
        personas.caseworker_hilden,
        lambda infant, teen: [acute(infant), support(teen, birth_month=3, birth_year=2012)],
        colleague=personas.lead_hilden.pk,
    )
    parts = {p.child.first_name: p for p in assessment.child_parts.select_related("child")}
    assert parts["Lea"].result == "acute_risk" and parts["Tim"].result == "support_need"
    assert parts["Tim"].birth_year == 2012  # police gave no date of birth: the office's estimate
    assert assessment.outcome == "acute_risk"  # what retention reads: the most severe
    assert list(assessment.versions.values_list("number", flat=True)) == [1]
    assert Referral.objects.get(pk=referral.pk).status == Status.IN_ASSESSMENT


@pytest.mark.parametrize(
    "children, path",
    [
        (lambda i, t: [acute(i), support(t, kinds=["neglect"], birth_month=1, birth_year=2012)], "children[1].kinds"),
        (lambda i, t: [acute(i, kinds=[]), support(t, birth_month=1, birth_year=2012)], "children[0].kinds"),
        (lambda i, t: [acute(i)], "children"),  # the second child is missing
        (lambda i, t: [acute(i), support(t)], "children[1].birth_year"),  # no date of birth and no estimate
        (lambda i, t: [acute(i, birth_year=2020, birth_month=1), support(t, birth_month=1, birth_year=2012)],
         "children[0].birth_year"),  # police gave it: never typed twice
        (lambda i, t: [acute(i), acute(i)], "children[1].child"),
        (lambda i, t: [acute(i, help_before=["none", "s31"]), support(t, birth_month=1, birth_year=2012)],
         "children[0].help_before"),
    ],
)  # fmt: skip
def test_incomplete_or_contradictory_parts_are_refused(personas, referral, children, path):
    with pytest.raises(ValidationError) as refused:
        save(referral, personas.caseworker_hilden, children, colleague=personas.lead_hilden.pk)
    assert path in refused.value.message_dict, refused.value.message_dict
    assert not Assessment.objects.filter(referral=referral).exists()


def test_a_child_of_another_referral_is_refused(personas, referral):
    other = make_referral(personas.police_hilden).children.get()
    with pytest.raises(ValidationError) as refused:
        save(referral, personas.caseworker_hilden, lambda i, t: [acute(i), {**acute(t), "child": other.pk}],
             colleague=personas.lead_hilden.pk)  # fmt: skip
    assert "children[1].child" in refused.value.message_dict


def test_at_least_two_professionals_of_the_office(personas, referral):
    children = lambda i, t: [acute(i), support(t, birth_month=1, birth_year=2012)]  # noqa: E731
    with pytest.raises(ValidationError) as refused:
        save(referral, personas.caseworker_hilden, children, professionals=[personas.caseworker_hilden.pk])
    assert "professionals" in refused.value.message_dict
    with pytest.raises(ValidationError):
        save(referral, personas.caseworker_hilden, children, colleague=personas.caseworker_velbert.pk)


def test_versions_history_sign_off_and_revision_after_it(personas, referral):
    children = lambda i, t: [acute(i), support(t, birth_month=1, birth_year=2012)]  # noqa: E731
    save(referral, personas.caseworker_hilden, children, colleague=personas.lead_hilden.pk, summary="Erste Fassung")
    revised = save(referral, personas.lead_hilden, children, colleague=personas.caseworker_hilden.pk,
                   summary="Zweite Fassung")  # fmt: skip
    versions = list(revised.versions.order_by("number"))
    assert [(v.number, v.author, v.data["summary"]) for v in versions] == [
        (1, personas.caseworker_hilden, "Erste Fassung"),
        (2, personas.lead_hilden, "Zweite Fassung"),
    ]
    assert versions[0].written_at <= versions[1].written_at
    services.assessment_sign_off(referral=referral, user=personas.caseworker_hilden)
    with pytest.raises(ValidationError):  # signed off: read-only
        save(referral, personas.caseworker_hilden, children, colleague=personas.lead_hilden.pk)
    services.referral_close(referral=referral, user=personas.caseworker_hilden)
    services.referral_reopen(referral=referral, user=personas.lead_hilden, reason="Neuer Vorfall")
    third = save(referral, personas.caseworker_hilden, children, colleague=personas.lead_hilden.pk)
    assert third.pk != revised.pk and third.signed_off_at is None  # a new version needing a new sign-off
    assert Assessment.objects.get(pk=revised.pk).child_parts.count() == 2  # the signed one unchanged


def test_api_takes_and_returns_the_childrens_parts(personas, referral):
    infant, teen = referral.children.order_by("id")
    api = APIClient()
    api.force_authenticate(personas.caseworker_hilden)
    body = {
        "summary": "Hausbesuch.", "measures": ["offer_of_help"], "impressions": ["home_visit", "kita_school"],
        "professionals": [personas.caseworker_hilden.pk, personas.lead_hilden.pk],
        "children": [acute(infant), support(teen, birth_month=5, birth_year=2013)],
    }  # fmt: skip
    response = api.post(f"/api/v1/referrals/{referral.pk}/assessment/", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["outcome"] == "acute_risk" and [c["result"] for c in data["children"]] == ["acute_risk", "support_need"]
    assert data["versions"][0]["number"] == 1
    body["children"][1]["kinds"] = ["neglect"]
    response = api.post(f"/api/v1/referrals/{referral.pk}/assessment/", body, format="json")
    assert response.status_code == 400 and "kinds" in response.json()["children[1]"]
    response = api.post(
        f"/api/v1/referrals/{referral.pk}/assessment/", {"summary": "x", "measures": ["none"]}, format="json"
    )
    assert response.status_code == 400  # neither children nor outcome


def _page_data(referral, user, summary, based_on):
    infant, teen = referral.children.order_by("id")
    data = {
        "version": Referral.objects.get(pk=referral.pk).version, "based_on": based_on, "summary": summary,
        "measures": ["offer_of_help"], "home_visit_on": "", "impressions": ["home_visit"],
        "professionals": [user.pk, user.pk + 0],
    }  # fmt: skip
    for child, part in ((infant, acute(infant)), (teen, support(teen, birth_month=2, birth_year=2012))):
        for key, value in part.items():
            if key == "child":
                continue
            if key == "german_spoken":
                value = "yes" if value else "no"
            data[f"child-{child.pk}-{key}"] = value
    return data


def test_two_people_editing_the_same_assessment_see_the_conflict_and_lose_nothing(client, personas, referral):
    from django.test import Client

    anna, ben = client, Client()
    anna.force_login(personas.caseworker_hilden)
    ben.force_login(personas.lead_hilden)
    both = [personas.caseworker_hilden.pk, personas.lead_hilden.pk]
    form_anna = _page_data(referral, personas.caseworker_hilden, "Annas Fassung", 0) | {"professionals": both}
    form_ben = _page_data(referral, personas.lead_hilden, "Bens Fassung", 0) | {"professionals": both}
    url = f"/referrals/{referral.pk}/assessment/"
    assert anna.post(url, form_anna).status_code == 302
    response = ben.post(url, form_ben)  # built on the state before Anna saved
    assert response.status_code in (200, 409)
    page = response.content.decode()
    assert "Annas Fassung" in page and "Bens Fassung" in page  # both versions on the page
    assert Assessment.objects.get(referral=referral).summary == "Annas Fassung"  # nothing overwritten
    # Ben decides to save his: the form he got back carries the current state.
    form = response.context["forms"]["assessment"]
    again = {**form_ben, "version": form.data["version"], "based_on": form.data["based_on"]}
    assert ben.post(url, again).status_code == 302
    assessment = Assessment.objects.get(referral=referral)
    assert assessment.summary == "Bens Fassung"
    assert [v.data["summary"] for v in assessment.versions.order_by("number")] == ["Annas Fassung", "Bens Fassung"]


def test_the_page_names_every_problem_in_one_round(client, personas, referral):
    """QA of 2026-12-05: with one professional and an incomplete child's part, the page named the
    children first and, once they were fixed, the professionals in a second round."""
    client.force_login(personas.caseworker_hilden)
    infant, teen = referral.children.order_by("id")
    data = _page_data(referral, personas.caseworker_hilden, "Hausbesuch", 0)
    data["professionals"] = [personas.caseworker_hilden.pk]
    data.pop(f"child-{teen.pk}-result")
    response = client.post(f"/referrals/{referral.pk}/assessment/", data)
    assert response.status_code == 200
    form = response.context["forms"]["assessment"]
    assert "professionals" in form.errors and form.non_field_errors()
    assert not Assessment.objects.filter(referral=referral).exists()
    page = response.content.decode()
    assert "Nennen Sie mindestens zwei" in page and data["summary"] in page  # and nothing typed is lost


# --- migration of the old single outcome -----------------------------------------------------------


def test_migration_turns_the_single_outcome_into_each_childs_result(personas, referral):
    """Rows as they were before issue 13: an assessment with one outcome, no children's parts, no versions."""
    old = Assessment.objects.create(
        referral=referral, author=personas.caseworker_hilden, summary="Alt", outcome="latent_risk", measures=["none"]
    )
    untouched = make_referral(personas.police_hilden)  # no assessment: nothing to migrate
    migration = importlib.import_module("referrals.migrations.0016_screening_child_assessment")
    migration.child_parts_from_single_outcome(apps, None)
    parts = AssessmentChild.objects.filter(assessment=old).order_by("child_id")
    assert [(p.child.first_name, p.result) for p in parts] == [("Lea", "latent_risk"), ("Tim", "latent_risk")]
    assert parts[0].residence == "" and parts[0].kinds == []  # the rest is completed by the office
    version = AssessmentVersion.objects.get(assessment=old)
    assert version.number == 1 and version.author == personas.caseworker_hilden and version.data["summary"] == "Alt"
    assert not AssessmentChild.objects.filter(child__referral=untouched).exists()
    migration.child_parts_from_single_outcome(apps, None)  # run twice: nothing doubles
    assert AssessmentChild.objects.filter(assessment=old).count() == 2
    assert AssessmentVersion.objects.filter(assessment=old).count() == 1


def test_api_reads_parts_and_versions_in_a_fixed_number_of_queries(personas, referral):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    children = lambda i, t: [acute(i), support(t, birth_month=1, birth_year=2012)]  # noqa: E731
    api = APIClient()
    api.force_authenticate(personas.caseworker_hilden)
    counts = []
    for summary in ("Eins", "Zwei", "Drei"):
        save(referral, personas.caseworker_hilden, children, colleague=personas.lead_hilden.pk, summary=summary)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/api/v1/referrals/{referral.pk}/assessment/")
        assert response.status_code == 200 and len(response.json()["versions"]) == len(counts) + 1
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2], counts
