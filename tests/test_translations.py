"""No English in the German interface (issue 16 § 5): the German catalog has no empty or fuzzy
entry, and every page each persona reaches, rendered in German, asks for no message the catalog
does not translate."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from tests.factories import make_referral
from tests.test_error_pages import PERSONAS, crawl

CATALOG = Path(__file__).resolve().parents[1] / "locale" / "de" / "LC_MESSAGES" / "django.po"


def po_entries(path: Path):
    """(flags, msgid, msgstrs) of every active entry (obsolete ``#~`` entries are not used)."""
    entries, current, key = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("#~"):
            continue
        if not line.strip():
            if current and "msgid" in current:
                entries.append(current)
            current, key = None, None
            continue
        current = current or {"flags": "", "msgstr": {}}
        if line.startswith("#,"):
            current["flags"] += line[2:]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = line[1:-1]
            if key == "msgid":
                current["msgid"] += value
            elif key == "msgid_plural":
                current["msgid_plural"] += value
            elif key is not None:
                current["msgstr"][key] += value
        else:
            match = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if not match:
                continue
            key, value = match.groups()
            if key.startswith("msgstr"):
                current["msgstr"][key] = value
            else:
                current[key] = value
    return entries


def test_german_catalog_has_no_empty_or_fuzzy_entry():
    entries = po_entries(CATALOG)
    assert len(entries) > 1000
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"] and e["msgid"]]
    empty = [e["msgid"] for e in entries if e["msgid"] and not all(e["msgstr"].values())]
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert not empty, f"not translated: {empty}"


@pytest.fixture
def untranslated(monkeypatch):
    """Every msgid asked for while German is active that the German catalog does not hold."""
    missing = set()
    trans = translation._trans
    real = {name: getattr(trans_real, name) for name in ("gettext", "ngettext", "pgettext", "npgettext")}

    def catalog():
        return trans_real.translation("de")._catalog

    translations = set()

    def known(key):
        # A message that already is a German translation (Django's {% get_available_languages %}
        # translates the translated language names once more) is no English on the page.
        if not translations:
            translations.update(value for _key, value in catalog().items() if isinstance(value, str))
        return key in catalog() or key in translations

    def gettext(message):
        if translation.get_language() == "de" and message and not known(message):
            missing.add(message)
        return real["gettext"](message)

    def ngettext(singular, plural, number):
        if translation.get_language() == "de" and not known((singular, 0)) and not known(singular):
            missing.add(singular)
        return real["ngettext"](singular, plural, number)

    def pgettext(context, message):
        if translation.get_language() == "de" and not known(f"{context}\x04{message}"):
            missing.add(f"{context}|{message}")
        return real["pgettext"](context, message)

    def npgettext(context, singular, plural, number):
        if translation.get_language() == "de" and not known((f"{context}\x04{singular}", 0)):
            missing.add(f"{context}|{singular}")
        return real["npgettext"](context, singular, plural, number)

    for name, function in (
        ("gettext", gettext),
        ("ngettext", ngettext),
        ("pgettext", pgettext),
        ("npgettext", npgettext),
    ):
        monkeypatch.setattr(trans, name, function, raising=False)
    return missing


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_is_german(client, personas, persona, untranslated):
    make_referral(personas.police_hilden)  # to Jugendamt Hilden
    make_referral(personas.police_hilden, postcode="99999", city="Nirgendwo")  # triage
    make_referral(personas.police_hilden, submit=False)  # a draft
    client.force_login(getattr(personas, persona))
    titles = crawl(client)
    assert titles
    assert not untranslated, sorted(untranslated)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["police_hilden", "caseworker_hilden", "district_coordinator"])
def test_every_page_renders_in_english(client, personas, persona):
    make_referral(personas.police_hilden)
    client.force_login(getattr(personas, persona))
    client.cookies["django_language"] = "en"
    session = client.session
    session["_language"] = "en"
    session.save()
    titles = crawl(client)
    assert titles


def test_the_check_sees_a_message_without_translation(untranslated):
    from django.template import Context, Template

    with translation.override("de"):
        Template("{% load i18n %}{% translate 'Cancel' %} {% translate 'A message nobody translated' %}").render(
            Context()
        )
    assert untranslated == {"A message nobody translated"}


APPS = ("agencies", "referrals", "meetings", "notifications", "core", "config")
RAISED = {"ValidationError", "PermissionDenied", "NotFound", "ParseError", "APIException", "Response", "JsonResponse"}
TRANSLATING = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "unknown_value"}


def _callee(node) -> str | None:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)


def untranslated_messages(root: Path) -> list[str]:
    """Sentences (capitalised, with a space) written into an error or answer without gettext: they
    would reach a German caller in English (QA of 2026-12-05 found 25 in the API)."""
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and _callee(node.func) in RAISED):
                    continue
                translated = {
                    id(inner)
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call) and _callee(call.func) in TRANSLATING
                    for inner in ast.walk(call)
                }
                for inner in ast.walk(node):
                    if id(inner) in translated:
                        continue
                    text = inner.value if isinstance(inner, ast.Constant) and isinstance(inner.value, str) else None
                    if isinstance(inner, ast.JoinedStr) or (text and " " in text and text[:1].isupper()):
                        found.append(f"{path.relative_to(root)}:{inner.lineno}")
    return found


def test_no_error_message_is_written_without_gettext():
    assert not untranslated_messages(Path(__file__).resolve().parents[1])
