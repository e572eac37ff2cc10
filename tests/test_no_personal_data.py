"""No personal data in e-mails, notification texts, application logs or URLs: a reference and a link only."""

import logging
import re

from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.factories import api_token, referral_payload

# The names and the street of referral_payload, and a word that only the note below carries.
NAMES = ("Mia", "Tom", "Beispiel", "Mittelstraße", "Sonnenschein")
URL = "/api/v1/referrals/"


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


def _leaks(text: str) -> list[str]:
    return [name for name in NAMES if name.lower() in text.lower()]


def test_a_journey_leaves_no_names_in_mail_notifications_or_logs(personas, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)  # every logger, the request log (django.request) included
    police, caseworker = _api(personas.police_hilden), _api(personas.caseworker_hilden)
    with django_capture_on_commit_callbacks(execute=True):
        filed = police.post(URL, referral_payload(postcode="40723", city="Hilden", urgency="immediate"), format="json")
    assert filed.status_code == 201, filed.content
    referral_id, reference = filed.json()["id"], filed.json()["reference"]
    detail = f"{URL}{referral_id}/"
    with django_capture_on_commit_callbacks(execute=True):
        assert caseworker.get(detail).status_code == 200
        assert caseworker.post(f"{detail}acknowledge/", {}, format="json").status_code == 200
        note = {"text": "Mia Beispiel war heute in der Kita Sonnenschein."}
        assert caseworker.post(f"{detail}notes/", note, format="json").status_code == 201
        # Refusals and validation errors are logged by django.request: with the path only.
        assert _api(personas.caseworker_velbert).get(detail).status_code == 404
        assert police.post(URL, referral_payload(incident_at="Mia Beispiel"), format="json").status_code == 400

    assert mail.outbox, "the journey sends e-mails (the office mailbox is told of the new referral)"
    for message in mail.outbox:
        assert reference in message.subject
        text = " ".join([message.subject, message.body, *message.to, *(str(a) for a in message.attachments)])
        assert not _leaks(text), (message.subject, message.body)
    notifications = Notification.objects.all()
    assert notifications.exists()
    for notification in notifications:
        assert not _leaks(f"{notification.subject} {notification.body} {notification.link}")
        assert not notification.link or re.fullmatch(r"[/\w-]*", notification.link), notification.link
    assert caplog.records, "nothing was logged: the capture would prove nothing"
    for record in caplog.records:
        assert not _leaks(record.getMessage()), f"{record.name}: {record.getMessage()}"


# Parameter names of URL patterns that carry no personal data: database ids, the admin's own
# (app label, object ids, its catch-all), and the random capability token of calendar feeds.
ID_PARAMETERS = {"pk", "id", "object_id", "content_type_id", "app_label", "url", "token"}
# Parameters that take one of a fixed set of names the system defines (the view answers 404 to any
# other), with where the set is: never anything a person typed.
FIXED_NAMES = {("dashboard/<slug:table>.csv", "table"): "a figure table of referrals.dashboard_views.office_tables"}


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_urls_carry_ids_never_names():
    routes = list(_routes(get_resolver().url_patterns))
    assert any("<int:pk>" in route for route in routes)  # the walk found the parameters
    offenders = []
    for route in routes:
        for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", route) + re.findall(r"\(\?P<()(\w+)>", route):
            if (route, name) in FIXED_NAMES:
                continue
            if name not in ID_PARAMETERS and not name.endswith("_id"):
                offenders.append(f"{route}: {name}")
            elif converter in ("str", "slug", "path") and not route.startswith("admin/") and name != "token":
                offenders.append(f"{route}: {name} takes free text")
    assert not offenders, offenders


def test_fixed_name_parameters_answer_404_to_anything_else(client, personas):
    client.force_login(personas.lead_hilden)
    assert client.get("/dashboard/caseload.csv").status_code == 200
    assert client.get("/dashboard/mia-beispiel.csv").status_code == 404
