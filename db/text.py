"""`fold`: the one rule that makes typed text comparable with stored text (case, accents, spacing, symbols).

Lookup keys (countries, commodity aliases, list country names) keep the punctuation that is part of a name
(`côte d'ivoire`, `korea, north`, `at&t`, `sino-russian`); watch keywords are matched with every punctuation
mark as a space (`co ltd` must find `CO., LTD.`), hence the one switch. Search keys for entity names are a
different, stronger normalisation (db/names.py: legal forms, transliteration).
"""

from __future__ import annotations

import re
import unicodedata

_OTHER_THAN_KEY = re.compile(r"[^\w',.&-]+")
_OTHER_THAN_WORD = re.compile(r"[\W_]+")


def fold(text: str, *, keep_punctuation: bool = True) -> str:
    """Case- and accent-folded text, every run of spaces and other symbols as one space.

    `Türkiye` -> `turkiye`, `  Côte d'Ivoire. ` -> `cote d'ivoire`; with `keep_punctuation=False`,
    `Évren, K.` -> `evren k`.

    Args:
        keep_punctuation: keep ' , . & - inside the text (leading and trailing dots and commas go);
            False turns them into spaces too.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    pattern = _OTHER_THAN_KEY if keep_punctuation else _OTHER_THAN_WORD
    return " ".join(pattern.sub(" ", stripped).split()).strip(" .,")
