"""No English in the German interface and no German in the English one (issue 16 § 5), also in the
states a page reaches only through a mistake: every form of every page each persona reaches, sent with
its fields left empty (a failed form re-renders in place with its errors); the branded error pages
(403, 404, 405, 500, the expired form); the login page, also after a failed login. German: every
message asked for is in the German catalog (tests/test_translations.py's check). English: no German
word outside the data shown (names of agencies, people, streets, the referrals' texts)."""

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.db import models
from django.test import Client, override_settings

from tests.factories import make_referral
from tests.test_error_pages import SKIP
from tests.test_meetings_api import meetings_world
from tests.test_translations import untranslated  # noqa: F401 (fixture)

PERSONAS = ["police_hilden", "police_coordinator", "caseworker_hilden", "lead_hilden", "district_coordinator"]
# Forms whose sending would end the crawl itself (the session, the language) or keep a request open.
SKIP_ACTIONS = re.compile(r"/(logout|logout-everywhere|keepalive)/|^/i18n/|/export/|/download/")
LIMIT = 120

# Words only German has (articles, pronouns, conjunctions and the like), and any word with ä, ö, ü, ß.
GERMAN = re.compile(
    r"\b(und|oder|nicht|bitte|Bitte|Sie|Ihr|Ihre|Ihren|Ihrer|Ihnen|werden|wurde|wurden|kein|keine|keinen|für|über|"
    r"mit|zum|zur|vom|beim|ist|sind|eine|einen|einer|dem|den|des|der|das|auf|noch|nach|bei|wird|haben|hat|sich|auch|"
    r"dass|wenn|schon|alle|jetzt|gibt|Seite|Fehler|zurück|Anmeldung|Passwort|Abbrechen|Speichern)\b"
    r"|\b\w*[äöüÄÖÜß]\w*\b"
)
# German words the English interface uses on purpose: names of things in German law and practice, the
# product's name, the language switch, the example of a search that ignores umlauts.
INTENDED = re.compile(
    r"Kinderschutz-Kooperation|Deutsch|Müller also finds Mueller|Jugendämter|Jugendamt|Mitteilung|Nachtrag|"
    r"Gefährdungseinschätzung|"
    r"Erreichbarkeiten|Hospitation|Koordinierungsstelle|Kreispolizeibehörde|Polizeiwache|Sorgeberechtigte"
)


class Forms(HTMLParser):
    """The POST forms of a page: action and the fields, hidden ones with their values."""

    def __init__(self):
        super().__init__()
        self.forms, self.current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.current = {"action": unescape(attrs.get("action") or ""), "data": {}}
            self.forms.append(self.current)
        elif self.current is not None and tag in ("input", "select", "textarea") and attrs.get("name"):
            name = attrs["name"]
            kind = attrs.get("type") if tag == "input" else tag
            if kind == "hidden":
                self.current["data"][name] = attrs.get("value") or ""
            elif kind not in ("checkbox", "radio", "submit", "file"):  # those stay unticked, unchosen
                self.current["data"].setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def visit(client, start="/"):
    """Every page reachable from ``start`` (one per address pattern), then every POST form found on
    them sent with its visible fields empty; yields (what, response) for each HTML answer."""
    seen, queue, forms = set(), [start], {}
    while queue and len(seen) < LIMIT:
        path = queue.pop(0)
        if pattern(path) in seen or SKIP.search(path):
            continue
        seen.add(pattern(path))
        response = client.get(path)
        if response.status_code in (301, 302) and response["Location"].startswith("/"):
            queue.append(urlsplit(response["Location"]).path)
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        yield f"GET {path}", response
        text = response.content.decode()
        for href in re.findall(r'href="(/[^"#]*)"', text):
            queue.append(urlsplit(unescape(href)).path)
        parser = Forms()
        parser.feed(text)
        for form in parser.forms:
            action = urlsplit(form["action"] or path).path
            if pattern(action) not in forms and not SKIP_ACTIONS.search(action) and not SKIP.search(action):
                forms[pattern(action)] = (action, form["data"])
    for action, data in forms.values():
        response = client.post(action, data)
        if response.get("Content-Type", "").startswith("text/html") and response.status_code != 302:
            yield f"POST {action}", response


