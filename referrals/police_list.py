"""The police list's search and badges (issue 14 §3): find a referral of one's station by police case
number, reference or the child's family name; each row says whether a question of the youth office
waits for an answer. Reads only: every query narrows ``selectors.station_referrals_for`` (the scope).

Names are compared by the rules of ``core.text.normalize_name`` (docs/domain.md "Wiederholte
Mitteilungen (Fingerabdruck)"): "Mueller" finds "Müller" and "Müller" finds "Mueller", "Strauss"
finds "Strauß" — as spellings of the typed word, each a contains-match on the trigram indexes of
migration ``referrals/0012`` (no stored copy of the normalised name, no scan of the table).
"""

from django.db import connection
from django.db.models import Q

from core.text import GERMAN_EQUIVALENCES, normalize_name

from .models import Child, Referral

SEARCH_TERMS = 3  # words of one search
MAX_TERM = 100
# Trigram indexes answer only patterns of at least three characters; a shorter word (or spelling)
# would make PostgreSQL read every child and referral, so it is left out of the search.
MIN_TERM = 3


def name_spellings(term: str) -> list[str]:
    """The typed word and its other German spellings: as typed, normalised (ä → ae, ß → ss, accents
    dropped: ``normalize_name``), and the normalised form written back with umlauts and ß — not for a
    word with digits (a case number). At most five (the umlauted form capitalised too, where it starts
    with an umlaut), each at least ``MIN_TERM`` characters and one more contains-match on the same index."""
    typed = term.strip().casefold()
    spellings = [typed]
    if not any(char.isdigit() for char in typed):  # a case number or reference is no name
        folded = normalize_name(typed)
        umlauted = folded
        for letter, plain in GERMAN_EQUIVALENCES.items():
            umlauted = umlauted.replace(plain, letter)
        spellings += [folded, umlauted, umlauted.replace("ss", "ß")]
        if not umlauted[:1].isascii():  # SQLite folds the case of ASCII letters only: "Öztürk" ≠ "öztürk"
            spellings.append(umlauted[:1].upper() + umlauted[1:])
    return [s for s in dict.fromkeys(spellings) if len(s) >= MIN_TERM]


def police_search_q(term: str) -> Q:
    """One search word: part of the police case number or the reference, or a spelling of a child's
    family name. On PostgreSQL the matches come as one id list from the trigram indexes (as the inbox
    search, ``selectors.search_q``), which only narrows the person's scope; elsewhere an EXISTS."""
    names = Q(pk__in=[])
    for spelling in name_spellings(term):
        names |= Q(last_name__icontains=spelling)
    own = Q(reference__icontains=term) | Q(police_case_number__icontains=term)
    if connection.vendor == "postgresql":
        child_ids = Child.objects.filter(names).order_by().values("referral_id")
        return Q(pk__in=child_ids.union(Referral.objects.filter(own).order_by().values("pk"), all=True))
    return own | Q(pk__in=Child.objects.filter(names).values("referral_id"))


def police_search(queryset, text: str):
    """``queryset`` (a scope or a branch of it) narrowed by every word of ``text``."""
    for term in [t for t in text[:MAX_TERM].split() if len(t) >= MIN_TERM][:SEARCH_TERMS]:
        queryset = queryset.filter(police_search_q(term))
    return queryset
