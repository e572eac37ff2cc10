"""Casework services: each transition's rules, four eyes, forwarding, feedback, repeat check."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from agencies.models import Agency
from referrals import services
from referrals.access import referral_access
from referrals.models import ChildFingerprint, Referral, ReferralEvent, Status
from referrals.selectors import attachments_for, notes_for, police_feedback
from tests.factories import make_referral


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden, urgency="urgent")


def reload(referral):
    return Referral.objects.get(pk=referral.pk)


def test_submission_starts_the_clock(referral):
    referral = reload(referral)  # what was saved, not the object in memory
    assert referral.received_at == referral.submitted_at
    assert referral.due_at > referral.received_at


def test_acknowledge(personas, referral):
    with pytest.raises(PermissionDenied):
        services.referral_acknowledge(referral=referral, user=personas.caseworker_velbert)
    with pytest.raises(PermissionDenied):
        services.referral_acknowledge(referral=referral, user=personas.police_hilden)
    done = services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    assert done.status == Status.ACKNOWLEDGED and done.acknowledged_by == personas.caseworker_hilden
    assert done.version == referral.version + 1
    with pytest.raises(ValidationError):
        services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    assert police_feedback(reload(referral))["code"] == "received"


def test_assign_rules(personas, referral):
    with pytest.raises(PermissionDenied):  # a caseworker cannot hand the case to someone else
        services.referral_assign(referral=referral, user=personas.caseworker_hilden, assignee=personas.lead_hilden)
    with pytest.raises(ValidationError):  # nobody of another office
        services.referral_assign(referral=referral, user=personas.lead_hilden, assignee=personas.caseworker_velbert)
    services.referral_assign(referral=referral, user=personas.caseworker_hilden, assignee=personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):  # taken: only the lead reassigns
        services.referral_assign(
            referral=referral, user=personas.caseworker_hilden, assignee=personas.caseworker_hilden
        )
    done = services.referral_assign(referral=referral, user=personas.lead_hilden, assignee=personas.lead_hilden)
    assert done.assignee == personas.lead_hilden
    feedback = police_feedback(reload(referral))
    assert feedback["code"] == "in_progress" and feedback["contact"]["name"] == "Jugendamt Hilden"  # no user name


def test_rerate_needs_reason_and_moves_the_clock(personas, referral):
    with pytest.raises(ValidationError):
        services.referral_rerate(referral=referral, user=personas.caseworker_hilden, urgency="immediate", reason=" ")
    done = services.referral_rerate(
        referral=referral, user=personas.caseworker_hilden, urgency="immediate", reason="Kind allein"
    )
    assert done.urgency == "immediate" and done.urgency_rank == 0
    assert done.due_at == done.received_at + datetime.timedelta(hours=1)
    event = ReferralEvent.objects.filter(referral=referral, kind="rerated").get()
    assert event.data == {"previous": "urgent", "urgency": "immediate", "reason": "Kind allein"}


def test_forward_accept_moves_access(personas, referral):
    velbert = Agency.objects.get(code="JA-VEL")
    with pytest.raises(ValidationError):
        services.referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="")
    services.referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    assert set(Referral.objects.visible_to(personas.caseworker_velbert)) == {referral}
    assert set(Referral.objects.visible_to(personas.caseworker_hilden)) == {referral}
    with pytest.raises(PermissionDenied):  # the sender is read-only now
        services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):  # only the receiver accepts
        services.referral_accept(referral=referral, user=personas.lead_hilden)
    assert police_feedback(reload(referral))["office"]["name"] == "Jugendamt Velbert"
    done = services.referral_accept(referral=referral, user=personas.caseworker_velbert)
    assert done.youth_office == velbert and done.status == Status.ACKNOWLEDGED and done.forwarded_to is None
    assert not Referral.objects.visible_to(personas.caseworker_hilden).exists()
    assert not Referral.objects.visible_to(personas.lead_hilden).exists()


def test_forward_return_restores_status(personas, referral):
    velbert = Agency.objects.get(code="JA-VEL")
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    services.referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    with pytest.raises(ValidationError):
        services.referral_return(referral=referral, user=personas.caseworker_velbert, reason="")
    done = services.referral_return(referral=referral, user=personas.caseworker_velbert, reason="Nicht zuständig")
    assert done.status == Status.ACKNOWLEDGED and done.youth_office.code == "JA-HIL"
    assert not Referral.objects.visible_to(personas.caseworker_velbert).exists()


def test_cannot_forward_to_itself_or_a_station(personas, referral):
    for office in (referral.youth_office, referral.station):
        with pytest.raises(ValidationError):
            services.referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office, reason="x")


def _assess(referral, user):
    return services.assessment_save(
        referral=referral, user=user, summary="Hausbesuch, Kind wohlauf.", outcome="support_need",
        measures=["offer_of_help"], home_visit_on=datetime.date.today(), child_seen=True,
    )  # fmt: skip


def test_four_eyes_and_close(personas, referral):
    with pytest.raises(ValidationError):  # acknowledge first
        _assess(referral, personas.caseworker_hilden)
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    assessment = _assess(referral, personas.caseworker_hilden)
    assert reload(referral).status == Status.IN_ASSESSMENT and not assessment.is_complete
    with pytest.raises(ValidationError):  # not complete yet
        services.referral_close(referral=referral, user=personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):  # the author cannot sign their own assessment
        services.assessment_sign_off(referral=referral, user=personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):  # someone of another office cannot
        services.assessment_sign_off(referral=referral, user=personas.lead_velbert)
    signed = services.assessment_sign_off(referral=referral, user=personas.lead_hilden)
    assert signed.is_complete and signed.signed_off_by == personas.lead_hilden
    closed = services.referral_close(referral=referral, user=personas.caseworker_hilden)
    assert closed.status == Status.CLOSED
    assert police_feedback(closed) == {
        "code": "closed",
        "office": {"id": closed.youth_office_id, "name": "Jugendamt Hilden"},
        # No full name and no directory entry: the office is named (never the user name), with its phone.
        "contact": {
            "name": "Jugendamt Hilden",
            "phone": "02103 0000-100",
            "email": "kinderschutz@jugendamt-hilden.example",
        },
    }


def test_invalid_assessment_is_refused(personas, referral):
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    with pytest.raises(ValidationError):
        services.assessment_save(
            referral=referral, user=personas.caseworker_hilden, summary="x", outcome="maybe", measures=["magic"]
        )


def test_reopen_needs_lead_reason_and_a_new_assessment(personas, referral):
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    _assess(referral, personas.caseworker_hilden)
    services.assessment_sign_off(referral=referral, user=personas.lead_hilden)
    services.referral_close(referral=referral, user=personas.caseworker_hilden)
    with pytest.raises(PermissionDenied):
        services.referral_reopen(referral=referral, user=personas.caseworker_hilden, reason="neu")
    with pytest.raises(ValidationError):
        services.referral_reopen(referral=referral, user=personas.lead_hilden, reason="")
    services.referral_reopen(referral=referral, user=personas.lead_hilden, reason="Neuer Vorfall")
    with pytest.raises(ValidationError):  # the old sign-off does not count after reopening
        services.referral_close(referral=referral, user=personas.caseworker_hilden)
    _assess(referral, personas.caseworker_hilden)
    services.assessment_sign_off(referral=referral, user=personas.lead_hilden)
    assert services.referral_close(referral=referral, user=personas.caseworker_hilden).status == Status.CLOSED


def test_stale_version_is_a_conflict_and_writes_nothing(personas, referral):
    version = referral.version
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden, expected_version=version)
    with pytest.raises(services.Conflict) as conflict:
        services.referral_rerate(
            referral=referral, user=personas.lead_hilden, urgency="routine", reason="x", expected_version=version
        )
    assert conflict.value.current_version == version + 1
    assert reload(referral).urgency == "urgent"


def test_followup_by_police_of_the_station(personas, referral):
    with pytest.raises(PermissionDenied):
        services.followup_add(referral=referral, user=personas.police_velbert, text="x")
    with pytest.raises(PermissionDenied):
        services.followup_add(referral=referral, user=personas.caseworker_hilden, text="x")
    followup = services.followup_add(referral=referral, user=personas.police_hilden2, text="Erneuter Einsatz")
    assert followup.referral == referral
    assert ReferralEvent.objects.filter(referral=referral, kind="followup").exists()


def test_confidential_note_stays_with_its_office(personas, referral):
    velbert = Agency.objects.get(code="JA-VEL")
    services.note_add(referral=referral, user=personas.caseworker_hilden, text="Allgemein")
    services.note_add(referral=referral, user=personas.caseworker_hilden, text="Anvertraut", confidential=True)
    with pytest.raises(PermissionDenied):
        services.note_add(referral=referral, user=personas.police_hilden, text="x")
    assert notes_for(referral_access(personas.police_hilden, referral)).count() == 0
    services.referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    services.referral_accept(referral=referral, user=personas.caseworker_velbert)
    assert [n.text for n in notes_for(referral_access(personas.caseworker_velbert, reload(referral)))] == ["Allgemein"]


def test_attachment_type_is_checked_from_the_content(personas, referral, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("bericht.pdf", b"just text, not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError):
        services.attachment_add(referral=referral, user=personas.caseworker_hilden, uploaded_file=fake)
    real = SimpleUploadedFile("scan.bin", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", content_type="x/y")
    attachment = services.attachment_add(referral=referral, user=personas.caseworker_hilden, uploaded_file=real)
    assert attachment.content_type == "application/pdf"
    assert attachment.file.path.startswith(str(settings.PRIVATE_MEDIA_ROOT)) and "scan" not in attachment.file.name
    assert not attachment.file.path.startswith(str(settings.STATIC_ROOT))
    assert list(attachments_for(referral_access(personas.caseworker_velbert, referral))) == []
    settings.ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ValidationError):
        services.attachment_add(referral=referral, user=personas.caseworker_hilden, uploaded_file=real)


def test_repeat_referral_check_reveals_only_date_and_office(personas):
    first = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    second = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    third = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    assert ChildFingerprint.objects.count() == 3
    assert "Mia" not in str(ChildFingerprint.objects.values_list("digest", flat=True))
    event = ReferralEvent.objects.get(referral=second, kind="repeat")
    [earlier] = event.data["earlier"]
    assert earlier["office"] == "Jugendamt Velbert" and earlier["referral"] is None  # no link, no content
    event = ReferralEvent.objects.get(referral=third, kind="repeat")
    links = {e["office"]: e["referral"] for e in event.data["earlier"]}
    assert links == {"Jugendamt Velbert": None, "Jugendamt Hilden": second.pk}
    assert not ReferralEvent.objects.filter(referral=first, kind="repeat").exists()


def test_repeat_check_matches_spelling_variants_but_not_other_children(personas):
    make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    other = make_referral(
        personas.police_hilden,
        children=[{"first_name": "Mia", "last_name": "Beispiel", "date_of_birth": "2019-04-03", "sex": "female"}],
    )
    assert not ReferralEvent.objects.filter(referral=other, kind="repeat").exists()
    variant = make_referral(
        personas.police_hilden,
        children=[{"first_name": " MIA ", "last_name": "beispiel", "date_of_birth": "2019-04-02", "sex": "female"}],
    )
    assert ReferralEvent.objects.filter(referral=variant, kind="repeat").exists()


def test_export_to_an_office_outside_the_system(personas, referral):
    services.note_add(referral=referral, user=personas.caseworker_hilden, text="Allgemeiner Vermerk")
    services.note_add(referral=referral, user=personas.caseworker_hilden, text="Anvertraut 65", confidential=True)
    with pytest.raises(PermissionDenied):  # leads export, caseworkers do not
        services.referral_export(referral=referral, user=personas.caseworker_hilden, recipient="Jugendamt Solingen")
    with pytest.raises(ValidationError):
        services.referral_export(referral=referral, user=personas.lead_hilden, recipient=" ")
    document = services.referral_export(referral=referral, user=personas.lead_hilden, recipient="Jugendamt Solingen")
    assert document["referral"]["reference"] == referral.reference
    assert document["children"][0]["first_name"] == "Mia"
    assert [n["text"] for n in document["notes"]] == ["Allgemeiner Vermerk"]
    assert "Anvertraut" not in str(document)
    assert document["handover"]["recipient"] == "Jugendamt Solingen"
    assert reload(referral).status == Status.CLOSED
    event = ReferralEvent.objects.get(referral=referral, kind="exported")
    assert event.actor == personas.lead_hilden and event.data == {"recipient": "Jugendamt Solingen"}


def test_coordinator_exports_from_triage(personas):
    triaged = make_referral(personas.police_hilden, postcode="40213", city="Düsseldorf")
    with pytest.raises(PermissionDenied):
        services.referral_export(referral=triaged, user=personas.lead_hilden, recipient="Jugendamt Düsseldorf")
    services.referral_export(referral=triaged, user=personas.district_coordinator, recipient="Jugendamt Düsseldorf")
    assert reload(triaged).status == Status.CLOSED
