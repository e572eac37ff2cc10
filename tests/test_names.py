"""The repeat-referral fingerprint: names in every script, German equivalences, refusal of empty
names, and a bounded repeat event (docs/domain.md, "Wiederholte Mitteilungen (Fingerabdruck)")."""

import datetime
import html
import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from core.text import ascii_digits, normalize_name
from referrals import services
from referrals.models import ChildFingerprint, ReferralEvent
from tests.factories import make_referral

BIRTH = datetime.date(2018, 6, 1)


def digest(first, last, born=BIRTH):
    return services.child_digest(first_name=first, last_name=last, date_of_birth=born)


# --- the normaliser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "محمد",  # Arabic
        "Дмитрий",  # Cyrillic
        "Γιώργος",  # Greek
        "王小明",  # Chinese
        "अर्जुन",  # Devanagari
        "אברהם",  # Hebrew
        "ひなた",  # Japanese
        "민준",  # Korean
    ],
)
def test_names_in_every_script_keep_their_letters(name):
    assert normalize_name(name)
    assert normalize_name(name) == normalize_name(f"  {name} ")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Müller", "Mueller"),
        ("MÜLLER", "mueller"),
        ("Strauß", "Strauss"),
        ("STRAUẞ", "strauss"),
        ("Jörg", "Joerg"),
        ("Bär", "Baer"),
        ("René", "Rene"),
        ("Çelik", "Celik"),
        ("Yıldız", "Yildiz"),
        ("İlhan", "Ilhan"),
        ("Łukasz", "Lukasz"),
        ("Anna-Lena", "Anna Lena"),
        ("O'Brien", "OBrien"),
        ("Ｍｉａ", "Mia"),  # full-width
        ("Müller", "Mu\u0308ller"),  # composed and decomposed umlaut
        ("ΝΙΚΟΣ", "Νίκος"),  # Greek capitals carry no tonos; final sigma
        ("Алёна", "Алена"),  # Russian ё is commonly written е
        ("مُحَمَّد", "محمد"),  # Arabic vowel points are optional
        ("عبد الله", "عبدالله"),
        ("שָׂרָה", "שרה"),  # Hebrew niqqud is optional
    ],
)
def test_equivalent_spellings_normalise_alike(a, b):
    assert normalize_name(a) == normalize_name(b) != ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Müller", "Muller"),  # ü is ue, not u
        ("محمد", "أحمد"),  # Muhammad and Ahmad
        ("Йован", "Иован"),  # й is a letter of its own
        ("Дмитрий", "Дмитрии"),
        ("राम", "रमा"),  # Devanagari vowel signs are part of the letter
        ("王小明", "王小红"),
        ("Γιώργος", "Γιάννης"),
    ],
)
def test_different_names_stay_different(a, b):
    assert normalize_name(a) != normalize_name(b)


@pytest.mark.parametrize("name", ["", "   ", "---", "?!.", "'’", "123", "\u200d\u200c", "\u0301", None])
def test_a_name_without_letters_normalises_to_nothing(name):
    assert normalize_name(name) == ""


# --- the fingerprint --------------------------------------------------------------------------------


def test_two_different_arabic_names_born_the_same_day_do_not_match():
    assert digest("محمد", "حسن") != digest("أحمد", "علي")
    assert digest("Дмитрий", "Иванов") != digest("Сергей", "Петров")
    assert digest("Γιώργος", "Παπαδόπουλος") != digest("Νίκος", "Οικονόμου")
    assert digest("小明", "王") != digest("小红", "李")
    assert digest("अर्जुन", "शर्मा") != digest("रोहन", "वर्मा")
    assert digest("אברהם", "כהן") != digest("יצחק", "לוי")


