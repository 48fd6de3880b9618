"""In-memory autocomplete for commodities and countries: no database round trip per keystroke.

Built once at start from the lookups (aliases, countries) and the HS nomenclature (a few thousand rows).
Discord shows at most 25 choices; a choice's name and value are at most 100 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from db.lookups import Lookups
from db.text import fold

MAX_CHOICES = 25
MAX_CHOICE_TEXT = 100


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete choice: what the user sees and what the command receives."""

    name: str
    value: str

    def clipped(self) -> Suggestion:
        name = self.name if len(self.name) <= MAX_CHOICE_TEXT else self.name[: MAX_CHOICE_TEXT - 1] + "…"
        return Suggestion(name, self.value[:MAX_CHOICE_TEXT])


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _spaced(text: str) -> str:
    """` word1 word2 …`: a query word starts a word of the text iff `" " + word` is in it."""
    return " " + " ".join(_words(text))


def _word_prefix_match(query_words: list[str], spaced_text: str) -> bool:
    """Every query word starts some word of the text (`alu ox` matches `aluminium oxide`)."""
    return all(" " + q in spaced_text for q in query_words)


def _dedupe(suggestions: Iterable[Suggestion], limit: int) -> list[Suggestion]:
    out: list[Suggestion] = []
    seen: set[str] = set()
    for s in suggestions:
        if s.value in seen or not s.value:
            continue
        seen.add(s.value)
        out.append(s.clipped())
        if len(out) >= limit:
            break
    return out


@dataclass(frozen=True)
class _HsEntry:
    code: str
    description: str
    spaced: str


class CommoditySuggester:
    """Aliases first (`chips`, `aluminium oxide`), then HS codes by code prefix or description words."""

    def __init__(self, lookups: Lookups, hs_codes: Iterable[tuple[str, str]] = ()) -> None:
        self.aliases: list[tuple[str, str, str]] = []  # (folded alias, alias, label with codes)
        for commodity in lookups.commodities:
            codes = ", ".join(commodity.codes)
            for alias in dict.fromkeys((commodity.key, *commodity.aliases)):
                self.aliases.append((fold(alias), alias, f"{commodity.label} (HS {codes})"))
        # All goods and the CHPL tiers are commodities too (commands.resolve.special_commodity).
        for word in ("total", "all goods"):
            self.aliases.append((word, word, "all goods: the source's all-goods TOTAL rows"))
        for tier in lookups.chpl.tiers:
            name = f"CHPL tier {tier.tier}"
            self.aliases.append((fold(name), name, f"{tier.title} ({len(tier.codes)} HS-6 codes)"))
        # Short codes first: a heading (8542) before its subheadings (854231 ...).
        self.hs = sorted(
            (_HsEntry(code, desc, _spaced(fold(desc))) for code, desc in hs_codes if code.isdigit()),
            key=lambda e: (len(e.code), e.code),
        )

    def suggest(self, text: str, limit: int = MAX_CHOICES) -> list[Suggestion]:
        """Up to `limit` choices for what the user has typed so far."""
        query = fold(text)
        if not query:
            # Nothing typed yet: one alias per commodity group, in the file's order.
            firsts = {label: alias for _, alias, label in reversed(self.aliases)}
            return _dedupe(
                (Suggestion(f"{alias} — {label}", alias) for label, alias in reversed(firsts.items())), limit
            )
        if query.replace(" ", "").isdigit():
            digits = query.replace(" ", "")
            return _dedupe((self._hs_choice(e) for e in self.hs if e.code.startswith(digits)), limit)
        words = _words(query)
        starts = [a for a in self.aliases if a[0].startswith(query)]
        contains = [
            a for a in self.aliases if not a[0].startswith(query) and _word_prefix_match(words, _spaced(a[0]))
        ]
        hs_hits = [e for e in self.hs if _word_prefix_match(words, e.spaced)]
        # Descriptions that start with the word come first (`bearing` before `...; bearing housings`).
        hs_hits.sort(key=lambda e: e.spaced.find(" " + words[0]))
        choices = [Suggestion(f"{alias} — {label}", alias) for _, alias, label in starts + contains]
        return _dedupe([*choices, *(self._hs_choice(e) for e in hs_hits)], limit)

    @staticmethod
    def _hs_choice(entry: _HsEntry) -> Suggestion:
        return Suggestion(f"{entry.code} — {entry.description}", entry.code)


class CountrySuggester:
    """Countries by ISO code, name or alias (`RU`, `Rus`, `Türkiye`, `Hong Kong`)."""

    def __init__(self, lookups: Lookups) -> None:
        self.entries: list[tuple[str, str, str]] = []  # (folded label, display name, value)
        by_code = {c.code: c for c in lookups.countries}
        for country in lookups.countries:
            value = country.iso2 or str(country.code)
            display = f"{country.name} ({country.iso2})" if country.iso2 else country.name
            for label in (country.name, country.iso3 or "", country.iso2 or ""):
                if label:
                    self.entries.append((fold(label), display, value))
        for alias, country in lookups.country_index.items():
            target = by_code.get(country.code, country)
            value = target.iso2 or str(target.code)
            self.entries.append((alias, f"{alias.title()} → {target.name}", value))

    def suggest(self, text: str, limit: int = MAX_CHOICES) -> list[Suggestion]:
        """Exact codes first, then names and aliases starting with the text, then any word match."""
        query = fold(text)
        if not query:
            return []
        exact = [e for e in self.entries if e[0] == query]
        starts = sorted(
            (e for e in self.entries if e[0].startswith(query) and e[0] != query),
            key=lambda e: (len(e[0]), e[0]),
        )
        words = _words(query)
        others = [
            e for e in self.entries if not e[0].startswith(query) and _word_prefix_match(words, _spaced(e[0]))
        ]
        # The plain country name reads better than an alias when both point to the same country.
        ranked = sorted(exact, key=lambda e: "→" in e[1]) + starts + others
        return _dedupe((Suggestion(display, value) for _, display, value in ranked), limit)
