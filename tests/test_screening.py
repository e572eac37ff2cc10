"""The screening step (issue 13 §1; docs/domain.md, "Ersteinschätzung"): "no" closes the case only
with a second professional's sign-off and without an assessment; its author cannot sign it; "yes"
requires the § 8a assessment; police learn only "closed"."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from referrals import services
from referrals.models import Referral, ReferralEvent, Screening, Status
from referrals.screening import screening_save, screening_sign_off
from referrals.selectors import police_feedback
from tests.factories import make_referral


@pytest.fixture
def acknowledged(personas):
    referral = make_referral(personas.police_hilden)
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    return Referral.objects.get(pk=referral.pk)


def reload(referral):
    return Referral.objects.get(pk=referral.pk)


def _no(referral, user, **kw):
    return screening_save(
        referral=referral,
        user=user,
        weighty_indications=False,
        reason="Einmaliger Streit, Kinder schliefen, Eltern kooperativ.",
        next_step="information_only",
        **kw,
    )


def test_no_and_sign_off_closes_without_an_assessment(personas, acknowledged):
    screening = _no(acknowledged, personas.caseworker_hilden)
    assert reload(acknowledged).status == Status.ACKNOWLEDGED  # waits for the second professional
    with pytest.raises(ValidationError):  # not closeable by the assessment rule
        services.referral_close(referral=acknowledged, user=personas.caseworker_hilden)
    screening_sign_off(referral=acknowledged, user=personas.lead_hilden)
    referral = reload(acknowledged)
    assert referral.status == Status.CLOSED and referral.closed_at is not None
    assert not referral.assessments.exists()
    screening.refresh_from_db()
    assert screening.signed_off_by == personas.lead_hilden and screening.is_complete
    assert police_feedback(referral)["code"] == "closed"
    kinds = list(referral.events.values_list("kind", flat=True))
    assert kinds[-3:] == [ReferralEvent.Kind.SCREENED, ReferralEvent.Kind.SCREENING_SIGNED_OFF, "closed"]


def test_the_author_cannot_sign_the_screening_off(personas, acknowledged):
    _no(acknowledged, personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):
        screening_sign_off(referral=acknowledged, user=personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):  # another office: not even the relation
        screening_sign_off(referral=acknowledged, user=personas.lead_velbert)
    assert reload(acknowledged).status == Status.ACKNOWLEDGED


def test_yes_requires_the_assessment(personas, acknowledged):
    screening_save(
        referral=acknowledged,
        user=personas.caseworker_hilden,
        weighty_indications=True,
        reason="Säugling, Vater alkoholisiert, Verletzungen.",
    )
    referral = reload(acknowledged)
    assert referral.status == Status.IN_ASSESSMENT
    assert police_feedback(referral)["code"] == "in_progress"
    with pytest.raises(ValidationError):  # nothing to sign off: a "yes" leads to the assessment
        screening_sign_off(referral=referral, user=personas.lead_hilden)
    with pytest.raises(ValidationError):  # no screening any more once in assessment
        _no(referral, personas.caseworker_hilden)
    with pytest.raises(ValidationError):
        services.referral_close(referral=referral, user=personas.caseworker_hilden)
    assert reload(acknowledged).status == Status.IN_ASSESSMENT


@pytest.mark.parametrize(
    "data, field",
    [
        ({"weighty_indications": None, "reason": "x", "next_step": ""}, "weighty_indications"),
        ({"weighty_indications": False, "reason": " ", "next_step": "information_only"}, "reason"),
        ({"weighty_indications": False, "reason": "x", "next_step": ""}, "next_step"),
        ({"weighty_indications": True, "reason": "x", "next_step": "information_only"}, "next_step"),
    ],
)
def test_incomplete_or_contradictory_screenings_are_refused(personas, acknowledged, data, field):
    with pytest.raises(ValidationError) as refused:
        screening_save(referral=acknowledged, user=personas.caseworker_hilden, **data)
    assert field in refused.value.message_dict
    assert not Screening.objects.exists()


def test_only_an_acknowledged_case_is_screened(personas):
    referral = make_referral(personas.police_hilden)
    with pytest.raises(ValidationError):
        _no(referral, personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):
        _no(referral, personas.police_hilden)


def test_recording_again_replaces_the_unsigned_no_and_keeps_the_history(personas, acknowledged):
    _no(acknowledged, personas.caseworker_hilden)
    _no(acknowledged, personas.lead_hilden)  # the lead revises: now the caseworker may sign
    with pytest.raises(PermissionDenied):
        screening_sign_off(referral=acknowledged, user=personas.lead_hilden)
    screening_sign_off(referral=acknowledged, user=personas.caseworker_hilden)
    assert Screening.objects.filter(referral=acknowledged).count() == 2


def test_a_stale_version_changes_nothing(personas, acknowledged):
    with pytest.raises(services.Conflict):
        _no(acknowledged, personas.caseworker_hilden, expected_version=acknowledged.version - 1)
    assert not Screening.objects.exists()


# --- API ------------------------------------------------------------------------------------------


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_api_screening_and_sign_off(personas, acknowledged):
    url = f"/api/v1/referrals/{acknowledged.pk}/screening/"
    body = {"weighty_indications": False, "reason": "Keine Anhaltspunkte.", "next_step": "general_social_service"}
    response = _api(personas.caseworker_hilden).post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["weighty_indications"] is False and response.json()["signed_off_by"] is None
    assert response["ETag"] == f'"{reload(acknowledged).version}"'
    assert _api(personas.caseworker_hilden).get(url).json()["id"] == response.json()["id"]
    sign = _api(personas.caseworker_hilden).post(f"{url}sign-off/", {}, format="json")
    assert sign.status_code == 403
    sign = _api(personas.lead_hilden).post(f"{url}sign-off/", {"version": reload(acknowledged).version}, format="json")
    assert sign.status_code == 200 and sign.json()["is_complete"] is True
    assert reload(acknowledged).status == Status.CLOSED


def test_api_refuses_bad_input_with_field_errors(personas, acknowledged):
    url = f"/api/v1/referrals/{acknowledged.pk}/screening/"
    response = _api(personas.caseworker_hilden).post(url, {"weighty_indications": True, "reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in str(response.json())
    response = _api(personas.caseworker_hilden).post(
        url, {"weighty_indications": False, "reason": "x", "next_step": "nonsense"}, format="json"
    )
    assert response.status_code == 400
    response = _api(personas.caseworker_hilden).post(url, {"weighty_indications": False, "reason": "x"}, format="json")
    assert response.status_code == 400 and "next_step" in str(response.json())
    assert not Screening.objects.exists()


def test_api_police_never_read_the_screening(personas, acknowledged):
    _no(acknowledged, personas.caseworker_hilden)
    url = f"/api/v1/referrals/{acknowledged.pk}/screening/"
    assert _api(personas.police_hilden).get(url).status_code == 404
    assert _api(personas.caseworker_velbert).get(url).status_code == 404


# --- page -----------------------------------------------------------------------------------------


def test_page_screening_no_then_sign_off(client, personas, acknowledged):
    client.force_login(personas.caseworker_hilden)
    page = client.get(f"/referrals/{acknowledged.pk}/")
    assert b"Ersteinsch" in page.content and 'name="weighty_indications"' in page.content.decode()
    response = client.post(
        f"/referrals/{acknowledged.pk}/screening/",
        {"version": acknowledged.version, "weighty_indications": "no", "reason": "Nur Information.", "next_step": ""},
    )
    assert response.status_code == 200  # next step missing: the form again, with what was typed
    assert "Nur Information." in response.content.decode()
    response = client.post(
        f"/referrals/{acknowledged.pk}/screening/",
        {
            "version": acknowledged.version,
            "weighty_indications": "no",
            "reason": "Nur Information.",
            "next_step": "information_only",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/referrals/{acknowledged.pk}/")
    sign_off = f'action="/referrals/{acknowledged.pk}/screening/sign-off/"'
    assert sign_off not in page.content.decode()
    client.force_login(personas.lead_hilden)
    page = client.get(f"/referrals/{acknowledged.pk}/")
    assert sign_off in page.content.decode()
    data = {"version": reload(acknowledged).version}
    confirm = client.post(f"/referrals/{acknowledged.pk}/screening/sign-off/", data)
    assert confirm.status_code == 200 and confirm.templates[0].name == "referrals/confirm_action.html"
    assert reload(acknowledged).status != Status.CLOSED  # closing the case is asked for first
    response = client.post(f"/referrals/{acknowledged.pk}/screening/sign-off/", data | {"confirm": "1"})
    assert response.status_code == 302
    assert reload(acknowledged).status == Status.CLOSED


def test_inbox_counts_screenings_apart_from_assessments(client, personas, acknowledged):
    in_assessment = make_referral(personas.police_hilden)
    services.referral_acknowledge(referral=in_assessment, user=personas.caseworker_hilden)
    screening_save(referral=in_assessment, user=personas.caseworker_hilden, weighty_indications=True, reason="x")
    screened_out = make_referral(personas.police_hilden)
    services.referral_acknowledge(referral=screened_out, user=personas.caseworker_hilden)
    _no(screened_out, personas.caseworker_hilden)
    client.force_login(personas.caseworker_hilden)
    response = client.get("/inbox/")
    counts = {tab.key: tab.count for tab in response.context["tabs"]}
    assert (counts["screening"], counts["assessment"]) == (2, 1)  # acknowledged and screened-out-unsigned
    screening_sign_off(referral=screened_out, user=personas.lead_hilden)
    counts = {tab.key: tab.count for tab in client.get("/inbox/").context["tabs"]}
    assert (counts["screening"], counts["assessment"], counts["closed"]) == (1, 1, 1)
    listed = client.get("/inbox/?tab=screening").content.decode()
    assert acknowledged.reference in listed and in_assessment.reference not in listed
