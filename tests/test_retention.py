"""Retention (§ 9b SGB VIII): per-office rules by outcome, the nightly deletion with everything that
hangs on a referral, the anonymous remains, and the dry run the lead sees before a rule applies."""

import datetime
import os
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from agencies.models import Agency
from agencies.services import district_seed
from notifications.models import Notification
from referrals.models import (
    DEFAULT_RETENTION_DAYS,
    Assessment,
    Attachment,
    Child,
    ChildFingerprint,
    DeletionRecord,
    Escalation,
    FollowUp,
    Note,
    Person,
    Referral,
    ReferralEvent,
    ReferralUserObjectPermission,
    RetentionOutcome,
    RetentionRule,
    RetentionStatistic,
    Status,
)
from referrals.retention import retention_delete, retention_due
from referrals.services import (
    assessment_save,
    assessment_sign_off,
    attachment_add,
    followup_add,
    note_add,
    referral_acknowledge,
    referral_close,
    referral_export,
    referral_reopen,
)
from referrals.tasks import retention_delete as retention_delete_task
from tests.factories import make_referral

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN)
PLACES = {"hilden": ("40723", "Hilden"), "velbert": ("42551", "Velbert")}
NAMES = ("Mia", "Beispiel", "Tom", "Mittelstraße", "Kita Sonnenschein")


@pytest.fixture
def at(time_machine):
    def move(moment):
        time_machine.move_to(moment, tick=False)
        return moment

    move(T0)
    return move


@pytest.fixture
def storage(tmp_path):
    field = Attachment._meta.get_field("file")
    original = field.storage
    field.storage = FileSystemStorage(location=tmp_path)
    yield field.storage
    field.storage = original


def office(key):
    return Agency.objects.get(code={"hilden": "JA-HIL", "velbert": "JA-VEL"}[key])


def closed(personas, outcome="support_need", place="hilden"):
    """A referral of ``place`` that went through acknowledgement, a signed-off assessment and closing."""
    postcode, city = PLACES[place]
    police = getattr(personas, f"police_{place}")
    caseworker, lead = getattr(personas, f"caseworker_{place}"), getattr(personas, f"lead_{place}")
    referral = make_referral(police, postcode=postcode, city=city)
    referral_acknowledge(referral=referral, user=caseworker)
    assessment_save(referral=referral, user=caseworker, summary="Hausbesuch", outcome=outcome, measures=["none"])
    assessment_sign_off(referral=referral, user=lead)
    return referral_close(referral=referral, user=caseworker)


def exported(personas):
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    referral_export(referral=referral, user=personas.lead_hilden, recipient="Jugendamt Köln")
    return referral


def rule(place, outcome, keep_days, valid_from):
    return RetentionRule.objects.create(
        office=office(place), outcome=outcome, keep_days=keep_days, valid_from=valid_from
    )


# --- rules and what is due ----------------------------------------------------------------------------


def test_the_seed_gives_every_office_the_default_rules_once(personas):
    offices = Agency.objects.youth_offices()
    assert offices.count() == 10
    for each in offices:
        days = dict(RetentionRule.objects.filter(office=each).values_list("outcome", "keep_days"))
        assert days == {str(k): v for k, v in DEFAULT_RETENTION_DAYS.items()}
    assert (
        DEFAULT_RETENTION_DAYS[RetentionOutcome.NO_RISK_NO_NEED] < DEFAULT_RETENTION_DAYS[RetentionOutcome.SUPPORT_NEED]
    )
    district_seed(slug="mettmann")
    assert RetentionRule.objects.count() == 10 * len(RetentionOutcome)


def test_due_per_outcome_under_the_default_rules(personas, at):
    referrals = {outcome: closed(personas, outcome) for outcome in ("acute_risk", "latent_risk", "support_need")}
    referrals["no_risk_no_need"] = closed(personas, "no_risk_no_need")
    referrals["handed_over"] = exported(personas)
    unassessed = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    Referral.objects.filter(pk=unassessed.pk).update(status=Status.CLOSED, closed_at=T0)
    referrals["none"] = unassessed
    hilden = office("hilden")

    def due(days):
        ids = set(retention_due(office=hilden, now=T0 + datetime.timedelta(days=days)))
        return {outcome for outcome, referral in referrals.items() if referral.pk in ids}

    assert due(364) == set()
    assert due(366) == {"handed_over"}
    assert due(731) == {"handed_over", "no_risk_no_need", "none"}
    assert due(3651) == {"handed_over", "no_risk_no_need", "none"}
    assert due(3653) == set(referrals)


def test_due_per_office(personas, at):
    hilden, velbert = closed(personas, "no_risk_no_need"), closed(personas, "no_risk_no_need", place="velbert")
    rule("velbert", "no_risk_no_need", 30, T0.date())
    later = T0 + datetime.timedelta(days=31)
    assert retention_due(office=office("velbert"), now=later) == [velbert.pk]
    assert retention_due(office=office("hilden"), now=later) == []
    assert retention_due(office=office("hilden"), now=T0 + datetime.timedelta(days=731)) == [hilden.pk]


