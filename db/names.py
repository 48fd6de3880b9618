"""Name normalisation for search: one function used when names are stored and when queries arrive.

First version; the entity-search work owns and refines it. Stored `entity_names.normalized` values are
derived data and can be recomputed from `entity_names.name`.
"""

from __future__ import annotations

import re
import unicodedata

from rigour.names import remove_org_types
from rigour.text import ascii_text

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def detect_script(text: str) -> str | None:
    """The dominant Unicode script of a name: Latin, Cyrillic, Han, Arabic ... (None if no letters)."""
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        try:
            script = unicodedata.name(ch).split(" ")[0]
        except ValueError:
            continue
        script = {"CJK": "Han"}.get(script, script.title())
        counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def normalize_name(text: str) -> str:
    """Fold a name to a comparable ASCII form without legal forms: `ООО "Ромашка"` -> `romaska`."""
    folded = remove_org_types(text)
    ascii = ascii_text(folded) or ""
    return _NON_ALNUM.sub(" ", ascii.lower()).strip()
