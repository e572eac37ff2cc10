"""Retention (§ 9b SGB VIII): per-office rules by outcome, the nightly deletion with everything that
hangs on a referral, the anonymous remains, and the dry run the lead sees before a rule applies."""

import base64
import datetime
import html
import importlib
import json
import os
import re
from types import SimpleNamespace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agencies.models import Agency
from agencies.services import district_seed
from notifications.models import Notification
from referrals import retention as retention_module
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
from referrals.retention_outcome import retention_outcome_expression
from referrals.screening import screening_save, screening_sign_off
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

MIGRATION_0022 = importlib.import_module("referrals.migrations.0022_retention_outcome")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _seeded_rules_in_force_before_t0(db):
    """The district's default rules are seeded in force from the day of seeding — the day the suite
    runs (or TEST_CLOCK's). These tests play in January 2027 and need them in force then, whatever
    that day is: a run after 10 January 2027 would otherwise find the defaults not yet valid."""
    RetentionRule.objects.filter(valid_from__gt=T0.date() - datetime.timedelta(days=365)).filter(
        created_by__isnull=True
    ).update(valid_from=T0.date() - datetime.timedelta(days=365))


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


def coordination():
    return Agency.objects.get(code="KOORD")


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


def exported_from_triage(personas):
    """A referral that never reached a youth office: triage queue, handed over by the district coordinator."""
    referral = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")
    assert referral.status == Status.TRIAGE
    referral_export(referral=referral, user=personas.district_coordinator, recipient="Jugendamt Düsseldorf")
    referral = Referral.objects.get(pk=referral.pk)
    assert (referral.status, referral.youth_office) == (Status.CLOSED, None)
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
    koord = dict(RetentionRule.objects.filter(office=coordination()).values_list("outcome", "keep_days"))
    assert koord == {"handed_over": DEFAULT_RETENTION_DAYS[RetentionOutcome.HANDED_OVER]}
    district_seed(slug="mettmann")
    assert RetentionRule.objects.count() == 10 * len(RetentionOutcome) + 1


def test_due_per_outcome_under_the_default_rules(personas, at):
    referrals = {outcome: closed(personas, outcome) for outcome in ("acute_risk", "latent_risk", "support_need")}
    referrals["no_risk_no_need"] = closed(personas, "no_risk_no_need")
    referrals["handed_over"] = exported(personas)
    unassessed = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    Referral.objects.filter(pk=unassessed.pk).update(status=Status.CLOSED, closed_at=T0, retention_outcome="none")
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
    """The page's two steps: the rule with its dry run (nothing saved yet), then the confirmation."""
    payload = {"office": office("hilden").pk, "outcome": "no_risk_no_need", "keep_days": 30, "valid_from": FIRST_DAY}
    first = client.post("/retention/", {**payload, **data})
    if first.status_code != 200 or first.templates[0].name != "referrals/confirm_retention_rule.html":
        return first
    return client.post("/retention/", {**payload, **data, "confirm": "1"})


def test_a_rule_shows_what_it_would_delete_before_it_is_saved(client, personas, dry_world):
    """QA of 2026-12-05: a rule that deletes cases was saved on one click, its dry run shown after."""
    client.force_login(personas.lead_hilden)
    payload = {"office": office("hilden").pk, "outcome": "no_risk_no_need", "keep_days": 30, "valid_from": FIRST_DAY}
    before = RetentionRule.objects.count()
    confirm = client.post("/retention/", payload)
    assert confirm.status_code == 200 and confirm.templates[0].name == "referrals/confirm_retention_rule.html"
    text = confirm.content.decode()
    assert dry_world["a"].reference in text and dry_world["b"].reference not in text
    assert "1 Mitteilung löschen" in text and "Probelauf" in text and 'name="confirm" value="1"' in text
    assert RetentionRule.objects.count() == before  # nothing saved yet
    assert client.post("/retention/", {**payload, "confirm": "1"}).status_code == 302
    assert RetentionRule.objects.count() == before + 1
    again = client.post("/retention/", payload)  # the same outcome and first day once more
    assert again.status_code == 200
    assert again.context["form"].errors["valid_from"] == [
        "Für dieses Ergebnis beginnt an diesem Tag schon eine Regel. Wählen Sie einen anderen Tag."
    ]