def test_open_and_reopened_referrals_are_never_due(personas, at):
    reopened = closed(personas, "no_risk_no_need")
    referral_reopen(referral=reopened, user=personas.lead_hilden, reason="Neue Mitteilung")
    make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    assert retention_due(office=office("hilden"), now=T0 + datetime.timedelta(days=36500)) == []


def test_a_rule_applies_only_from_its_first_day_and_the_latest_wins(personas, at):
    referral = closed(personas, "no_risk_no_need")
    first_day = (T0 + datetime.timedelta(days=60)).date()
    rule("hilden", "no_risk_no_need", 10, first_day)
    at(T0 + datetime.timedelta(days=59))
    assert retention_due(office=office("hilden"), now=T0 + datetime.timedelta(days=59)) == []
    assert retention_delete() == 0
    assert Referral.objects.filter(pk=referral.pk).exists()

    rule("hilden", "no_risk_no_need", 100, first_day + datetime.timedelta(days=1))  # lengthens it the day after
    start = datetime.datetime.combine(first_day, datetime.time(3, 15), tzinfo=BERLIN)
    assert retention_due(office=office("hilden"), now=start) == [referral.pk]
    assert retention_due(office=office("hilden"), now=start + datetime.timedelta(days=1)) == []
    at(start)
    assert retention_delete() == 1
    assert not Referral.objects.filter(pk=referral.pk).exists()


# --- the deletion ---------------------------------------------------------------------------------------


