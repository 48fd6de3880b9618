"""Resolve what a reporter types into codes: countries, commodities (aliases, HS codes, words), years, flows.

Commodity words are matched in this order: an alias from `commodities.yml`; an HS code (2, 4 or 6 digits,
checked against the loaded nomenclature); a close misspelling of an alias; words matched against HS
descriptions. When words match several unrelated codes equally well we raise `Ambiguous` with the
candidates rather than guess: a reporter may quote the figure, so a wrong guess is worse than a question.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from commands.errors import Ambiguous, InvalidInput, NotFound
from commands.parse import CommandLine
from db.lookups import Country, Lookups
from db.queries import hs as hsq
from db.queries.hs import HsEntry
from db.queries.trade import ALL_GOODS_CODE
from db.text import fold

YEAR_MIN = 1988  # the Harmonized System starts in 1988; no HS-coded trade data exists before it
YEAR_MAX = 2100
FLOWS = {"exports": "X", "export": "X", "x": "X", "imports": "M", "import": "M", "m": "M"}
STOPWORDS = frozenset("a an and by for from in its of on or the their thereof to whether with".split())
TOKEN_MATCH = 85  # rapidfuzz ratio for one typed word to count as one description word (typos, plurals)
ALIAS_TYPO = 85  # ratio for a whole phrase to be read as a misspelt alias
HS_CODE = re.compile(r"^(?:hs\s*)?(\d[\d.\s]*)$", re.I)
# Words meaning all goods: they reach a source's all-goods TOTAL rows, never a sum of HS codes.
TOTAL_WORDS = frozenset({"total", "all goods", "all", "total trade", "all commodities", "all products"})
CHPL_TIER = re.compile(r"^(?:chpl|common high priority list)(?:\s*(?:tier\s*)?([0-9][a-z]?))?$")


@dataclass(frozen=True)
class ResolvedCommodity:
    """A commodity as the query will sum it."""

    query: str
    label: str
    codes: tuple[str, ...]
    kind: str  # "alias", "code" or "description"
    note: str | None = None
    alias: str | None = None
    corrected_from: str | None = None
    alternatives: tuple[str, ...] = ()
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """What titles call it: the alias's label (which says what its codes cover), or `HS 8542`."""
        if self.kind in ("alias", "total", "chpl"):
            return self.label
        return f"HS {self.codes[0]}" if len(self.codes) == 1 else "HS " + ", ".join(self.codes)

    @property
    def is_total(self) -> bool:
        return self.codes == (ALL_GOODS_CODE,)


def parse_year(value: object) -> int:
    """A four-digit year between 1988 and 2100.

    Raises:
        InvalidInput: not a number, or out of range.
    """
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}", text):
        raise InvalidInput(f"{text!r} is not a year.", "Give a four-digit year, e.g. 2023.")
    year = int(text)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidInput(f"{year} is out of range.", f"HS-coded trade data starts in {YEAR_MIN}.")
    return year


def parse_flow(value: str | None) -> str:
    """`exports`/`imports` (or X/M) to the flow code "X"/"M"; default exports.

    Raises:
        InvalidInput: anything else.
    """
    if value is None or not str(value).strip():
        return "X"
    flow = FLOWS.get(str(value).strip().lower())
    if flow is None:
        raise InvalidInput(f"Unknown flow {value!r}.", "Use flow=exports or flow=imports.")
    return flow


def country_suggestions(lookups: Lookups, text: str, limit: int = 5) -> list[str]:
    """The country names closest to `text` (names, ISO codes and aliases are all searched)."""
    keys = list(lookups.country_index)
    hits = process.extract(fold(text), keys, scorer=fuzz.WRatio, limit=limit * 4)
    names: list[str] = []
    for key, _score, _idx in hits:
        name = lookups.country_index[key].name
        if name not in names:
            names.append(name)
    return names[:limit]


def resolve_country(lookups: Lookups, text: str, role: str = "country") -> Country:
    """A country from an ISO2/ISO3 code, a Comtrade number, a name or an alias.

    Raises:
        InvalidInput: empty text.
        NotFound: unknown, with the closest country names as suggestions.
    """
    if not text or not text.strip():
        raise InvalidInput(f"The {role} is missing.", "Name a country, e.g. Russia, RU or RUS.")
    country = lookups.country(text)
    if country is None:
        raise NotFound(f"Unknown {role} {text.strip()!r}.", country_suggestions(lookups, text))
    return country


