"""SYNTHETIC trade flows shaped like UN Comtrade monthly HS-6 data, generated with numpy.

Shape at --scale 1: 60 reporters x 200 partners x 2 flows (X, M) x 48 months (2020-01 .. 2023-12), about
20 million rows. Pairs differ in size (log-normal reporter and partner weights), so a few large pairs trade
thousands of HS-6 codes and most pairs a handful; code popularity is Zipf-like over the real HS-6 list
(../shared/data/hs/harmonized-system.csv), with the codes of the commodity aliases (chips, graphite ...)
among the popular ones; a code is missing in some months; values are log-normal (heavy-tailed) with a
seasonal swing and a yearly trend. Nothing here is real trade: every row is invented, and the bench
databases label their source "SYNTHETIC benchmark data".

Rows come per reporter, in natural-key order (reporter, partner, flow, hs_code, period), as numpy columns.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from db.lookups import Lookups

FULL_ROWS = 20_000_000
FULL_REPORTERS, FULL_PARTNERS = 60, 200
FIRST_YEAR, YEARS = 2020, 4
PERIODS = np.array([(FIRST_YEAR + i // 12) * 100 + i % 12 + 1 for i in range(12 * YEARS)], dtype=np.int32)
# Reporters by trade size (ISO2), the ones reporters of this tool ask about first.
REPORTER_ISO2 = (
    "CN US DE JP KR NL FR IT GB HK IN CA MX SG BE ES CH TW RU PL AE VN MY TH AU SA BR ID TR IE "
    "AT SE CZ CL NO DK HU IL PH KZ ZA AR PT SK FI RO QA NZ UA KW PK BY GR EG IR UZ AZ OM AM KG"
).split()


@dataclass(frozen=True)
class TradeShape:
    """The dimensions of one generated data set."""

    reporters: list[int]
    partners: list[int]
    codes: npt.NDArray[np.str_]  # HS-6 codes, sorted
    popularity: npt.NDArray[np.float64]  # per code, sums to 1
    codes_per_pair: npt.NDArray[np.int64]  # [reporter, partner, flow] -> number of codes traded
    pair_weight: npt.NDArray[np.float64]  # [reporter, partner] -> relative size
    presence: float  # share of months a traded code appears in
    expected_rows: int


def hs6_codes(shared_data: Path) -> list[str]:
    """The real HS-6 subheadings of the nomenclature file."""
    with (shared_data / "hs" / "harmonized-system.csv").open(encoding="utf-8") as fh:
        return sorted(r["hscode"] for r in csv.DictReader(fh) if r["level"] == "6")


def _popularity(codes: list[str], lookups: Lookups, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Zipf-like popularity over a random order of the codes, with alias codes (chips ...) near the top."""
    alias_prefixes = tuple(c for commodity in lookups.commodities for c in commodity.codes)
    order = rng.permutation(len(codes))
    favoured = [i for i, c in enumerate(codes) if c.startswith(alias_prefixes)]
    rank = np.empty(len(codes), dtype=np.float64)
    rank[order] = np.arange(len(codes))
    rank[favoured] = rng.uniform(0, 300, len(favoured))  # among the few hundred most traded codes
    weight = 1.0 / (rank + 10.0) ** 1.1
    return weight / weight.sum()


def _countries(
    lookups: Lookups, rng: np.random.Generator, n_reporters: int, n_partners: int
) -> tuple[list[int], list[int]]:
    by_iso2 = {c.iso2: c.code for c in lookups.countries if c.iso2}
    reporters = [by_iso2[i] for i in REPORTER_ISO2[:n_reporters]]
    others = sorted({c for c in by_iso2.values()} - set(reporters))
    extra = rng.choice(others, size=max(0, n_partners - len(reporters)), replace=False).tolist()
    # Partners: the reporters themselves (they trade with each other) and other countries.
    partners = sorted({*[by_iso2[i] for i in REPORTER_ISO2[:n_partners]], *extra})[:n_partners]
    return reporters, [int(p) for p in partners]