def test_the_same_name_matches_in_every_script():
    for first, last in [("محمد", "حسن"), ("Дмитрий", "Иванов"), ("小明", "王"), ("अर्जुन", "शर्मा"), ("שרה", "כהן")]:
        assert digest(first, last) == digest(f" {first}", f"{last} ") is not None
    assert digest("ΝΙΚΟΣ", "ΟΙΚΟΝΟΜΟΥ") == digest("Νίκος", "Οικονόμου")


def test_german_equivalences_match():
    assert digest("Jörg", "Müller") == digest("Joerg", "Mueller") == digest("JÖRG", "MÜLLER")
    assert digest("Lea", "Strauß") == digest("lea", "Strauss")
    assert digest("Lea", "Müller") != digest("Lea", "Muller")
    assert digest("Lea", "Müller") != digest("Lea", "Müller", BIRTH + datetime.timedelta(days=1))


def test_no_fingerprint_without_letters_or_date():
    assert digest("...", "Müller") is None
    assert digest("Lea", "--") is None
    assert digest("?", "!") is None
    assert digest("Lea", "Müller", None) is None


def _child(first, last, born="2018-06-01"):
    return {"first_name": first, "last_name": last, "date_of_birth": born, "sex": "female"}


def test_unrelated_children_with_non_latin_names_are_not_reported_as_repeats(personas):
    """The bug: every non-Latin name normalised to "", so two unrelated children born on the same
    day were "the same child" and the second office was told of the first's case."""
    make_referral(personas.police_velbert, postcode="42551", city="Velbert", children=[_child("محمد", "حسن")])
    other = make_referral(personas.police_hilden, children=[_child("أحمد", "علي")])
    assert not ReferralEvent.objects.filter(referral=other, kind="repeat").exists()
    same = make_referral(personas.police_hilden, children=[_child("مُحَمَّد", "حسن")])
    assert ReferralEvent.objects.get(referral=same, kind="repeat").data["count"] == 1


def test_a_child_whose_name_has_no_letters_gets_no_fingerprint(personas):
    make_referral(personas.police_velbert, postcode="42551", city="Velbert", children=[_child("?", "-")])
    second = make_referral(personas.police_hilden, children=[_child("!", ".")])
    assert not ChildFingerprint.objects.filter(referral=second).exists()
    assert not ReferralEvent.objects.filter(referral=second, kind="repeat").exists()


# --- bounded repeat event ---------------------------------------------------------------------------


def test_the_repeat_event_keeps_the_most_recent_matches_and_the_count(personas, settings):
    settings.REPEAT_MATCHES_SHOWN = 3
    first = make_referral(personas.police_hilden, children=[_child("Lea", "Müller")])
    fp = ChildFingerprint.objects.get(referral=first)
    start = timezone.now() - datetime.timedelta(days=100)
    ChildFingerprint.objects.bulk_create(
        ChildFingerprint(
            digest=fp.digest, referral=first, office=fp.office, received_at=start + datetime.timedelta(days=i)
        )
        for i in range(7)
    )  # seven earlier receipts of the same child (rows of one referral stand for several)
    fp.received_at = start - datetime.timedelta(days=1)
    fp.save()
    later = make_referral(personas.police_hilden, children=[_child("LEA", "Mueller")])
    data = ReferralEvent.objects.get(referral=later, kind="repeat").data
    assert data["count"] == 8
    assert len(data["earlier"]) == 3
    assert [e["date"] for e in data["earlier"]] == [
        timezone.localtime(start + datetime.timedelta(days=i)).date().isoformat() for i in (6, 5, 4)
    ]
    assert {e["referral"] for e in data["earlier"]} == {first.pk}  # own office: with the link