def is_country(lookups: Lookups, words: Sequence[str]) -> bool:
    return bool(words) and lookups.country(" ".join(words)) is not None


def is_commodity_token(lookups: Lookups, words: Sequence[str]) -> bool:
    """True if the words are exactly an alias, an HS code, `total` or a CHPL tier (to split a country off)."""
    text = " ".join(words)
    return bool(words) and (
        lookups.commodity(text) is not None
        or code_digits(text) is not None
        or special_commodity(lookups, text) is not None
    )


def special_commodity(lookups: Lookups, text: str) -> ResolvedCommodity | None:
    """`total` / `all goods` (the all-goods rows) or `CHPL tier 1` / `chpl` (the list's codes), else None.

    Raises:
        NotFound: a CHPL tier the list does not have (with the tiers it has).
    """
    folded = " ".join(fold(text).split())
    if folded in TOTAL_WORDS:
        return ResolvedCommodity(
            text,
            "all goods",
            (ALL_GOODS_CODE,),
            "total",
            note="All goods: the source's all-goods total (TOTAL rows), never a sum of some HS codes.",
        )
    match = CHPL_TIER.match(folded)
    if match is None:
        return None
    chpl = lookups.chpl
    wanted = (match.group(1) or "").upper()
    tiers = [t for t in chpl.tiers if not wanted or t.tier.upper() == wanted]
    if not tiers:
        raise NotFound(
            f"The CHPL has no tier {wanted}.", [f"CHPL tier {t.tier} ({t.title})" for t in chpl.tiers]
        )
    codes = tuple(c for t in tiers for c in t.codes)
    if wanted:
        label = f"CHPL tier {tiers[0].tier} ({tiers[0].title})"
    else:
        label = f"the Common High Priority List (all {len(tiers)} tiers)"
    return ResolvedCommodity(
        text,
        label,
        codes,
        "chpl",
        note=f"{chpl.name}, version {chpl.version}: {len(codes)} HS-6 codes summed ({', '.join(codes)}).",
    )


