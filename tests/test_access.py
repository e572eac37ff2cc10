"""The one access decision (issue 11 §1): the actor and ``referrals.access.referral_access``."""

import pathlib
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from agencies.actor import actor_of
from agencies.models import Agency
from referrals import services
from referrals.access import Relation, referral_access
from referrals.models import Referral, Status
from tests.factories import make_referral

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden, urgency="urgent")


def test_relation_of_each_persona(personas, referral):
    expected = {
        "caseworker_hilden": (Relation.OWN_OFFICE,),
        "lead_hilden": (Relation.OWN_OFFICE,),
        "police_hilden": (Relation.FILING_STATION,),
        "police_hilden2": (Relation.FILING_STATION,),
        "police_coordinator": (Relation.AUTHORITY,),
        "caseworker_velbert": (),
        "police_velbert": (),
        "district_coordinator": (),  # not in triage: the coordinator has no relation to it
        "no_role": (),
        "admin": (),  # administrators do not read case contents
    }
    for name, relations in expected.items():
        assert referral_access(getattr(personas, name), referral).relations == relations, name


def test_hand_over_relations(personas, referral):
    velbert = Agency.objects.get(code="JA-VEL")
    services.referral_forward(referral=referral, user=personas.lead_hilden, to_office=velbert, reason="Umzug")
    referral = Referral.objects.get(pk=referral.pk)
    sender = referral_access(personas.caseworker_hilden, referral)
    receiver = referral_access(personas.caseworker_velbert, referral)
    assert sender.relation == Relation.OWN_OFFICE and sender.case_role == "sender" and sender.works_on_case
    assert receiver.relation == Relation.RECEIVING_OFFICE and receiver.case_role == "receiving"
    assert receiver.acting_office_id == velbert.pk and not receiver.is_lead


def test_triage_gives_the_coordinator_a_summary_only(personas):
    referral = make_referral(personas.police_hilden, postcode="99999", city="Nirgendwo")
    assert referral.status == Status.TRIAGE
    access = referral_access(personas.district_coordinator, referral)
    assert access.relations == (Relation.COORDINATOR,)
    assert not access.reads_contents and not access.works_on_case and not access.reads_as_police
    police = referral_access(personas.police_hilden, referral)
    assert police.reads_contents and police.reads_as_police and police.is_police


def test_grant_opens_one_case_for_reading(personas, referral):
    velbert = personas.caseworker_velbert
    assert referral_access(velbert, referral).relations == ()
    assign_perm("referrals.view_referral", velbert, referral)
    access = referral_access(velbert, referral)
    assert access.relation == Relation.GRANT and access.reads_contents
    assert not access.works_on_case and not access.reads_as_police and not access.is_lead
    group = Group.objects.create(name="Familiengericht")
    group.user_set.add(personas.police_velbert)
    assign_perm("referrals.view_referral", group, referral)
    assert referral_access(personas.police_velbert, referral).relation == Relation.GRANT


def test_drafts_relate_only_to_their_author(personas):
    draft = make_referral(personas.police_hilden, submit=False)
    assert referral_access(personas.police_hilden, draft).relation == Relation.FILING_STATION
    assert referral_access(personas.police_hilden2, draft).relations == ()
    assert referral_access(personas.police_coordinator, draft).relations == ()


def test_the_actor_loads_memberships_once(personas, referral):
    user = type(personas.lead_hilden).objects.get(pk=personas.lead_hilden.pk)
    with CaptureQueriesContext(connection) as queries:
        actor = actor_of(user)
        assert actor is actor_of(user)
        list(Referral.objects.visible_to(user))
        access = referral_access(user, referral)
        assert access.is_lead and access.relation == Relation.OWN_OFFICE
    # memberships once, the grants subquery of visible_to once, the referrals once
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_memberships_are_read_only_through_the_actor():
    """Issue 11 §1 proof: ``memberships_of`` — the primitive — is called by the actor module only."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in (".venv", "tests", "var", "node_modules") or "migrations" in relative.parts:
            continue
        if re.search(r"\bmemberships_of\b", path.read_text()) and str(relative) not in (
            "agencies/actor.py",
            "agencies/models.py",
        ):
            offenders.append(str(relative))
    assert offenders == []
