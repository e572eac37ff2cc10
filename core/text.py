"""Text normalisation shared by several apps: people's names in every script, and digits.

The rules are written down in ``docs/domain.md`` ("Wiederholte Mitteilungen (Fingerabdruck)");
change them there and here together, and rebuild the stored fingerprints with a migration.
"""

import unicodedata

# German spelling equivalences (after case folding, which already turns ß and ẞ into "ss"): a name
# written with umlauts and the same name typed without them are one name (Müller = Mueller).
# ü is not u: "Muller" stays a different name.
GERMAN_EQUIVALENCES = {"ä": "ae", "ö": "oe", "ü": "ue"}

# Latin letters with a stroke or ligatures that Unicode does not decompose into letter + mark, and
# that German keyboards and registers write as plain letters (Turkish ı, Polish ł, Danish ø ...).
# Cyrillic ё is routinely written as е in Russian; й is a letter of its own and stays.
LETTER_EQUIVALENCES = {"ı": "i", "ł": "l", "đ": "d", "ø": "oe", "æ": "ae", "œ": "oe", "ё": "е"}

# Scripts whose combining marks are accents or optional vowel points that are often left off: the
# name is the same with or without them (é = e; Greek capitals carry no tonos; Arabic harakat and
# Hebrew niqqud are usually not written). In every other script (Cyrillic, Devanagari, Thai ...)
# a mark is part of the letter and is kept.
_MARKS_OPTIONAL_AFTER = ("LATIN ", "GREEK ")
_OPTIONAL_MARKS = ("ARABIC ", "HEBREW ")


def _script_of(char: str) -> str:
    return unicodedata.name(char, "")


def normalize_name(name: str | None) -> str:
    """A person's name reduced to what identifies it, in any script; "" if nothing is left.

    NFKC (full-width and compatibility forms become ordinary letters), case folding, the German and
    letter equivalences above, optional marks dropped (see above); only letters and the marks that
    belong to them remain — spaces, hyphens, apostrophes, punctuation, digits, symbols and invisible
    format characters are dropped, so "Anna-Lena", "Anna Lena" and "annalena" are one name.
    """
    text = unicodedata.normalize("NFKC", name or "").casefold()
    for table in (GERMAN_EQUIVALENCES, LETTER_EQUIVALENCES):
        for letter, plain in table.items():
            text = text.replace(letter, plain)
    kept: list[str] = []
    base = ""  # name of the letter the following marks belong to
    for char in unicodedata.normalize("NFD", text):
        category = unicodedata.category(char)
        if category.startswith("L"):
            base = _script_of(char)
            kept.append(char)
        elif category.startswith("M"):
            if not base or base.startswith(_MARKS_OPTIONAL_AFTER) or _script_of(char).startswith(_OPTIONAL_MARKS):
                continue  # an optional accent or vowel point, or a mark without a letter
            kept.append(char)
        else:
            base = ""  # a separator: marks after it belong to no letter
    return unicodedata.normalize("NFC", "".join(kept))


def ascii_digits(text: str | None) -> str:
    """``text`` with every decimal digit of any script (full-width ４, Arabic-Indic ٤, Devanagari ४ ...)
    replaced by its ASCII digit, and surrounding whitespace removed. Other characters stay as they
    are, so a validator can still refuse them."""
    result = []
    for char in (text or "").strip():
        value = unicodedata.decimal(char, None) if not char.isascii() else None
        result.append(str(value) if value is not None else char)
    return "".join(result)


def is_number(text: str | None) -> bool:
    """A whole number written in ASCII digits only: ``str.isdigit`` (and ``int``) also take full-width
    and other scripts' digits, which a query parameter may not use (the API's fields refuse them too)."""
    return text is not None and text.isascii() and text.isdigit()