def split_trailing_country(lookups: Lookups, words: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split `aluminium oxide Hong Kong` into (`aluminium oxide`, `Hong Kong`): the longest trailing country.

    If no trailing words name a country, the last word is taken as the country (so the error names it),
    unless a leading alias is found, in which case everything after it is the country.
    """
    words = list(words)
    for i in range(1, len(words)):
        if is_country(lookups, words[i:]):
            return words[:i], words[i:]
    for i in range(len(words) - 1, 0, -1):
        if is_commodity_token(lookups, words[:i]):
            return words[:i], words[i:]
    return words[:-1], words[-1:]


def check_options(line: CommandLine, allowed: tuple[str, ...], usage: str) -> None:
    """Reject unknown key=value options with the list of known ones."""
    unknown = sorted(set(line.options) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"Unknown option {unknown[0]}=.",
            f"Options: {', '.join(a + '=' for a in allowed)}. Usage: {usage}",
        )


def split_on_year(words: list[str]) -> tuple[list[str], str | None, list[str]]:
    """`graphite 2023 CN` -> (graphite, 2023, CN). The first word is never the year (it may be HS 2504)."""
    for i in range(len(words) - 1, 0, -1):
        if len(words[i]) == 4 and words[i].isdigit():
            return words[:i], words[i], words[i + 1 :]
    return words, None, []


def code_digits(text: str) -> str | None:
    match = HS_CODE.match(text.strip())
    if not match:
        return None
    return re.sub(r"[.\s]", "", match.group(1))


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", fold(text)) if t and t not in STOPWORDS]


@dataclass(frozen=True)
class DescriptionMatch:
    entry: HsEntry
    recall: float  # share of the typed words found in the description (0-100, typo-tolerant)
    precision: float  # share of the description's words that were typed: favours the most specific code


class DescriptionIndex:
    """An inverted index of HS description words, for typo-tolerant word matching."""

    def __init__(self, entries: Sequence[HsEntry]) -> None:
        self.entries = list(entries)
        self.by_code = {e.code: e for e in self.entries}
        self.children: dict[str, list[str]] = defaultdict(list)
        self.words: list[set[str]] = []
        postings: dict[str, set[int]] = defaultdict(set)
        for idx, entry in enumerate(self.entries):
            if entry.parent:
                self.children[entry.parent].append(entry.code)
            words = set(_tokens(entry.description))
            self.words.append(words)
            for word in words:
                postings[word].add(idx)
        self.postings = dict(postings)
        self.vocabulary = list(self.postings)

    def search(self, query: str, limit: int = 40) -> list[DescriptionMatch]:
        """Entries ranked by how many typed words they contain, then by specificity."""
        typed = _tokens(query)
        if not typed:
            return []
        best: dict[int, dict[str, float]] = defaultdict(dict)
        for word in dict.fromkeys(typed):
            for vocab_word, score, _ in process.extract(
                word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=TOKEN_MATCH, limit=None
            ):
                for idx in self.postings[vocab_word]:
                    best[idx][word] = max(best[idx].get(word, 0.0), score)
        unique = list(dict.fromkeys(typed))
        matches = [
            DescriptionMatch(
                self.entries[idx],
                sum(scores.values()) / len(unique),
                100.0 * len(scores) / max(len(self.words[idx]), 1),
            )
            for idx, scores in best.items()
        ]
        matches.sort(key=lambda m: (-round(m.recall), -m.precision, m.entry.level, m.entry.code))
        return matches[:limit]

    def collapse(self, codes: Sequence[str]) -> list[str]:
        """Fold matched subheadings into their heading when every subheading matched; drop partial parents.

        `tungsten`: 8101 and all its subheadings match -> 8101. `aluminium hydroxide`: 2818 and only
        281830 match -> 281830 (the heading also covers the oxide, which was not asked for).
        """
        matched = set(codes)
        keep: list[str] = []
        for code in codes:
            kids = self.children.get(code, [])
            if kids and any(k in matched for k in kids) and not all(k in matched for k in kids):
                continue  # some subheadings match, others not: the heading covers more than was asked for
            if self._has_matched_ancestor_covering(code, matched):
                continue
            keep.append(code)
        return keep

    def _has_matched_ancestor_covering(self, code: str, matched: set[str]) -> bool:
        parent = self.by_code[code].parent if code in self.by_code else None
        while parent:
            kids = self.children.get(parent, [])
            if parent in matched and all(k in matched for k in kids):
                return True
            parent = self.by_code[parent].parent if parent in self.by_code else None
        return False


def describe(entry: HsEntry, width: int = 70) -> str:
    """`8542 Electronic integrated circuits` (description shortened to `width`)."""
    text = entry.description if len(entry.description) <= width else entry.description[: width - 1] + "…"
    return f"{entry.code} {text}"


def alias_suggestions(lookups: Lookups, text: str, limit: int = 4) -> list[str]:
    """The commodity aliases closest to `text`."""
    hits = process.extract(fold(text), lookups.commodity_aliases, scorer=fuzz.WRatio, limit=limit)
    return [alias for alias, score, _ in hits if score >= 50]


async def resolve_commodity(session: AsyncSession, lookups: Lookups, text: str) -> ResolvedCommodity:
    """Resolve a commodity: alias, HS code, misspelt alias, or words matched against HS descriptions.

    Raises:
        InvalidInput: empty, or an HS code of the wrong length.
        NotFound: nothing matches (suggests aliases and HS descriptions), or a code not in the nomenclature.
        Ambiguous: the words match several unrelated codes equally well.
    """
    query = " ".join(text.split())
    if not query:
        raise InvalidInput("The commodity is missing.", "Name one, e.g. chips, graphite or HS 8542.")
    special = special_commodity(lookups, query)
    if special is not None:
        return special
    commodity = lookups.commodity(query)
    if commodity is not None:
        return _from_alias(query, commodity.key, lookups)
    digits = code_digits(query)
    if digits is not None:
        return await _from_code(session, query, digits)
    index = await description_index(session)
    matches = index.search(query) if index else []
    single = _single_match(index, query, matches)
    if single is not None:
        return single
    # A misspelt alias is tried only after the descriptions: "aluminium hydroxide" is a real HS-6 subheading,
    # not a typo of the alias "aluminium oxide".
    typo = typo_alias(lookups, query)
    if typo is not None:
        return replace(_from_alias(query, typo, lookups), corrected_from=query)
    raise _no_match(lookups, query, index, matches)


def typo_alias(lookups: Lookups, query: str) -> str | None:
    """The alias `query` is a misspelling of (`graphit` -> `graphite`), or None."""
    if len(fold(query)) < 4:
        return None
    hit = process.extractOne(
        fold(query), lookups.commodity_aliases, scorer=fuzz.ratio, score_cutoff=ALIAS_TYPO
    )
    return str(hit[0]) if hit is not None else None


def _from_alias(query: str, alias: str, lookups: Lookups) -> ResolvedCommodity:
    commodity = lookups.commodity(alias)
    assert commodity is not None
    return ResolvedCommodity(
        query=query,
        label=commodity.label,
        codes=commodity.codes,
        kind="alias",
        note=commodity.note,
        alias=commodity.key,
    )


async def _from_code(session: AsyncSession, query: str, digits: str) -> ResolvedCommodity:
    if len(digits) in (8, 10):
        raise InvalidInput(
            f"{digits} is a national tariff line; commands take HS codes of 2, 4 or 6 digits.",
            f"Try its HS-6 subheading: {digits[:6]}.",
        )
    if len(digits) not in (2, 4, 6):
        raise InvalidInput(
            f"{digits!r} is not an HS code.", "HS codes have 2, 4 or 6 digits, e.g. 85, 8542, 854231."
        )
    if not await hsq.nomenclature_loaded(session):
        return ResolvedCommodity(
            query,
            f"HS {digits}",
            (digits,),
            "code",
            note="HS nomenclature not loaded (tradewatch import hs FILE): the code was not checked.",
        )
    entry = await hsq.get_code(session, digits)
    if entry is None:
        near = await hsq.nearest_codes(session, digits)
        raise NotFound(f"HS {digits} is not in the HS nomenclature.", [describe(e, 50) for e in near])
    return ResolvedCommodity(
        query, entry.description, (digits,), "code", descriptions={digits: entry.description}
    )


_INDEX_CACHE: dict[int, DescriptionIndex] = {}


async def description_index(session: AsyncSession) -> DescriptionIndex | None:
    """The word index over the loaded HS descriptions (None if none are loaded).

    Building it takes ~0.1 s; it is kept per process and rebuilt when the loaded nomenclature changes.
    """
    entries = await hsq.all_codes(session)
    if not entries:
        return None
    fingerprint = hash(tuple((e.code, e.description, e.parent) for e in entries))
    index = _INDEX_CACHE.get(fingerprint)
    if index is None:
        _INDEX_CACHE.clear()
        index = _INDEX_CACHE[fingerprint] = DescriptionIndex(entries)
    return index


def _single_match(
    index: DescriptionIndex | None, query: str, matches: list[DescriptionMatch]
) -> ResolvedCommodity | None:
    """The one HS code whose description holds every typed word (headings folded), or None."""
    if index is None or not matches or matches[0].recall < 99:
        return None
    top = [m for m in matches if m.recall >= matches[0].recall - 5]
    roots = index.collapse([m.entry.code for m in top])
    if len(roots) != 1:
        return None
    code = roots[0]
    entry = index.by_code[code]
    others = [describe(m.entry, 60) for m in matches if not m.entry.code.startswith(code)][:5]
    return ResolvedCommodity(
        query,
        entry.description,
        (code,),
        "description",
        alternatives=tuple(others),
        descriptions={code: entry.description},
    )


def _no_match(
    lookups: Lookups, query: str, index: DescriptionIndex | None, matches: list[DescriptionMatch]
) -> NotFound | Ambiguous:
    """The error when words resolve to no single code: candidates if several match, else suggestions."""
    if index is None:
        suggestions = alias_suggestions(lookups, query)
        return NotFound(
            f"{query!r} is not a commodity alias, and HS descriptions are not loaded to match words against.",
            suggestions,
            hint=None if suggestions else "Load them with `tradewatch import hs FILE`.",
        )
    if not matches or matches[0].recall < 50:
        near = [describe(m.entry, 50) for m in matches[:3]]
        return NotFound(
            f"No alias or HS description matches {query!r}.", [*alias_suggestions(lookups, query), *near]
        )
    top = [m for m in matches if m.recall >= matches[0].recall - 5]
    roots = index.collapse([m.entry.code for m in top]) or [m.entry.code for m in top]
    candidates = [describe(index.by_code[c]) for c in roots][:8]
    return Ambiguous(f"{query!r} matches several HS codes.", [*candidates, "or give the HS code itself"])