def test_a_rule_not_yet_in_force_is_withdrawn_and_deletes_nothing(client, personas, dry_world, at):
    new = rule("hilden", "no_risk_no_need", 30, FIRST_DAY)
    in_force = RetentionRule.objects.get(office=office("hilden"), outcome="support_need")
    client.force_login(personas.lead_velbert)
    assert client.post(f"/retention/{new.pk}/withdraw/").status_code == 404  # not their office's rule
    client.force_login(personas.lead_hilden)
    assert f'action="/retention/{new.pk}/withdraw/"' in client.get("/retention/").content.decode()
    assert client.get(f"/retention/{new.pk}/withdraw/").status_code == 405
    assert client.post(f"/retention/{in_force.pk}/withdraw/").status_code == 302
    assert RetentionRule.objects.filter(pk=in_force.pk).exists()  # in force: the record of what it deletes
    assert client.post(f"/retention/{new.pk}/withdraw/").status_code == 302
    assert not RetentionRule.objects.filter(pk=new.pk).exists()
    at(datetime.datetime.combine(FIRST_DAY, datetime.time(3, 15), tzinfo=BERLIN))
    assert retention_delete() == 0


def test_the_lead_adds_a_future_rule_and_sees_exactly_what_it_would_delete(client, personas, dry_world, at):
    client.force_login(personas.lead_hilden)
    assert _add_rule(client).status_code == 302
    new = RetentionRule.objects.get(office=office("hilden"), valid_from=FIRST_DAY)
    assert (new.keep_days, new.created_by) == (30, personas.lead_hilden)
    text = client.get("/retention/").content.decode()
    shown = {key for key, r in dry_world.items() if r.reference in text}
    assert shown == {"a"}
    assert ">Confirm<" not in text and 'type="hidden" name="confirm"' in text  # no label for a hidden field (QA)

    api = APIClient()
    api.force_authenticate(personas.lead_hilden)
    rules = api.get("/api/v1/retention-rules/").json()
    assert {r["office"] for r in rules} == {office("hilden").pk}
    assert [r["in_force"] for r in rules if r["id"] == new.pk] == [False]
    dry = api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/").json()
    assert (dry["count"], [r["reference"] for r in dry["referrals"]]) == (1, [dry_world["a"].reference])
    edited = api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/?after=abc")  # was the first page again (QA)
    assert edited.status_code == 400 and list(edited.json()) == ["after"], edited.json()
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
    managers = {"lead_velbert": office("velbert"), "district_coordinator": coordination()}
    for name in ("lead_velbert", "caseworker_hilden", "police_hilden", "district_coordinator", "admin", "no_role"):
        user = getattr(personas, name)
        client.force_login(user)
        page = client.get("/retention/")
        api = APIClient()
        api.force_authenticate(user)
        rules = api.get("/api/v1/retention-rules/")
        if name in managers:
            assert page.status_code == 200 and reference not in page.content.decode()
            assert "Hilden" not in page.content.decode(), name
            assert rules.status_code == 200 and {r["office"] for r in rules.json()} == {managers[name].pk}, name
        else:
            assert page.status_code == 403, name
            assert rules.status_code == 403, name
        assert api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/").status_code == 404, name
    client.force_login(personas.lead_velbert)
    assert _add_rule(client).status_code == 200  # not an office they lead: the form refuses it
    assert not RetentionRule.objects.filter(valid_from=FIRST_DAY).exclude(pk=new.pk).exists()


def _listed(text, referrals):
    return [r.reference for r in referrals if r.reference in text]