def _rich(personas, storage):
    """A closed Hilden referral with something in every table that hangs on a referral."""
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden", urgency="immediate")
    note_add(referral=referral, user=personas.caseworker_hilden, text="Mutter Mia Beispiel angerufen")
    note_add(referral=referral, user=personas.caseworker_hilden, text="Vertraulich", confidential=True)
    attachment = attachment_add(
        referral=referral,
        user=personas.caseworker_hilden,
        uploaded_file=SimpleUploadedFile("bericht.pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    followup_add(referral=referral, user=personas.police_hilden, text="Erneuter Einsatz")
    Escalation.objects.create(referral=referral, kind=Escalation.Kind.OVERDUE, due_at=T0)
    ReferralUserObjectPermission.objects.create(
        user=personas.caseworker_velbert,
        permission=Permission.objects.get(codename="view_referral"),
        content_object=referral,
    )
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    assessment_save(
        referral=referral,
        user=personas.caseworker_hilden,
        summary="x",
        outcome="support_need",
        measures=["offer_of_help"],
    )
    assessment_sign_off(referral=referral, user=personas.lead_hilden)
    referral_close(referral=referral, user=personas.caseworker_hilden)
    return referral, attachment


HANGING = (Child, Person, ReferralEvent, Assessment, Note, Attachment, FollowUp, ChildFingerprint, Escalation)


def test_the_job_deletes_everything_that_hangs_on_the_referral(
    personas, at, storage, django_capture_on_commit_callbacks
):
    referral, attachment = _rich(personas, storage)
    kept = make_referral(personas.police_hilden, postcode="40723", city="Hilden")  # still open
    kept_pk, pk, reference = kept.pk, referral.pk, referral.reference
    path = storage.path(attachment.file.name)
    for model in HANGING:
        assert model.objects.filter(referral_id=pk).exists(), model
    assert ReferralUserObjectPermission.objects.filter(content_object_id=pk).exists()
    link = f"/referrals/{pk}/"
    assert Notification.objects.filter(link=link).exists()
    other_notifications = Notification.objects.filter(link=f"/referrals/{kept_pk}/").count()
    assert other_notifications

    moment = at(T0 + datetime.timedelta(days=3653))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_delete() == 1
    assert not Referral.objects.filter(pk=pk).exists()
    assert Referral.objects.filter(pk=kept_pk).exists()
    for model in HANGING:
        assert not model.objects.filter(referral_id=pk).exists(), model
    assert not ReferralUserObjectPermission.objects.filter(content_object_id=pk).exists()
    assert not Notification.objects.filter(link__startswith=link).exists()
    assert Notification.objects.filter(link=f"/referrals/{kept_pk}/").count() == other_notifications
    assert Child.objects.filter(referral_id=kept_pk).exists()
    assert not os.path.exists(path)

    record = DeletionRecord.objects.get(reference=reference)
    assert record.office == office("hilden") and record.deleted_at == moment
    in_force = RetentionRule.objects.get(office=office("hilden"), outcome="support_need")
    assert record.rule == in_force
    support = RetentionStatistic.objects.get()
    assert support.outcome == "support_need"
    assert (support.office, support.year, support.urgency) == (office("hilden"), 2027, "immediate")
    assert (support.concerns, support.referrals, support.children) == ("domestic_violence", 1, 1)
    for row in [*RetentionStatistic.objects.all(), *DeletionRecord.objects.all()]:
        text = repr(model_to_dict(row))
        assert not any(name in text for name in NAMES), text
    assert {f.name for f in RetentionStatistic._meta.get_fields()} == {
        "id", "office", "year", "urgency", "concerns", "outcome", "referrals", "children",
    }  # fmt: skip
    assert {f.name for f in DeletionRecord._meta.get_fields()} == {"id", "reference", "office", "rule", "deleted_at"}


def test_running_twice_deletes_once_and_counts_once(personas, at):
    first, second = closed(personas, "no_risk_no_need"), closed(personas, "no_risk_no_need")
    at(T0 + datetime.timedelta(days=731))
    assert retention_delete_task() == 2  # the Celery task, called as beat calls it
    assert retention_delete() == 0
    assert DeletionRecord.objects.filter(reference__in=[first.reference, second.reference]).count() == 2
    stat = RetentionStatistic.objects.get()
    assert (stat.referrals, stat.children) == (2, 2)


def test_the_job_runs_every_night():
    entry = settings.CELERY_BEAT_SCHEDULE["referrals-retention-delete"]
    assert entry["task"] == "referrals.tasks.retention_delete"
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {15}


# --- the lead's page and the dry run ---------------------------------------------------------------------


@pytest.fixture
def dry_world(personas, at):
    """Hilden: A (no need, closed T0), B (no need, closed T0+50 days), C (support need, closed T0);
    Velbert: D (no need, closed T0). At T0+60 days the Hilden lead adds a 30-day rule for "no need"
    from T0+70 days: on its first day it deletes A only."""
    a, c = closed(personas, "no_risk_no_need"), closed(personas, "support_need")
    d = closed(personas, "no_risk_no_need", place="velbert")
    at(T0 + datetime.timedelta(days=50))
    b = closed(personas, "no_risk_no_need")
    at(T0 + datetime.timedelta(days=60))
    return {"a": a, "b": b, "c": c, "d": d}


FIRST_DAY = (T0 + datetime.timedelta(days=70)).date()


def _add_rule(client, **data):
    payload = {"office": office("hilden").pk, "outcome": "no_risk_no_need", "keep_days": 30, "valid_from": FIRST_DAY}
    return client.post("/retention/", {**payload, **data})


def test_the_lead_adds_a_future_rule_and_sees_exactly_what_it_would_delete(client, personas, dry_world, at):
    client.force_login(personas.lead_hilden)
    assert _add_rule(client).status_code == 302
    new = RetentionRule.objects.get(office=office("hilden"), valid_from=FIRST_DAY)
    assert (new.keep_days, new.created_by) == (30, personas.lead_hilden)
    text = client.get("/retention/").content.decode()
    shown = {key for key, r in dry_world.items() if r.reference in text}
    assert shown == {"a"}

    api = APIClient()
    api.force_authenticate(personas.lead_hilden)
    rules = api.get("/api/v1/retention-rules/").json()
    assert {r["office"] for r in rules} == {office("hilden").pk}
    assert [r["in_force"] for r in rules if r["id"] == new.pk] == [False]
    dry = api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/").json()
    assert (dry["count"], [r["reference"] for r in dry["referrals"]]) == (1, [dry_world["a"].reference])
    in_force = RetentionRule.objects.get(office=office("hilden"), outcome="support_need")
    assert api.get(f"/api/v1/retention-rules/{in_force.pk}/dry-run/").status_code == 400

    at(datetime.datetime.combine(FIRST_DAY, datetime.time(3, 15), tzinfo=BERLIN))
    assert retention_delete() == 1
    assert set(Referral.objects.values_list("reference", flat=True)) == {
        dry_world[k].reference for k in ("b", "c", "d")
    }


def test_only_the_lead_of_the_office_sees_the_dry_run(client, personas, dry_world):
    new = rule("hilden", "no_risk_no_need", 30, FIRST_DAY)
    reference = dry_world["a"].reference
    for name in ("lead_velbert", "caseworker_hilden", "police_hilden", "district_coordinator", "admin", "no_role"):
        user = getattr(personas, name)
        client.force_login(user)
        page = client.get("/retention/")
        if name == "lead_velbert":
            assert page.status_code == 200 and reference not in page.content.decode()
        else:
            assert page.status_code == 403, name
        api = APIClient()
        api.force_authenticate(user)
        assert api.get("/api/v1/retention-rules/").status_code == (200 if name == "lead_velbert" else 403), name
        assert api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/").status_code == 404, name
    client.force_login(personas.lead_velbert)
    assert _add_rule(client).status_code == 200  # not an office they lead: the form refuses it
    assert not RetentionRule.objects.filter(valid_from=FIRST_DAY).exclude(pk=new.pk).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_from": (T0 + datetime.timedelta(days=60)).date()}, "valid_from"),  # today: retroactive for today
        ({"valid_from": T0.date()}, "valid_from"),
        ({"keep_days": 0}, "keep_days"),
        ({"outcome": "forever"}, "outcome"),
    ],
)
def test_a_rule_never_applies_retroactively(client, personas, dry_world, change, field):
    client.force_login(personas.lead_hilden)
    before = RetentionRule.objects.count()
    response = _add_rule(client, **change)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert RetentionRule.objects.count() == before
