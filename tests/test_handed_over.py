"""A forwarded case after the other office accepted it (issue 16 § 4): the forwarding office is told,
and its old links (notification, e-mail) lead to a page that says where the case went — not to a bare
404. Nobody who was never told about the case learns anything from that page."""

import pytest
from django.urls import reverse

from agencies.models import Agency
from notifications.models import Channel, Notification
from referrals import services
from tests.factories import make_referral


@pytest.fixture
def accepted(personas):
    referral = make_referral(personas.police_hilden)
    velbert = Agency.objects.get(code="JA-VEL")
    services.referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    return services.referral_accept(referral=referral, user=personas.caseworker_velbert)


@pytest.mark.django_db
def test_forwarding_office_is_told_of_the_acceptance(personas, accepted):
    told = Notification.objects.filter(kind="referral_forward_accepted")
    users = {n.recipient_user for n in told.filter(channel=Channel.IN_APP)}
    assert {personas.caseworker_hilden, personas.lead_hilden} <= users
    assert personas.caseworker_velbert not in users
    hilden = Agency.objects.get(code="JA-HIL")
    assert told.filter(channel=Channel.EMAIL, recipient_email=hilden.email).exists()
    subject = told.first().subject
    assert accepted.reference in subject and "Jugendamt Velbert" in subject


@pytest.mark.django_db
def test_old_link_says_where_the_case_went(client, personas, accepted):
    client.force_login(personas.caseworker_hilden)
    response = client.get(reverse("referrals:detail", args=[accepted.pk]))
    assert response.status_code == 404
    text = response.content.decode()
    assert "Fall abgegeben" in text and accepted.reference in text and "Jugendamt Velbert" in text
    assert "Mia" not in text  # nothing of the case itself
    # The notification itself leads there too.
    notification = Notification.objects.filter(
        recipient_user=personas.caseworker_hilden, link__endswith=f"/{accepted.pk}/"
    ).first()
    followed = client.post(reverse("notifications:read", args=[notification.pk]), follow=True)
    assert followed.status_code == 404 and "Jugendamt Velbert" in followed.content.decode()


@pytest.mark.django_db
def test_nobody_else_learns_anything(client, personas, accepted):
    # Jugendamt Velbert's other people were never told about it through Hilden; Langenfeld never heard of it.
    client.force_login(personas.caseworker_velbert)
    assert client.get(reverse("referrals:detail", args=[accepted.pk])).status_code == 200
    client.force_login(personas.police_velbert)
    response = client.get(reverse("referrals:detail", args=[accepted.pk]))
    assert response.status_code == 404
    assert accepted.reference not in response.content.decode()
