"""Name normalisation for search: one function used when names are stored and when queries arrive.

`normalize_name` turns any name into a short ASCII key of lower-case words, so that a query typed in
another script, without the legal form or with different punctuation compares equal to the listed name:

    "SINNO ELECTRONICS CO., LIMITED"      -> "sinno electronics"
    'ООО "Ромашка"'                       -> "romashka"
    "中国保利集团有限公司"                  -> "zhongguobaolijituan"
    "PENG, Bo"                            -> "peng bo"

The steps lean on rigour (the OpenSanctions name library): Unicode case folding and name tokenisation
(`rigour.text.normalize` with `Normalize.NAME`), removal of legal forms from its ISO 20275 / OCCRP table
(`rigour.names.remove_org_types`), and transliteration to ASCII (`rigour.text.ascii_text`, which covers
Cyrillic, Greek, Han, Arabic, kana, Hangul ...). Legal forms go *before* transliteration: the table knows
`ООО` and `общество с ограниченной ответственностью`, not their romanisations.

Two gaps in that table are filled here, each with a short explicit list:
- Chinese and Japanese legal forms (有限公司, 株式会社 ...): rigour matches forms at word boundaries, and
  Han text has none, so they are cut as suffixes of a Han token.
- English generic words rigour deliberately keeps (`co`, `company`, `corp`, `corporation`, `inc`) because
  they can be part of a name; for a search key they are noise (`CO., LIMITED` would leave `co`), so they
  are dropped when they trail the name.

A token written in a dense script (Han, kana, Hangul) is romanised syllable by syllable; its syllables are
joined back into one word (`保利集团` -> `baolijituan`) so the key does not depend on where a romaniser puts
spaces. Stored `entity_names.normalized` values are derived data: recompute them from `entity_names.name`
after changing this module (bump `NORMALIZER_VERSION`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from anyascii import anyascii
from rigour.names import remove_org_types, remove_person_prefixes
from rigour.text import ascii_text
from rigour.text.normalize import Normalize, normalize
from rigour.text.scripts import text_scripts

NORMALIZER_VERSION = 3

# Case folding plus rigour's name tokenizer: punctuation and quotes split or vanish, spaces collapse.
_NAME_FLAGS = Normalize.CASEFOLD | Normalize.NAME

# Chinese (simplified and traditional) and Japanese legal forms, longest first so that
# `股份有限公司` goes as a whole rather than leaving `股份`.
_CJK_LEGAL_FORMS = tuple(
    sorted(
        {
            "股份有限公司",
            "有限责任公司",
            "有限責任公司",
            "有限公司",
            "股份公司",
            "总公司",
            "總公司",
            "分公司",
            "公司",
            "株式会社",
            "株式會社",
            "有限会社",
            "合同会社",
            "合资会社",
            "合名会社",
        },
        key=len,
        reverse=True,
    )
)

# English generic company words that rigour keeps (they may be part of a name); dropped at the end only.
_TRAILING_GENERIC = frozenset({"co", "company", "corp", "corporation", "inc", "incorporated", "cos"})

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_DENSE_SCRIPTS = frozenset({"Han", "Hiragana", "Katakana", "Hangul"})

# Scripts rigour romanises well (its keys are what stored names already hold). Any other script (Khmer,
# Burmese, Thai, Lao, Tibetan, the Indic scripts, Ethiopic ...) goes through anyascii, which covers all of
# Unicode: rigour returns nothing for Khmer and reads Devanagari letter by letter ("valadimira patina").
_RIGOUR_SCRIPTS = frozenset(
    {"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew", "Georgian",
     "Armenian", "Common", "Inherited"}
)  # fmt: skip

# rigour reports these long script names; the short forms are what entity_names.script stores.
_SCRIPT_NAMES = {"Han": "Han", "Hiragana": "Japanese", "Katakana": "Japanese", "Hangul": "Hangul"}


def detect_script(text: str) -> str | None:
    """The dominant writing system of a name: `Latin`, `Cyrillic`, `Han`, `Arabic`, `Japanese` ...

    Args:
        text: a name in any script.
    Returns:
        The script with the most letters (ties go to the first seen), or None when there are no letters.
    """
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        scripts = text_scripts(ch)
        if not scripts:
            continue
        script = next(iter(scripts))
        script = _SCRIPT_NAMES.get(script, script)
        counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def is_dense(text: str) -> bool:
    """Whether the text is written (partly) in a script without spaces between words (Han, kana, Hangul)."""
    return not text.isascii() and bool(text_scripts(text) & _DENSE_SCRIPTS)


def _strip_cjk_legal_form(token: str) -> str:
    """`中国保利集团有限公司` -> `中国保利集团`, `株式会社東芝` -> `東芝`; a bare legal form is kept."""
    changed = True
    while changed:
        changed = False
        for form in _CJK_LEGAL_FORMS:
            if len(token) <= len(form):
                continue
            if token.endswith(form):
                token, changed = token[: -len(form)], True
            elif token.startswith(form):  # Japanese puts 株式会社 before the name as often as after
                token, changed = token[len(form) :], True
            if changed:
                break
    return token


def _romanise(token: str) -> str:
    """One name token to ASCII alphanumerics; dense scripts become one word, not one per syllable."""
    if token.isascii():
        return _NON_ALNUM.sub("", token)
    if text_scripts(token) & _DENSE_SCRIPTS:
        token = _strip_cjk_legal_form(token)
    # One token in, one word out: a romaniser's inner spaces or marks (Arabic ayin -> "?") are dropped.
    return _NON_ALNUM.sub("", ascii_text(token).lower())


def _without_legal_forms(folded: str) -> str:
    """Remove legal forms with rigour, repeatedly (`co ltd limited`); keep the name if nothing is left."""
    current = folded
    for _ in range(3):
        stripped = remove_org_types(current, normalize_flags=_NAME_FLAGS)
        stripped = " ".join(stripped.split())
        if not stripped or stripped == current:
            break
        current = stripped
    return current


def _drop_trailing_generic(words: list[str]) -> list[str]:
    while len(words) > 1 and words[-1] in _TRAILING_GENERIC:
        words = words[:-1]
    return words


@lru_cache(maxsize=50_000)
def normalize_name(text: str) -> str:
    """Fold a name to its search key: ASCII, lower case, legal forms removed, words split by one space.

    Args:
        text: a name or a query in any script, with or without legal form and punctuation.
    Returns:
        The key, e.g. `ООО "Ромашка"` -> `romashka`, `KING PAI TECHNOLOGY CO., LTD.` ->
        `king pai technology`; an empty string when the text has no letters or digits.
    """
    if not text.isascii() and text_scripts(text) - _RIGOUR_SCRIPTS:
        # Before rigour's tokenizer, which drops the vowel signs these scripts write as combining marks.
        text = anyascii(text)
    folded = normalize(text, _NAME_FLAGS) or ""
    if not folded:
        return ""
    words: list[str] = []
    for token in _without_legal_forms(folded).split():
        romanised = _romanise(token)
        if romanised:
            words.append(romanised)
    if not words:
        # A name that is nothing but a legal form ("LLC"): keep it rather than lose the row.
        words = [w for w in map(_romanise, folded.split()) if w]
    elif not all(token.isascii() for token in folded.split()):
        # Mixed or non-Latin text can reveal a legal form only once romanised ("Sа" with a Cyrillic а);
        # a second pass keeps the key stable: normalize_name(key) == key.
        words = _without_legal_forms(" ".join(words)).split()
    return " ".join(_drop_trailing_generic(words))


def compact(normalized: str) -> str:
    """The key without spaces (`king pai` -> `kingpai`), to compare names whose word breaks differ."""
    return normalized.replace(" ", "")


# Romanised titles that rigour's list (English, German, Italian) lacks, as they arrive from other scripts.
_EXTRA_TITLES = frozenset({"prezident", "gospodin", "gospozha", "sheikh", "shaikh", "sheik", "shaykh"})


def strip_titles(key: str) -> str:
    """A query key without leading titles and honorifics (`president putin` -> `putin`), rigour's list first.

    Query side only: a stored name such as `PRESIDENT HOTEL` keeps its words. At least one word stays.
    """
    words = key.split()
    while len(words) > 1:
        rest = remove_person_prefixes(" ".join(words)).split()
        if rest and rest != words:
            words = rest
        elif words[0] in _EXTRA_TITLES:
            words = words[1:]
        else:
            break
    return " ".join(words)


_IDENTIFIER_PREFIX = re.compile(r"^(IMO|MMSI|INN|OGRN|OGRNIP|KPP|USCC|UNSC|EIN|TIN|VAT|REG)(?=\d)")


def identifier_key(text: str) -> str:
    """A registration, tax, IMO ... number as compared: letters and digits only, upper case, a scheme word
    (`IMO 9187629`) and leading zeros dropped. Empty when it has no digit or fewer than 4 characters."""
    key = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    key = _IDENTIFIER_PREFIX.sub("", key).lstrip("0")
    return key if len(key) >= 4 and any(ch.isdigit() for ch in key) else ""
