"""db.text.fold replaced three folds with three rules (db/lookups.py, db/outbox.py, db/ingest/country_names.py).

Each former rule is kept here, verbatim, as the reference: on every name, alias, description and country
string of the real source files, each caller gets what it got before. (Country names: the shared rule turns
stray symbols into spaces, so a name glued to a bracket, `[SYRIA`, now resolves where the former rule gave
nothing; no field of the real files holds such a value, so the remark fragments below are cut at brackets.)
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pycountry
import pytest
import yaml

from db.ingest import country_names
from db.ingest.country_names import EXTRA, country_code
from db.text import fold

LOOKUPS = Path(__file__).resolve().parents[2] / "db" / "ingest" / "lookups"


def former_lookups_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w',.&-]+", " ", text.casefold())
    return re.sub(r"\s+", " ", text).strip(" .,")


_NON_WORD = re.compile(r"[\W_]+")


def former_outbox_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).split())


def former_country_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text.casefold()).strip(" .")


@cache
def _former_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2.lower()
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                table.setdefault(former_country_fold(value), code)
        table.setdefault(country.alpha_3.lower(), code)
    table.update(EXTRA)
    return table


def former_country_code(name: str | None) -> str | None:
    if not name or not name.strip():
        return None
    key = former_country_fold(name)
    if len(key) == 2 and key.isalpha():
        return key if pycountry.countries.get(alpha_2=key.upper()) or key == "xk" else None
    for prefix in ("region: ", "possibly "):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return _former_table().get(key)


def _csv_rows(path: Path, *, header: bool = True) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        if header:
            next(reader, None)
        yield from reader


def _yaml_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _yaml_strings(k)
            yield from _yaml_strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from _yaml_strings(item)


@pytest.fixture(scope="module")
def texts(shared_data: Path) -> list[str]:
    """Names, aliases, remarks, HS descriptions and lookup entries from the real files."""
    out: set[str] = set()
    for path in (shared_data / "ofac").rglob("*.csv"):
        for row in _csv_rows(path, header=False):
            out.update(cell for cell in row if cell and cell != "-0-")
    for path in (shared_data / "bis_csl" / "csl_excerpts").glob("*.csv"):
        for row in _csv_rows(path):
            out.update(cell for cell in row if cell)
    for row in _csv_rows(shared_data / "hs" / "harmonized-system.csv"):
        out.update(row)
    for path in LOOKUPS.glob("*.yml"):
        out.update(_yaml_strings(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return sorted(out)


@pytest.fixture(scope="module")
def country_strings(shared_data: Path, texts: list[str]) -> list[str]:
    """Every country-like string: OFAC address countries, CSL cells and remark fragments, country tables."""
    out: set[str] = set(EXTRA)
    for path in (shared_data / "ofac").rglob("*add.csv"):
        out.update(row[4] for row in _csv_rows(path, header=False) if len(row) > 4)
    for text in texts:
        for fragment in re.split(r"[;,()\[\]]", text):
            fragment = fragment.strip()
            if 0 < len(fragment) < 60:
                out.add(fragment)
                out.add(fragment.split(" ", 1)[-1])
                out.add(f"Region: {fragment}")
    for row in _csv_rows(shared_data / "country_codes" / "UNSD-M49-en.csv"):
        out.add(row[8])
    for country in pycountry.countries:
        out.update(getattr(country, attr, "") or "" for attr in ("name", "official_name", "common_name"))
    return sorted(out)


def test_lookup_and_keyword_folds_are_unchanged(texts: list[str]) -> None:
    assert len(texts) > 20_000
    assert [t for t in texts if fold(t) != former_lookups_fold(t)] == []
    assert [t for t in texts if fold(t, keep_punctuation=False) != former_outbox_fold(t)] == []


def test_country_names_resolve_as_before(country_strings: list[str]) -> None:
    country_names.country_code.cache_clear()
    assert len(country_strings) > 10_000
    resolved = {s: country_code(s) for s in country_strings}
    assert sum(code is not None for code in resolved.values()) > 500
    assert [s for s, code in resolved.items() if code != former_country_code(s)] == []


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("  Côte d'Ivoire. ", "cote d'ivoire", "cote d ivoire"),
        ("Türkiye", "turkiye", "turkiye"),
        ("SINNO ELECTRONICS CO., LTD.", "sinno electronics co., ltd", "sinno electronics co ltd"),
        ("AT&T / Sino-Russian_trade", "at&t sino-russian_trade", "at t sino russian trade"),
        ("Korea, North", "korea, north", "korea north"),
    ],
)
def test_fold_examples(text: str, key: str, words: str) -> None:
    assert fold(text) == key
    assert fold(text, keep_punctuation=False) == words
