"""Real name parts from ../shared/data, to recombine into SYNTHETIC entity names that look real.

- OFAC SDN (sdn_snapshots/2024-05-01/sdn.csv): surnames and given names of individuals ("LAST, First
  Middle"); the words of organisation names, split into distinctive words (rare) and generic ones
  (TRADING, TECHNOLOGY ... frequent).
- OpenSanctions Ukraine War and Sanctions (targets.simple.csv): people listed with a Latin name and a
  Cyrillic alias of the same length ("IVAKHA Denis Vladimirovich" / "ИВАХА Денис Владимирович"): aligned
  (Latin, Cyrillic) surname, given-name and patronymic pairs.
- OpenSanctions Wikidata PEPs sample (entities.ftm.json): the Han characters of its Chinese aliases.

Chinese company names also need city and trade words in Han with their English and pinyin forms: the
short tables below are translations of words that occur in real OFAC names (SHENZHEN, TECHNOLOGY ...).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

OFAC_SDN = Path("ofac/sdn_snapshots/2024-05-01/sdn.csv")
OS_UA_WAR = Path("opensanctions/ua_war_sanctions_2026-03-13/targets.simple.csv")
OS_PEPS = Path("opensanctions/zavod_export_wd_peps_sample/entities.ftm.json")

LATIN_LEGAL = [
    "CO., LTD.",
    "CO., LIMITED",
    "LIMITED",
    "LTD",
    "LLC",
    "JSC",
    "OJSC",
    "PJSC",
    "CJSC",
    "INC.",
    "GMBH",
    "S.A.",
    "FZE",
    "FZCO",
    "LLP",
    "CORP.",
    "COMPANY LIMITED",
    "LIMITED LIABILITY COMPANY",
]
CYRILLIC_LEGAL = ["ООО", "АО", "ПАО", "ЗАО", "ОАО"]
HAN_LEGAL = ["有限公司", "股份有限公司", "有限责任公司"]
# (Han, English as OFAC writes it): cities and trade words found in real OFAC names of PRC/HK firms.
HAN_CITIES = [
    ("深圳", "SHENZHEN"),
    ("武汉", "WUHAN"),
    ("广州", "GUANGZHOU"),
    ("北京", "BEIJING"),
    ("上海", "SHANGHAI"),
    ("香港", "HONG KONG"),
    ("天津", "TIANJIN"),
    ("成都", "CHENGDU"),
    ("大连", "DALIAN"),
    ("厦门", "XIAMEN"),
    ("南京", "NANJING"),
    ("杭州", "HANGZHOU"),
    ("西安", "XIAN"),
    ("宁波", "NINGBO"),
]
HAN_TRADES = [
    ("科技", "TECHNOLOGY"),
    ("电子", "ELECTRONICS"),
    ("贸易", "TRADING"),
    ("国际", "INTERNATIONAL"),
    ("实业", "INDUSTRIAL"),
    ("物流", "LOGISTICS"),
    ("航运", "SHIPPING"),
    ("集团", "GROUP"),
    ("半导体", "SEMICONDUCTOR"),
    ("光电", "OPTOELECTRONICS"),
    ("化工", "CHEMICAL"),
    ("机械", "MACHINERY"),
]
# Frequent words of organisation names that are legal forms, articles or transliterated legal forms.
_NOT_TRADE = frozenset(
    "JOINT STOCK OBSHCHESTVO OGRANICHENNOI OGRANICHENNOY OTVETSTVENNOSTYU OTVETSTVENNOSTIU AKTSIONERNOE "
    "PUBLICHNOE ZAKRYTOE OTKRYTOE LIMITED COMPANY CORPORATION SOCIEDAD ANONIMA THE AND FOR DEL".split()
)
_WORD = re.compile(r"^[A-Z][A-Z]{2,}$")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class NameParts:
    """Pools of real name parts."""

    org_words: list[str]
    trade_words: list[str]
    surnames: list[str]
    given: list[str]
    cyr_surnames: list[tuple[str, str]]
    cyr_given: list[tuple[str, str]]
    cyr_patronymics: list[tuple[str, str]]
    han_chars: list[str]
    programs: list[str]


def _ofac_rows(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8").rstrip("\x1a")
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text)) if row]


def _ofac_parts(shared_data: Path) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    rows = _ofac_rows(shared_data / OFAC_SDN)
    legal = {w for form in LATIN_LEGAL for w in re.findall(r"[A-Z]+", form)}
    words: Counter[str] = Counter()
    surnames: set[str] = set()
    given: set[str] = set()
    programs: Counter[str] = Counter()
    for row in rows:
        name, kind, program = row[1], row[2], row[3]
        programs.update(p.strip("[] ") for p in program.split("] ["))
        if kind == "individual" and "," in name:
            last, first = name.split(",", 1)
            if re.fullmatch(r"[A-Z][A-Z' -]+", last.strip()):
                surnames.add(last.strip())
            given.update(w for w in first.split() if re.fullmatch(r"[A-Z][a-z]+", w))
        elif kind == "-0-":
            words.update(w for w in re.findall(r"[A-Z]+", name.upper()) if _WORD.match(w) and w not in legal)
    trade = [w for w, n in words.most_common(150) if n >= 15 and len(w) >= 4 and w not in _NOT_TRADE][:100]
    org = sorted(w for w, n in words.items() if n < 15 and len(w) >= 4)
    return (
        org,
        trade,
        sorted(surnames),
        sorted(given),
        [p for p, n in programs.most_common(40) if p and p != "-0-"],
    )


def _cyrillic_people(shared_data: Path) -> tuple[list[tuple[str, str]], ...]:
    pairs: tuple[set[tuple[str, str]], set[tuple[str, str]], set[tuple[str, str]]] = (set(), set(), set())
    with (shared_data / OS_UA_WAR).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["schema"] != "Person":
                continue
            latin = row["name"].split()
            for alias in row["aliases"].split(";"):
                cyr = alias.split()
                # Russian forms only (no Ukrainian letters), same number of words as the Latin name.
                if len(cyr) == len(latin) == 3 and re.fullmatch(r"[А-ЯЁа-яё -]+", alias):
                    for i in range(3):
                        pairs[i].add((latin[i], cyr[i]))
    return tuple(sorted(p) for p in pairs)


def _han_chars(shared_data: Path) -> list[str]:
    chars: set[str] = set()
    with (shared_data / OS_PEPS).open(encoding="utf-8") as fh:
        for line in fh:
            entity = json.loads(line)
            for values in entity.get("properties", {}).values():
                for value in values:
                    if isinstance(value, str):
                        chars.update(_HAN.findall(value))
    return sorted(chars)


def load_parts(shared_data: Path) -> NameParts:
    """Read every pool from the real files (a second or two)."""
    org, trade, surnames, given, programs = _ofac_parts(shared_data)
    cyr_surnames, cyr_given, cyr_patronymics = _cyrillic_people(shared_data)
    return NameParts(
        org,
        trade,
        surnames,
        given,
        cyr_surnames,
        cyr_given,
        cyr_patronymics,
        _han_chars(shared_data),
        programs,
    )
