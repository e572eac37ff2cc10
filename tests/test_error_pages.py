"""Error pages (issue 16 § 3): branded German 403/404/405/500 pages also in the demo (DEBUG on, as
``make run`` starts it), Django's technical pages only with ``DEBUG_PAGES``; a form address opened
with GET leads back to the form's page; and no page's browser title contains markup."""

import logging
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse

from tests.factories import make_referral


def _boom(request):
    raise RuntimeError("kaputt")


def _ok(request):
    return HttpResponse("ok")


urlpatterns = [
    path("test-boom/", _boom),
    path("test-ok/", _ok),
    path("", include("config.urls")),
]

EMERGENCY = "Akute Gefährdung eines Kindes?"


@pytest.fixture
def caseworker(client, personas):
    client.force_login(personas.caseworker_hilden)
    return client


@pytest.mark.django_db
@override_settings(DEBUG=True, DEBUG_PAGES=False)
def test_demo_shows_the_branded_404_for_an_unknown_address(caseworker):
    response = caseworker.get("/gibt-es-nicht/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "<h1>Nicht gefunden</h1>" in text
    assert EMERGENCY in text
    assert "URLconf" not in text and "Page not found" not in text


@pytest.mark.django_db
@override_settings(DEBUG=True, DEBUG_PAGES=False)
def test_demo_shows_the_branded_404_for_a_referral_out_of_scope(client, personas):
    other = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    client.force_login(personas.caseworker_hilden)
    response = client.get(reverse("referrals:detail", args=[other.pk]))
    assert response.status_code == 404
    assert "<h1>Nicht gefunden</h1>" in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
@override_settings(DEBUG=True, DEBUG_PAGES=True)
def test_developers_get_the_technical_404_with_debug_pages(caseworker):
    response = caseworker.get("/gibt-es-nicht/")
    assert response.status_code == 404
    assert "URLconf" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_an_error_shows_the_branded_500(personas, debug):
    client = Client(raise_request_exception=False)
    client.force_login(personas.police_hilden)
    with override_settings(DEBUG=debug, DEBUG_PAGES=False, ROOT_URLCONF=__name__):
        response = client.get("/test-boom/")
    assert response.status_code == 500
    text = response.content.decode()
    assert "Ein Fehler ist aufgetreten" in text and EMERGENCY in text
    assert "kaputt" not in text and "Traceback" not in text


@pytest.mark.django_db
def test_403_is_german_with_the_emergency_hint(client, personas):
    client.force_login(personas.police_hilden)
    response = client.get(reverse("referrals:inbox"))
    assert response.status_code in (403, 404)
    text = response.content.decode()
    assert EMERGENCY in text
    assert "Telefonnummern in den Erreichbarkeiten" in text


@pytest.mark.django_db
def test_a_refusal_is_logged_in_one_line_and_a_fault_with_its_traceback(client, personas, caplog):
    """A 403 is an answer, not a fault: one line in the log (it had twenty lines of traceback); a 500
    keeps its traceback for the operator (config/log_filters.py)."""
    client.force_login(personas.police_hilden)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("referrals:triage")).status_code == 403
    (refusal,) = [r for r in caplog.records if r.name == "django.request"]
    assert refusal.getMessage() == "Forbidden (Permission denied): /triage/" and refusal.exc_info is None
    assert "Traceback" not in caplog.text

    caplog.clear()
    boom = Client(raise_request_exception=False)
    boom.force_login(personas.police_hilden)
    with override_settings(ROOT_URLCONF=__name__), caplog.at_level(logging.ERROR, logger="django.request"):
        assert boom.get("/test-boom/").status_code == 500
    (fault,) = [r for r in caplog.records if r.name == "django.request"]
    assert fault.exc_info is not None and "RuntimeError: kaputt" in caplog.text


