"""SYNTHETIC entities (Latin, Cyrillic and Chinese names, legal forms, aliases) and noisy queries with known answers.

Names are real name parts (bench.name_parts) recombined, so they look like list entries without being any
real entry; every entity is labelled synthetic in the bench databases. Queries are variants of one of an
entity's names, made the ways a reporter's query differs from the listed name: a typo, a dropped or other
legal form, swapped words, another transliteration (Cyrillic <-> Latin, Chinese <-> pinyin). The answer is
the entity the name came from; any other entity carrying a name with the same normalised key counts as
correct too (the two are indistinguishable by name: a real screener shows both).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from rigour.text import ascii_text

from bench.name_parts import CYRILLIC_LEGAL, HAN_CITIES, HAN_LEGAL, HAN_TRADES, LATIN_LEGAL, NameParts
from db.names import detect_script, normalize_name

COUNTRIES = [
    "ru",
    "cn",
    "hk",
    "ir",
    "ae",
    "tr",
    "by",
    "kz",
    "kp",
    "sy",
    "in",
    "sg",
    "my",
    "th",
    "am",
    "kg",
    "uz",
]
LISTS = ["SYNTHETIC list A", "SYNTHETIC list B", "SYNTHETIC entity list"]
_LEGAL_RE = re.compile(
    r"(?<![\w.])("
    + "|".join(re.escape(f) for f in sorted(LATIN_LEGAL + CYRILLIC_LEGAL, key=len, reverse=True))
    + r")(?![\w])"
)
_LAT_TO_CYR = [
    ("shch", "щ"), ("kh", "х"), ("zh", "ж"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"), ("yu", "ю"), ("ya", "я"),
    ("iy", "ий"), ("yy", "ый"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"),
    ("z", "з"), ("i", "и"), ("y", "ы"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
    ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"), ("w", "в"), ("x", "кс"),
    ("j", "дж"), ("q", "к"),
]  # fmt: skip
# Passport-style Cyrillic -> Latin, different from rigour's scheme (х -> kh, ю -> iu, й -> i ...).
_CYR_TO_LAT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch _ y _ e iu ia".split(),
        strict=True,
    )
)


def latin_to_cyrillic(text: str) -> str:
    """How someone types a name in Cyrillic that they have only seen romanised."""
    out, i, low = [], 0, text.lower()
    while i < len(low):
        for lat, cyr in _LAT_TO_CYR:
            if low.startswith(lat, i):
                out.append(cyr)
                i += len(lat)
                break
        else:
            out.append(low[i])
            i += 1
    return "".join(out).title()


def cyrillic_to_latin(text: str) -> str:
    return "".join(_CYR_TO_LAT.get(ch, ch) for ch in text.lower()).replace("_", "").title()


@dataclass
class SynthEntity:
    """One synthetic entity: schema, names as (name, kind), countries, program."""

    entity_id: int
    schema: str
    names: list[tuple[str, str]]
    countries: list[str]
    program: str
    list_name: str


def _latin_company(rng: random.Random, p: NameParts) -> list[tuple[str, str]]:
    core = " ".join(rng.sample(p.org_words, rng.choice([1, 1, 2])))
    trades = " ".join(rng.sample(p.trade_words, rng.choice([0, 1, 1, 2])))
    base = " ".join(x for x in (core, trades) if x)
    names = [(f"{base} {rng.choice(LATIN_LEGAL)}", "primary")]
    if rng.random() < 0.5:
        names.append((f"{core} {rng.choice(p.trade_words)} {rng.choice(LATIN_LEGAL)}", "aka"))
    if rng.random() < 0.15:
        names.append((f"{base} {rng.choice(LATIN_LEGAL)}", "fka"))
    return names


def _latin_person(rng: random.Random, p: NameParts) -> list[tuple[str, str]]:
    given = " ".join(rng.sample(p.given, rng.choice([1, 2, 2])))
    last = rng.choice(p.surnames)
    names = [(f"{last}, {given}", "primary")]
    if rng.random() < 0.3:
        names.append((f"{rng.choice(p.surnames)}, {given}", "aka"))
    return names


def _cyrillic_person(rng: random.Random, p: NameParts) -> list[tuple[str, str]]:
    (ls, cs), (lg, cg), (lp, cp) = (
        rng.choice(p.cyr_surnames),
        rng.choice(p.cyr_given),
        rng.choice(p.cyr_patronymics),
    )
    return [(f"{ls} {lg} {lp}", "primary"), (f"{cs} {cg} {cp}", "aka")]


def _cyrillic_company(rng: random.Random, p: NameParts) -> list[tuple[str, str]]:
    core = " ".join(rng.sample(p.org_words, rng.choice([1, 2]))).title()
    form = rng.choice(CYRILLIC_LEGAL)
    return [
        (f'{form} "{latin_to_cyrillic(core).upper()}"', "primary"),
        (f"{core.upper()} {rng.choice(['LLC', 'JSC'])}", "aka"),
    ]


def _chinese_company(rng: random.Random, p: NameParts) -> list[tuple[str, str]]:
    (city_han, city_en), (trade_han, trade_en) = rng.choice(HAN_CITIES), rng.choice(HAN_TRADES)
    core = "".join(rng.sample(p.han_chars, rng.choice([2, 2, 3])))
    pinyin = "".join(ascii_text(core).split()).upper()
    han = f"{city_han}{core}{trade_han}{rng.choice(HAN_LEGAL)}"
    latin = f"{city_en} {pinyin} {trade_en} {rng.choice(['CO., LTD.', 'CO., LIMITED', 'LIMITED'])}"
    return [(han, "primary"), (latin, "aka")] if rng.random() < 0.5 else [(latin, "primary"), (han, "aka")]


KINDS: list[tuple[float, str, Callable[[random.Random, NameParts], list[tuple[str, str]]]]] = [
    (0.36, "Company", _latin_company),
    (0.26, "Person", _latin_person),
    (0.16, "Person", _cyrillic_person),
    (0.10, "Company", _cyrillic_company),
    (0.12, "Company", _chinese_company),
]


def make_entities(parts: NameParts, n_names: int, seed: int = 7) -> list[SynthEntity]:
    """Entities until about `n_names` names (primary + aliases) exist."""
    rng = random.Random(seed)
    weights = [k[0] for k in KINDS]
    out: list[SynthEntity] = []
    total = 0
    while total < n_names:
        _, schema, make = rng.choices(KINDS, weights)[0]
        names = make(rng, parts)
        out.append(
            SynthEntity(
                len(out) + 1,
                schema,
                names,
                rng.sample(COUNTRIES, rng.choice([1, 1, 2])),
                rng.choice(parts.programs),
                rng.choice(LISTS),
            )
        )
        total += len(names)
    return out


def _normalise_chunk(names: list[str]) -> list[tuple[str, str | None]]:
    return [(normalize_name(n), detect_script(n)) for n in names]


def normalise_all(names: Sequence[str], workers: int = 2) -> list[tuple[str, str | None]]:
    """The product's `normalize_name` and `detect_script` for every name (in `workers` processes)."""
    chunks = [list(names[i : i + 20_000]) for i in range(0, len(names), 20_000)]
    if workers <= 1 or len(chunks) <= 1:
        return [r for c in chunks for r in _normalise_chunk(c)]
    with ProcessPoolExecutor(workers) as pool:
        return [r for part in pool.map(_normalise_chunk, chunks) for r in part]