def test_a_long_dry_run_lists_a_page_counts_the_rest_and_pages_on(client, personas, dry_world, at, monkeypatch):
    """Four more "no need" closings at T0 (the same moment as A: the id breaks the tie), a page of two:
    the page says five, lists the two oldest, "… und 3 weitere" and pages on by keyset (issue 12)."""
    monkeypatch.setattr(retention_module, "DRY_RUN_SHOWN", 2)
    at(T0)
    due = [dry_world["a"]] + [closed(personas, "no_risk_no_need") for _ in range(4)]
    at(T0 + datetime.timedelta(days=60))
    new = rule("hilden", "no_risk_no_need", 30, FIRST_DAY)
    client.force_login(personas.lead_hilden)
    client.cookies["django_language"] = "de"
    seen, url, pages = [], "/retention/", 0
    while url:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 200
        row = next(row for section in response.context["sections"] for row in section.rows if row.rule == new)
        assert row.dry_run.count == 5
        text = response.content.decode()
        assert f"diese Regel am {FIRST_DAY:%d.%m.%Y} 5 Mitteilungen löschen" in text
        page = _listed(text, due)
        assert len(page) == len(row.dry_run.referrals) <= 2
        seen += page
        pages += 1
        more = len(due) - len(seen)
        assert row.dry_run.more == more
        if more:
            assert f"… und {more} weitere." in text and "Weitere anzeigen" in text
            url = html.unescape(re.search(r'href="(/retention/\?rule=[^"#]+)', text)[1])  # the page's own link
            assert url == f"/retention/?rule={new.pk}&after={quote(row.dry_run.next_after)}"
        else:
            assert "weitere." not in text
            url = None
    assert (seen, pages) == ([r.reference for r in sorted(due, key=lambda r: (r.closed_at, r.pk))], 3)
    assert seen[0] == dry_world["a"].reference  # oldest first, the tie broken by id

    api = APIClient()
    api.force_authenticate(personas.lead_hilden)
    listed, after, rounds = [], None, 0
    while True:
        dry = api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/", {"after": after} if after else {}).json()
        assert dry["count"] == 5 and len(dry["referrals"]) <= 2
        listed += [r["reference"] for r in dry["referrals"]]
        rounds += 1
        assert dry["more"] == 5 - len(listed)
        if not (after := dry["next_after"]):
            break
    assert (listed, rounds) == (seen, 3)
    # A malformed cursor: the API refuses it like its lists (400 at ``after``; it answered the first page
    # again, QA of 2026-12-05); the page starts with the oldest instead of failing.
    beyond_bigint = base64.urlsafe_b64encode(json.dumps([T0.isoformat(), 2**64]).encode()).decode()
    for malformed in ("gestern_x", "2027-01-10T09:00:00_3", f"{T0.isoformat()}_{2**64}", beyond_bigint):
        answer = api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/", {"after": malformed})
        assert answer.status_code == 400 and list(answer.json()) == ["after"], malformed
        page = client.get("/retention/", {"rule": new.pk, "after": malformed})
        assert page.status_code == 200 and _listed(page.content.decode(), due) == seen[:2], malformed
    assert client.get("/retention/", {"rule": "²", "after": "x"}).status_code == 200


def test_the_dry_run_costs_the_same_queries_however_many_are_due(client, personas, dry_world, at, monkeypatch):
    monkeypatch.setattr(retention_module, "DRY_RUN_SHOWN", 2)
    new = rule("hilden", "no_risk_no_need", 30, FIRST_DAY)
    client.force_login(personas.lead_hilden)
    api = APIClient()
    api.force_authenticate(personas.lead_hilden)

    def queries():
        counts = []
        for send in (
            lambda: client.get("/retention/"),
            lambda: api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/"),
        ):
            with CaptureQueriesContext(connection) as captured:
                assert send().status_code == 200
            counts.append(len(captured.captured_queries))
        return counts

    few = queries()  # one due
    at(T0)
    for _ in range(5):
        closed(personas, "no_risk_no_need")
    at(T0 + datetime.timedelta(days=60))
    assert retention_module.retention_dry_run(rule=new).count == 6
    assert queries() == few


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


# --- referrals that never reached a youth office: the coordination office's rules ------------------------