@pytest.mark.django_db
def test_csrf_failure_is_the_branded_page(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.police_hilden)
    response = client.post(reverse("referrals:create"), {})
    assert response.status_code == 403
    text = response.content.decode()
    assert "Formular abgelaufen" in text and EMERGENCY in text
    assert "CSRF verification failed" not in text


@pytest.mark.django_db
def test_get_of_a_form_address_leads_a_browser_back_to_the_form_page(client, personas):
    referral = make_referral(personas.police_hilden)
    client.force_login(personas.caseworker_hilden)
    action = reverse("referrals:acknowledge", args=[referral.pk])
    # A program (no browser navigation) gets the 405 with Allow, as a page that explains it.
    response = client.get(action)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    text = response.content.decode()
    assert "Seite auf unerwartetem Weg aufgerufen" in text
    assert f'href="{reverse("referrals:detail", args=[referral.pk])}"' in text
    # A person's browser navigating there (back, reload, address bar, language switch) is led to the page.
    response = client.get(action, headers={"Sec-Fetch-Dest": "document"})
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:detail", args=[referral.pk])


# --- every page a persona reaches: no markup in the browser title ------------------------------------

SKIP = re.compile(
    r"^/(admin|api|static|i18n|metrics|health)|/(logout|export|download|ics|csv|feed)|/(pdf|json)(/|$)|\.(csv|ics|pdf|json)"
)
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
LINK = re.compile(r'href="(/[^"#]*)"')


def crawl(client, start="/", limit=250):
    """Every page reachable from ``start`` by following links (GET only), with its title."""
    seen, queue, titles = set(), [start], {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (301, 302) and response["Location"].startswith("/"):
            queue.append(urlsplit(response["Location"]).path)
            continue
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        text = response.content.decode()
        match = TITLE.search(text)
        titles[url] = match.group(1) if match else None
        for href in LINK.findall(text):
            href = unescape(href)
            # One page of each list is enough (a query string is another view of the same template).
            base = urlsplit(href).path
            if base not in seen and not SKIP.search(base):
                queue.append(base)
    return titles


PERSONAS = [
    "police_hilden",
    "police_coordinator",
    "caseworker_hilden",
    "lead_hilden",
    "district_coordinator",
    "no_role",
]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_no_page_title_contains_markup(client, personas, persona):
    make_referral(personas.police_hilden)  # to Jugendamt Hilden
    make_referral(personas.police_hilden, postcode="99999", city="Nirgendwo")  # triage
    make_referral(personas.police_hilden, submit=False)  # a draft
    client.force_login(getattr(personas, persona))
    titles = crawl(client)
    assert len(titles) >= 2, titles
    bad = {url: title for url, title in titles.items() if title is None or "<" in title or "csrf" in title.lower()}
    assert not bad, bad


@pytest.mark.django_db
def test_triage_page_shows_who_filed_and_the_callback_number(client, personas):
    officer = personas.police_hilden
    officer.first_name, officer.last_name = "Petra", "Wachtmeister"
    officer.save()
    referral = make_referral(officer, postcode="99999", city="Nirgendwo", callback_phone="02103 898-6410")
    client.force_login(personas.district_coordinator)
    text = client.get(reverse("referrals:detail", args=[referral.pk])).content.decode()
    assert "Eingereicht von" in text
    assert referral.station.name in text
    assert "Petra Wachtmeister" in text
    assert 'href="tel:02103898-6410"' in text


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/referrals/5/acknowledge/", "/referrals/5/"),
        ("/triage/5/assign/", "/triage/"),
        ("/notifications/5/read/", "/notifications/"),
        ("/accounts/tokens/5/issue/", "/accounts/tokens/"),
        ("/inbox/assign/", "/inbox/"),
        ("/cooperation/meetings/3/confirm/", "/cooperation/meetings/3/"),
    ],
)
def test_the_page_of_a_form_address(path, page):
    from config.error_pages import _form_page_of

    assert _form_page_of(path) == page