def test_the_repeat_check_runs_a_fixed_number_of_queries(personas):
    first = make_referral(personas.police_hilden, children=[_child("Lea", "Müller"), _child("Tim", "Müller")])
    fps = list(ChildFingerprint.objects.filter(referral=first))
    ChildFingerprint.objects.bulk_create(
        ChildFingerprint(
            digest=fp.digest,
            referral=first,
            office=fp.office,
            received_at=fp.received_at - datetime.timedelta(days=day),
        )
        for fp in fps
        for day in range(1, 31)
    )  # 30 earlier receipts, each of both children: 31 matches (one per receipt, not per child)
    later = make_referral(
        personas.police_hilden, submit=False, children=[_child("Lea", "Müller"), _child("Tim", "Mueller")]
    )
    later.received_at, later.youth_office = timezone.now(), first.youth_office
    with CaptureQueriesContext(connection) as queries:
        services._repeat_check(later, personas.police_hilden)
    # children, the most recent matches, their count, the new fingerprints, the event
    assert len(queries) == 5, [q["sql"] for q in queries]
    data = ReferralEvent.objects.get(referral=later, kind="repeat").data
    assert data["count"] == 31 and len(data["earlier"]) == 10


def test_few_matches_need_no_count_query(personas):
    first = make_referral(personas.police_hilden, children=[_child("Lea", "Müller")])
    later = make_referral(personas.police_hilden, submit=False, children=[_child("Lea", "Mueller")])
    later.received_at, later.youth_office = timezone.now(), first.youth_office
    with CaptureQueriesContext(connection) as queries:
        services._repeat_check(later, personas.police_hilden)
    assert len(queries) == 4, [q["sql"] for q in queries]
    assert ReferralEvent.objects.get(referral=later, kind="repeat").data["count"] == 1


# --- the migration that rebuilds stored fingerprints -----------------------------------------------


def test_the_migration_rebuilds_fingerprints_from_the_children(personas):
    from django.apps import apps

    rebuild = importlib.import_module("referrals.migrations.0007_fingerprint_names_and_bounds").rebuild_fingerprints
    referral = make_referral(personas.police_hilden, children=[_child("محمد", "حسن"), _child("Lea", "?")])
    [fp] = ChildFingerprint.objects.filter(referral=referral)
    received, office = fp.received_at, fp.office_id
    ChildFingerprint.objects.filter(referral=referral).update(digest="0" * 64)  # as the old normaliser left it
    ChildFingerprint.objects.create(
        digest="1" * 64, referral=referral, office_id=office, received_at=received - datetime.timedelta(days=3)
    )  # an earlier receipt at the same office (a returned forward)
    rebuild(apps, None)
    rows = ChildFingerprint.objects.filter(referral=referral).order_by("received_at")
    expected = digest("محمد", "حسن", datetime.date(2018, 6, 1))
    assert [(r.digest, r.received_at, r.office_id) for r in rows] == [
        (expected, received - datetime.timedelta(days=3), office),
        (expected, received, office),
    ]


def test_ascii_digits():
    assert ascii_digits("４０７２３") == "40723"
    assert ascii_digits("٤٠٧٢٣") == "40723"
    assert ascii_digits("۴۰۷۲۳") == "40723"  # Persian
    assert ascii_digits("४०७२३") == "40723"  # Devanagari
    assert ascii_digits(" 40723 ") == "40723"
    assert ascii_digits("4⁰723") == "4⁰723"  # a superscript is no decimal digit: left for the validator


def test_the_office_page_lists_the_most_recent_and_says_how_many_in_all(client, personas, settings):
    settings.REPEAT_MATCHES_SHOWN = 2
    for _i in range(3):
        make_referral(personas.police_velbert, postcode="42551", city="Velbert", children=[_child("Lea", "Müller")])
    later = make_referral(personas.police_hilden, children=[_child("Lea", "Mueller")])
    client.force_login(personas.caseworker_hilden)
    with translation.override("de"):
        content = client.get(reverse("referrals:detail", args=[later.pk])).content.decode()
        expected = ngettext(
            "%(total)s earlier referral was found in all; the most recent are listed.",
            "%(total)s earlier referrals were found in all; the most recent are listed.",
            3,
        ) % {"total": 3}
    assert expected in html.unescape(content)