def error_states(client):
    """The branded error pages and the expired form as ``client``'s person meets them."""
    yield "404", client.get("/gibt-es-nicht/")
    yield "405", client.get("/inbox/assign/")  # a form address opened by a program
    with override_settings(DEBUG=True, DEBUG_PAGES=False):
        yield "404 in the demo", client.get("/gibt-es-nicht/")
    for path in ("/triage/", "/inbox/", "/cooperation/report/"):
        response = client.get(path)
        if response.status_code == 403:
            yield f"403 {path}", response


def boom_and_csrf(language, personas):
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    client.cookies["django_language"] = language
    client.force_login(personas.police_hilden)
    with override_settings(ROOT_URLCONF="tests.test_error_pages", DEBUG=False):
        yield "500", client.get("/test-boom/")
    yield "CSRF", client.post("/referrals/new/", {})


def login_states(language):
    client = Client()
    client.cookies["django_language"] = language
    yield "login", client.get("/accounts/login/")
    yield "failed login", client.post("/accounts/login/", {"username": "police_hilden", "password": "falsch-geraten"})
    yield "empty login", client.post("/accounts/login/", {"username": "", "password": ""})


def world(personas):
    make_referral(personas.police_hilden)  # to Jugendamt Hilden
    make_referral(personas.police_hilden, postcode="99999", city="Nirgendwo")  # triage
    make_referral(personas.police_hilden, submit=False)  # a draft
    meetings_world(personas)


def data_values() -> list[str]:
    """Every text stored in the database (the data a page shows is German whatever the language)."""
    values = set()
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, (models.CharField, models.TextField))]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            values.update(v for v in row if isinstance(v, str) and len(v) > 2)
    for model in apps.get_models():
        if model._meta.label == "auth.User":
            values.update(name for user in model.objects.all() if len(name := user.get_full_name()) > 2)
    return sorted(values, key=len, reverse=True)


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<(input|textarea|select)\b[^>]*>", " ", html)  # what a person typed stays as typed
    html = re.sub(r"<[^>]+>", " ", html)
    return unescape(html)


def german_in(html: str, data: list[str]) -> list[str]:
    text = visible_text(html)
    for value in data:
        text = text.replace(value, " ")
    text = INTENDED.sub(" ", text)
    found = []
    for match in GERMAN.finditer(text):
        start = max(0, match.start() - 40)
        found.append(re.sub(r"\s+", " ", text[start : match.end() + 40]).strip())
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_failed_forms_and_error_pages_are_german(client, personas, persona, untranslated):  # noqa: F811
    world(personas)
    client.force_login(getattr(personas, persona))
    client.raise_request_exception = False
    states = [*visit(client), *error_states(client)]
    assert any(what.startswith("POST") for what, _response in states), "no form was sent"
    for what, response in states:
        assert response.status_code < 500, (what, response.status_code)
    assert not untranslated, sorted(untranslated)


@pytest.mark.django_db
def test_login_500_and_csrf_pages_are_german(personas, untranslated):  # noqa: F811
    states = [*login_states("de"), *boom_and_csrf("de", personas)]
    assert [r.status_code for _w, r in states] == [200, 200, 200, 500, 403]
    assert not untranslated, sorted(untranslated)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_no_german_in_the_english_interface(client, personas, persona):
    world(personas)
    client.force_login(getattr(personas, persona))
    client.cookies["django_language"] = "en"
    client.raise_request_exception = False
    states = [*visit(client), *error_states(client)]
    data = data_values()
    leaks = {what: found for what, response in states if (found := german_in(response.content.decode(), data))}
    assert not leaks, leaks


@pytest.mark.django_db
def test_no_german_on_the_english_login_500_and_csrf_pages(personas):
    states = [*login_states("en"), *boom_and_csrf("en", personas)]
    data = data_values()
    leaks = {what: found for what, response in states if (found := german_in(response.content.decode(), data))}
    assert not leaks, leaks


def test_the_check_sees_german_in_english():
    assert german_in("<p>Please try again. <b>Bitte</b> erneut versuchen.</p>", [])
    assert german_in("<h1>Zurück zur Übersicht</h1>", [])
    assert not german_in("<p>Referral to Jugendamt Hilden (Mitteilung) for Mia Müller</p>", ["Mia Müller"])
    assert not german_in('<input value="Straße"><script>var s = "für";</script><p>Street</p>', [])