def make_shape(lookups: Lookups, shared_data: Path, scale: float, seed: int = 20240501) -> TradeShape:
    """Choose countries, codes and how many codes each pair trades, so that about 20M x scale rows result."""
    rng = np.random.default_rng(seed)
    n_rep = max(3, round(FULL_REPORTERS * scale**0.5))
    n_par = max(10, round(FULL_PARTNERS * scale**0.5))
    reporters, partners = _countries(lookups, rng, n_rep, n_par)
    codes = hs6_codes(shared_data)
    popularity = _popularity(codes, lookups, rng)
    size_r = rng.lognormal(0, 1.2, len(reporters))
    size_p = rng.lognormal(0, 1.2, len(partners))
    weight = np.outer(size_r, size_p)
    for i, r in enumerate(reporters):  # nobody reports trade with itself
        if r in partners:
            weight[i, partners.index(r)] = 0.0
    presence = 0.8
    target = FULL_ROWS * scale / (len(PERIODS) * presence)  # codes summed over pairs and flows
    raw = weight[:, :, None] * rng.lognormal(0, 0.3, (len(reporters), len(partners), 2))
    factor = target / raw.sum()
    for _ in range(30):  # clipping at 1 and at the number of codes moves the sum: adjust a few times
        per_pair = np.clip(np.round(raw * factor), 1, len(codes)).astype(np.int64)
        per_pair[weight == 0] = 0
        factor *= target / max(per_pair.sum(), 1)
    expected = int(per_pair.sum() * len(PERIODS) * presence)
    return TradeShape(reporters, partners, np.array(codes), popularity, per_pair, weight, presence, expected)


@dataclass
class TradeChunk:
    """The rows of one reporter, as columns in natural-key order."""

    reporter: npt.NDArray[np.int16]
    partner: npt.NDArray[np.int16]
    flow: npt.NDArray[np.int8]  # 0 = "X", 1 = "M"
    code: npt.NDArray[np.int32]  # index into TradeShape.codes
    period: npt.NDArray[np.int32]
    value: npt.NDArray[np.float64]
    net_kg: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.period)


def _pair_rows(
    shape: TradeShape, rng: np.random.Generator, r: int, p: int, f: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]] | None:
    k = int(shape.codes_per_pair[r, p, f])
    if k == 0:
        return None
    # Weighted sampling without replacement (Gumbel top-k): popular codes are traded by more pairs.
    keys = np.log(shape.popularity) + rng.gumbel(size=len(shape.popularity))
    chosen = np.sort(np.argpartition(-keys, k - 1)[:k]).astype(np.int32)
    present = rng.random((k, len(PERIODS))) < shape.presence
    code_idx, month_idx = np.nonzero(present)  # row-major: code by code, months in order
    scale_usd = 3e8 * shape.pair_weight[r, p] * shape.popularity[chosen] ** 0.5
    level = rng.lognormal(0, 1.8, k) * scale_usd  # heavy tail across codes
    season = 1 + 0.25 * np.sin(2 * np.pi * (month_idx % 12) / 12 + rng.uniform(0, 6.3))
    trend = rng.normal(1.05, 0.15) ** (month_idx // 12)
    noise = rng.lognormal(0, 0.5, len(code_idx))
    values = np.round(level[code_idx] * season * trend * noise, 0) + 1
    return chosen[code_idx], PERIODS[month_idx], values


def generate(shape: TradeShape, seed: int = 20240501) -> Iterator[TradeChunk]:
    """Yield one chunk of rows per reporter (deterministic for a shape and seed)."""
    for r, reporter in enumerate(shape.reporters):
        rng = np.random.default_rng([seed, r])
        parts: list[
            tuple[int, int, npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]]
        ] = []
        for p in np.argsort(shape.partners):
            for f in (0, 1):
                rows = _pair_rows(shape, rng, r, int(p), f)
                if rows is not None:
                    parts.append((shape.partners[p], f, *rows))
        if not parts:
            continue
        sizes = [len(part[2]) for part in parts]
        values = np.concatenate([part[4] for part in parts])
        price = rng.lognormal(1.5, 1.2, len(values))  # US$ per kg
        yield TradeChunk(
            reporter=np.full(len(values), reporter, dtype=np.int16),
            partner=np.repeat([part[0] for part in parts], sizes).astype(np.int16),
            flow=np.repeat([part[1] for part in parts], sizes).astype(np.int8),
            code=np.concatenate([part[2] for part in parts]),
            period=np.concatenate([part[3] for part in parts]),
            value=values,
            net_kg=np.round(values / price, 1),
        )
