"""Individual grants (issue 11 §4): an office lead lets a named person of another agency read one
case, with a reason and an expiry; logged, revocable, ended by a beat job when expired."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from referrals.access import Relation, referral_access
from referrals.grants import MAX_GRANT_DAYS, grant_create, grant_revoke, grants_expire
from referrals.models import Referral, ReferralEvent, ReferralGrant
from tests.factories import make_referral


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden)


def _grant(referral, personas, days=7, person=None):
    return grant_create(
        referral=referral,
        user=personas.lead_hilden,
        person=person or personas.caseworker_velbert,
        reason="Familiengerichtshilfe braucht den Bericht",
        expires_on=timezone.localdate() + datetime.timedelta(days=days),
    )


def _sees(user, referral) -> bool:
    return Referral.objects.visible_to(user).filter(pk=referral.pk).exists()


def test_a_grant_opens_the_case_to_the_person_and_is_logged(personas, referral):
    assert not _sees(personas.caseworker_velbert, referral)
    grant = _grant(referral, personas)
    assert _sees(personas.caseworker_velbert, referral)
    access = referral_access(personas.caseworker_velbert, referral)
    assert access.relation == Relation.GRANT and access.reads_contents and not access.works_on_case
    event = ReferralEvent.objects.get(referral=referral, kind=ReferralEvent.Kind.GRANTED)
    assert event.actor == personas.lead_hilden and event.data["person"] == personas.caseworker_velbert.pk
    assert grant.expires_at > timezone.now()


def test_only_the_lead_of_the_responsible_office_grants(personas, referral):
    for user in (personas.caseworker_hilden, personas.lead_velbert, personas.police_hilden):
        with pytest.raises(PermissionDenied):
            grant_create(
                referral=referral, user=user, person=personas.caseworker_velbert, reason="x",
                expires_on=timezone.localdate(),
            )  # fmt: skip


def test_reason_expiry_and_person_are_checked(personas, referral):
    with pytest.raises(ValidationError) as refused:
        grant_create(
            referral=referral, user=personas.lead_hilden, person=personas.caseworker_hilden, reason=" ",
            expires_on=timezone.localdate() + datetime.timedelta(days=MAX_GRANT_DAYS + 1),
        )  # fmt: skip
    assert set(refused.value.message_dict) == {"reason", "expires_on", "person"}  # own office: no grant
    _grant(referral, personas)
    with pytest.raises(ValidationError):  # twice for the same person
        _grant(referral, personas)


def test_revoking_ends_the_access_and_keeps_the_record(personas, referral):
    grant = _grant(referral, personas)
    with pytest.raises(PermissionDenied):
        grant_revoke(grant=grant, user=personas.caseworker_hilden)
    grant_revoke(grant=grant, user=personas.lead_hilden)
    assert not _sees(personas.caseworker_velbert, referral)
    grant.refresh_from_db()
    assert grant.ended_by == personas.lead_hilden and not grant.is_running
    assert ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.GRANT_ENDED).count() == 1
    with pytest.raises(ValidationError):
        grant_revoke(grant=grant, user=personas.lead_hilden)


def test_expired_grants_are_ended_by_the_beat_job(personas, referral, time_machine):
    grant = _grant(referral, personas, days=2)
    assert grants_expire() == 0
    time_machine.move_to(grant.expires_at + datetime.timedelta(minutes=1))
    assert grants_expire() == 1
    assert not _sees(personas.caseworker_velbert, referral)
    assert ReferralGrant.objects.get(pk=grant.pk).ended_by is None  # ended by the clock
    assert grants_expire() == 0


def test_the_page_of_the_lead(client, personas, referral):
    url = reverse("referrals:grants", args=[referral.pk])
    client.force_login(personas.caseworker_hilden)
    assert client.get(url).status_code == 403
    client.force_login(personas.lead_velbert)
    assert client.get(url).status_code == 404  # outside the scope
    client.force_login(personas.lead_hilden)
    picker = client.get(url)
    assert picker.status_code == 200
    # Each person with their agency: two people of one name must not look alike (QA of 2026-12-05).
    assert f'<option value="{personas.caseworker_velbert.pk}">caseworker_velbert – Jugendamt Velbert</option>' in (
        picker.content.decode()
    )
    response = client.post(
        url,
        {
            "person": personas.caseworker_velbert.pk,
            "reason": "Übergabegespräch",
            "expires_on": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = ReferralGrant.objects.get(referral=referral)
    assert _sees(personas.caseworker_velbert, referral)
    last_day = timezone.localdate() + datetime.timedelta(days=3)
    page = client.get(url).content.decode()
    assert last_day.strftime("%d.%m.%Y") in page and "Läuft" in page  # the day entered, not 00:00 the day after
    # The person is told, with the link: the case is in no list of theirs (QA of 2026-12-05).
    told = Notification.objects.get(recipient_user=personas.caseworker_velbert, kind="granted")
    assert told.link == f"/referrals/{referral.pk}/" and referral.reference in told.subject
    end = reverse("referrals:grant_end", args=[referral.pk, grant.pk])
    assert client.get(end).status_code == 405
    confirm = client.post(end)  # asked first
    assert confirm.status_code == 200 and 'name="confirm" value="1"' in confirm.content.decode()
    assert _sees(personas.caseworker_velbert, referral)
    assert client.post(end, {"confirm": "1"}).status_code == 302
    assert not _sees(personas.caseworker_velbert, referral)
    history = client.get(reverse("referrals:detail", args=[referral.pk])).content.decode()
    assert history.count("für caseworker_velbert") == 2  # granted and ended: the history names the person (QA)
    # The person is told, and their old link says the access ended, not "handed over" (QA of 2026-12-05).
    assert Notification.objects.filter(recipient_user=personas.caseworker_velbert, kind="grant_ended").exists()
    assert Notification.objects.get(recipient_user=personas.caseworker_velbert, kind="granted").read_at is not None
    client.force_login(personas.caseworker_velbert)
    gone = client.get(reverse("referrals:detail", args=[referral.pk]))
    assert gone.status_code == 404 and "Lesezugriff beendet" in gone.content.decode()
    assert "abgegeben" not in gone.content.decode()