def test_an_exported_triage_referral_is_deleted_after_the_coordination_rule_and_not_before(
    personas, at, storage, django_capture_on_commit_callbacks
):
    referral = exported_from_triage(personas)
    pk, reference = referral.pk, referral.reference
    keep = DEFAULT_RETENTION_DAYS[RetentionOutcome.HANDED_OVER]
    still_in_triage = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")

    at(T0 + datetime.timedelta(days=keep - 1))
    assert retention_due(office=coordination(), now=T0 + datetime.timedelta(days=keep - 1)) == []
    assert retention_delete() == 0
    assert Referral.objects.filter(pk=pk).exists()

    moment = at(T0 + datetime.timedelta(days=keep, minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_delete() == 1
    assert not Referral.objects.filter(pk=pk).exists()
    for model in (Child, Person, ReferralEvent, ChildFingerprint):
        assert not model.objects.filter(referral_id=pk).exists(), model
    assert not Notification.objects.filter(link__startswith=f"/referrals/{pk}/").exists()
    assert Referral.objects.get(pk=still_in_triage.pk).status == Status.TRIAGE

    record = DeletionRecord.objects.get(reference=reference)
    assert (record.office, record.deleted_at) == (coordination(), moment)
    assert record.rule == RetentionRule.objects.get(office=coordination(), outcome="handed_over")
    stat = RetentionStatistic.objects.get()
    assert (stat.office, stat.outcome, stat.year, stat.urgency) == (coordination(), "handed_over", 2027, "urgent")
    assert (stat.concerns, stat.referrals, stat.children) == ("domestic_violence", 1, 1)
    for row in (record, stat):
        text = repr(model_to_dict(row))
        assert not any(name in text for name in NAMES), text


def test_coordination_rules_touch_only_referrals_that_never_reached_an_office(personas, at):
    triage = exported_from_triage(personas)
    by_office = exported(personas)  # handed over by the Hilden lead: Hilden's rules decide
    no_need = closed(personas, "no_risk_no_need")
    RetentionRule.objects.create(office=coordination(), outcome="handed_over", keep_days=30, valid_from=T0.date())
    later = at(T0 + datetime.timedelta(days=31))
    assert retention_due(office=coordination(), now=later) == [triage.pk]
    assert retention_due(office=office("hilden"), now=later) == []
    assert retention_delete() == 1
    assert set(Referral.objects.values_list("pk", flat=True)) == {by_office.pk, no_need.pk}

    at(T0 + datetime.timedelta(days=366))
    assert retention_delete() == 1  # Hilden's own handed-over rule (1 year), unchanged
    assert DeletionRecord.objects.get(reference=by_office.reference).office == office("hilden")
    assert Referral.objects.filter(pk=no_need.pk).exists()


def test_the_coordination_office_of_another_district_never_deletes_ours(personas, at):
    from agencies.models import AgencyKind, District

    other = District.objects.create(slug="anderswo", name="Kreis Anderswo")
    foreign = Agency.objects.create(district=other, kind=AgencyKind.COORDINATION, name="Koordination", code="KOORD")
    RetentionRule.objects.create(office=foreign, outcome="handed_over", keep_days=1, valid_from=T0.date())
    triage = exported_from_triage(personas)
    at(T0 + datetime.timedelta(days=2))
    assert retention_due(office=foreign, now=T0 + datetime.timedelta(days=2)) == []
    assert retention_delete() == 0
    assert Referral.objects.filter(pk=triage.pk).exists()


def test_the_district_coordinator_sets_a_rule_and_sees_its_dry_run(client, personas, at):
    first = exported_from_triage(personas)
    at(T0 + datetime.timedelta(days=50))
    second = exported_from_triage(personas)
    at(T0 + datetime.timedelta(days=60))
    client.force_login(personas.district_coordinator)
    assert _add_rule(client, office=coordination().pk, outcome="handed_over").status_code == 302
    new = RetentionRule.objects.get(office=coordination(), valid_from=FIRST_DAY)
    assert (new.outcome, new.keep_days, new.created_by) == ("handed_over", 30, personas.district_coordinator)

    text = client.get("/retention/").content.decode()
    assert first.reference in text and second.reference not in text
    assert f"/referrals/{first.pk}/" not in text  # the coordinator cannot open a closed case: no link
    api = APIClient()
    api.force_authenticate(personas.district_coordinator)
    assert {r["office"] for r in api.get("/api/v1/retention-rules/").json()} == {coordination().pk}
    dry = api.get(f"/api/v1/retention-rules/{new.pk}/dry-run/").json()
    assert (dry["count"], [r["reference"] for r in dry["referrals"]]) == (1, [first.reference])

    at(datetime.datetime.combine(FIRST_DAY, datetime.time(3, 15), tzinfo=BERLIN))
    assert retention_delete() == 1
    assert not Referral.objects.filter(pk=first.pk).exists() and Referral.objects.filter(pk=second.pk).exists()


@pytest.mark.parametrize(
    ("user", "data"),
    [
        ("district_coordinator", {"office": "KOORD", "outcome": "support_need"}),  # nothing else reaches it
        ("district_coordinator", {"office": "JA-HIL", "outcome": "no_risk_no_need"}),  # not theirs
        ("lead_hilden", {"office": "KOORD", "outcome": "handed_over"}),  # not theirs
    ],
)
def test_coordination_rules_are_the_coordinators_and_only_for_handed_over(client, personas, at, user, data):
    at(T0 + datetime.timedelta(days=60))
    client.force_login(getattr(personas, user))
    before = RetentionRule.objects.count()
    response = _add_rule(client, office=Agency.objects.get(code=data["office"]).pk, outcome=data["outcome"])
    assert response.status_code == 200
    assert response.context["form"].errors
    assert RetentionRule.objects.count() == before


def test_nobody_else_sees_the_coordination_rules(client, personas, at):
    triage = exported_from_triage(personas)
    at(T0 + datetime.timedelta(days=60))
    koord = RetentionRule.objects.create(
        office=coordination(), outcome="handed_over", keep_days=30, valid_from=FIRST_DAY
    )
    for name in ("lead_hilden", "caseworker_hilden", "police_hilden", "police_coordinator", "admin", "no_role"):
        user = getattr(personas, name)
        client.force_login(user)
        page = client.get("/retention/")
        assert page.status_code == (200 if name == "lead_hilden" else 403), name
        assert triage.reference not in page.content.decode()
        api = APIClient()
        api.force_authenticate(user)
        rules = api.get("/api/v1/retention-rules/")
        if name == "lead_hilden":
            assert coordination().pk not in {r["office"] for r in rules.json()}
        else:
            assert rules.status_code == 403, name
        assert api.get(f"/api/v1/retention-rules/{koord.pk}/dry-run/").status_code == 404, name


# --- drafts -------------------------------------------------------------------------------------------------


def test_drafts_unchanged_longer_than_the_limit_are_deleted(personas, at):
    old = make_referral(personas.police_hilden, submit=False)
    submitted = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    at(T0 + datetime.timedelta(days=10))
    young = make_referral(personas.police_hilden, submit=False)
    assert Child.objects.filter(referral=old).exists() and Person.objects.filter(referral=old).exists()

    at(T0 + datetime.timedelta(days=30) - datetime.timedelta(minutes=1))
    assert retention_delete() == 0
    moment = at(T0 + datetime.timedelta(days=30, minutes=1))
    assert retention_delete() == 1
    assert not Referral.objects.filter(pk=old.pk).exists()
    for model in (Child, Person, ReferralEvent):
        assert not model.objects.filter(referral_id=old.pk).exists(), model
    assert set(Referral.objects.values_list("pk", flat=True)) == {submitted.pk, young.pk}

    record = DeletionRecord.objects.get(reference=old.reference)
    assert (record.office, record.rule, record.deleted_at) == (old.station, None, moment)
    assert not any(name in repr(model_to_dict(record)) for name in NAMES)
    assert not RetentionStatistic.objects.exists()  # never submitted: nothing to count


def test_a_change_restarts_the_draft_clock_and_the_limit_is_a_setting(personas, at, settings):
    from referrals.services import referral_save
    from tests.factories import referral_payload, service_args

    draft = make_referral(personas.police_hilden, submit=False)
    at(T0 + datetime.timedelta(days=20))
    referral_save(user=personas.police_hilden, submit=False, referral=draft, **service_args(referral_payload()))
    at(T0 + datetime.timedelta(days=31))
    assert retention_delete() == 0

    settings.DRAFT_RETENTION_DAYS = 10
    assert retention_delete() == 1
    assert not Referral.objects.filter(pk=draft.pk).exists()


def test_the_nightly_task_deletes_due_referrals_and_drafts(personas, at):
    draft = make_referral(personas.police_hilden, submit=False)
    triage = exported_from_triage(personas)
    no_need = closed(personas, "no_risk_no_need")
    at(T0 + datetime.timedelta(days=731))
    assert retention_delete_task() == 3  # the Celery task, as beat calls it
    assert not Referral.objects.filter(pk__in=[draft.pk, triage.pk, no_need.pk]).exists()
    assert DeletionRecord.objects.count() == 3


def test_the_police_are_told_that_drafts_are_deleted(client, personas):
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):  # as the pages render it, translated or not
        sentence = translation.ngettext(
            "Drafts are deleted after %(days)s day without changes.",
            "Drafts are deleted after %(days)s days without changes.",
            30,
        ) % {"days": 30}
    draft = make_referral(personas.police_hilden, submit=False)
    client.force_login(personas.police_hilden)
    for url in ("/referrals/", "/referrals/new/", f"/referrals/{draft.pk}/edit/"):
        assert sentence in client.get(url).content.decode(), url


def test_the_setting_is_what_the_police_read_and_the_coordinator_finds_the_page(client, personas, settings):
    settings.DRAFT_RETENTION_DAYS = 14
    client.force_login(personas.police_hilden)
    assert "Entwürfe werden nach 14 Tagen ohne Änderung gelöscht." in client.get("/referrals/").content.decode()
    client.force_login(personas.district_coordinator)
    assert 'href="/retention/"' in client.get("/triage/").content.decode()


def test_a_coordination_rule_is_only_for_handed_over_and_only_offices_have_rules(personas):
    from django.core.exceptions import ValidationError

    tomorrow = T0.date() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        RetentionRule(office=coordination(), outcome="support_need", keep_days=30, valid_from=tomorrow).full_clean()
    assert set(refused.value.message_dict) == {"outcome"}
    station = Agency.objects.get(code="PW-HIL")
    with pytest.raises(ValidationError) as refused:
        RetentionRule(office=station, outcome="handed_over", keep_days=30, valid_from=tomorrow).full_clean()
    assert set(refused.value.message_dict) == {"office"}
    RetentionRule(office=coordination(), outcome="handed_over", keep_days=30, valid_from=tomorrow).full_clean()


# --- the stored outcome (issue 12) --------------------------------------------------------------------


def _stored_and_computed(referral) -> tuple[str, str]:
    row = (
        Referral.objects.filter(pk=referral.pk)
        .annotate(computed=retention_outcome_expression())
        .values_list("retention_outcome", "computed")
        .get()
    )
    return row


@pytest.mark.parametrize("outcome", ["acute_risk", "latent_risk", "support_need", "no_risk_no_need"])
def test_closing_after_a_signed_off_assessment_stores_its_outcome(personas, outcome):
    referral = closed(personas, outcome)
    assert _stored_and_computed(referral) == (outcome, outcome)
    assert referral.retention_outcome == outcome


def test_exporting_stores_handed_over_from_an_office_and_from_triage(personas):
    assert _stored_and_computed(exported(personas)) == ("handed_over", "handed_over")
    assert _stored_and_computed(exported_from_triage(personas)) == ("handed_over", "handed_over")


def test_a_screening_no_stores_none(personas):
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    screening_save(
        referral=referral, user=personas.caseworker_hilden, weighty_indications=False,
        reason="Einmaliger Streit, Kinder schliefen, Eltern kooperativ.", next_step="information_only",
    )  # fmt: skip
    screening_sign_off(referral=referral, user=personas.lead_hilden)
    assert Referral.objects.get(pk=referral.pk).status == Status.CLOSED
    assert _stored_and_computed(referral) == ("none", "none")


def test_reopening_empties_it_and_the_next_closing_decides_again(personas):
    referral = closed(personas, "no_risk_no_need")
    referral_reopen(referral=referral, user=personas.lead_hilden, reason="Neue Hinweise")
    assert Referral.objects.get(pk=referral.pk).retention_outcome == ""
    # Exported after the reopening: the earlier signed-off assessment still decides (same rule).
    referral_export(referral=referral, user=personas.lead_hilden, recipient="Jugendamt Köln")
    assert _stored_and_computed(referral) == ("no_risk_no_need", "no_risk_no_need")
    referral_reopen(referral=referral, user=personas.lead_hilden, reason="Zurück")
    assessment_save(
        referral=referral, user=personas.caseworker_hilden, summary="Erneut", outcome="acute_risk", measures=["none"]
    )
    assessment_sign_off(referral=referral, user=personas.lead_hilden)
    referral_close(referral=referral, user=personas.caseworker_hilden)
    assert _stored_and_computed(referral) == ("acute_risk", "acute_risk")


def test_the_migration_fills_the_stored_outcome_as_the_rule_computes_it(personas):
    referrals = [closed(personas, "latent_risk"), exported(personas), exported_from_triage(personas)]
    unassessed = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    Referral.objects.filter(pk=unassessed.pk).update(status=Status.CLOSED, closed_at=T0)
    open_one = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    Referral.objects.update(retention_outcome="")  # as before the migration
    MIGRATION_0022.backfill(None, SimpleNamespace(connection=connection))
    for referral in [*referrals, unassessed]:
        stored, computed = _stored_and_computed(referral)
        assert stored == computed != ""
    assert [_stored_and_computed(r)[0] for r in referrals] == ["latent_risk", "handed_over", "handed_over"]
    assert Referral.objects.get(pk=open_one.pk).retention_outcome == ""