@dataclass
class Query:
    """A noisy query, how it was made, and the entity ids that count as a correct answer."""

    text: str
    variant: str
    entity_id: int
    base: str
    accepted: frozenset[int] = field(default_factory=frozenset)


def typo(rng: random.Random, text: str) -> str:
    """One or two slips (drop, double, swap or replace a letter), never the first letter."""
    for _ in range(1 if len(text) < 15 else 2):
        letters = [i for i, ch in enumerate(text) if ch.isalpha() and i > 0]
        if not letters:
            break
        i = rng.choice(letters)
        op = rng.choice(["drop", "double", "swap", "replace"])
        if op == "drop":
            text = text[:i] + text[i + 1 :]
        elif op == "double":
            text = text[:i] + text[i] + text[i:]
        elif op == "swap" and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        else:
            text = text[:i] + rng.choice([c for c in text.lower() if c.isalpha()]) + text[i + 1 :]
    return text


def without_legal_form(text: str) -> str:
    for form in HAN_LEGAL:
        text = text.replace(form, "")
    return " ".join(_LEGAL_RE.sub(" ", text).replace('"', " ").split()).strip(" ,.-")


def swap_words(rng: random.Random, text: str) -> str:
    words = text.replace(",", "").split()
    if len(words) < 2:
        return text
    first = words[:]
    while words == first:
        rng.shuffle(words)
    return " ".join(words)


def transliterate(rng: random.Random, name: str) -> str | None:
    """The same name in another script or romanisation, as a user might type it; None if not applicable."""
    if re.search("[\u4e00-\u9fff]", name):
        return ascii_text(without_legal_form(name))  # pinyin syllable by syllable
    if re.search("[а-яА-Я]", name):
        return cyrillic_to_latin(without_legal_form(name))
    if rng.random() < 0.5:
        return latin_to_cyrillic(without_legal_form(name).replace(",", ""))
    return None


def _variants(rng: random.Random, name: str, schema: str) -> list[tuple[str, str]]:
    out = [("typo", typo(rng, name)), ("swapped words", swap_words(rng, without_legal_form(name)))]
    bare = without_legal_form(name)
    if schema == "Company" and bare != name:
        out.append(("no legal form", bare))
        if not re.search("[\u4e00-\u9fff]", name):
            out.append(
                ("other legal form", f"{bare} {rng.choice(['Ltd', 'LLC', 'Co. Ltd', 'Limited', 'JSC'])}")
            )
    other = transliterate(rng, name)
    if other:
        out.append(("transliteration", other))
    return out


def make_queries(
    entities: Sequence[SynthEntity], keys: dict[str, str], n: int, seed: int = 11
) -> list[Query]:
    """`n` noisy queries over random entities, with their accepted answers.

    Args:
        keys: normalised key per name (the product's normalize_name), for the accepted-answer sets.
    """
    rng = random.Random(seed)
    owners: dict[str, set[int]] = defaultdict(set)
    for e in entities:
        for name, _ in e.names:
            owners[keys[name]].add(e.entity_id)
    out: list[Query] = []
    while len(out) < n:
        entity = rng.choice(entities)
        name = rng.choice(entity.names)[0]
        variant, text = rng.choice(_variants(rng, name, entity.schema))
        key = normalize_name(text)
        if len(key.replace(" ", "")) < 3 or text.casefold() == name.casefold():
            continue
        accepted = frozenset(owners[keys[name]] | {entity.entity_id})
        out.append(Query(text, variant, entity.entity_id, name, accepted))
    return out


def make_prefixes(entities: Sequence[SynthEntity], n: int, seed: int = 13) -> list[tuple[str, str]]:
    """(what has been typed so far, the name being typed) for autocomplete: 3+ characters, cut mid-word."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        name = rng.choice(rng.choice(entities).names)[0]
        if len(name) < 6:
            continue
        out.append((name[: rng.randint(max(3, len(name) // 3), len(name) - 1)], name))
    return out
