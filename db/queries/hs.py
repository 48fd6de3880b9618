"""HS nomenclature queries: codes, their parents and subheadings, and the full list for fuzzy matching.

Prefix filters are written as ranges on the primary key (`code >= '8542' AND code < '8543'`), which every
backend answers from the index; `LIKE` is not used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import HsCode

# The nomenclature has about 7,000 codes; the cap keeps a malformed table from flooding memory.
MAX_CODES = 20_000
HS_LEVELS = (2, 4, 6)


@dataclass(frozen=True)
class HsEntry:
    """One HS heading or subheading."""

    code: str
    level: int
    description: str
    parent: str | None
    section: str | None


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string starting with a digit prefix: `8542` -> `8543`, `8549` -> `855`.

    Used to write prefix filters as index-friendly ranges. `99` -> `9:` (':' sorts right after '9').
    """
    if not prefix or not prefix.isdigit():
        raise ValueError(f"not a digit prefix: {prefix!r}")
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _entry(row: HsCode) -> HsEntry:
    parent = row.parent if row.parent and row.parent.isdigit() else None
    return HsEntry(row.code, row.level, row.description, parent, row.section)


def _levels_only() -> list[ColumnElement[bool]]:
    # The nomenclature file also holds a "TOTAL" pseudo-code (level 5); only real 2/4/6-digit codes count.
    return [HsCode.level.in_(HS_LEVELS)]


async def nomenclature_loaded(session: AsyncSession) -> bool:
    """Whether any HS code is loaded (False means `tradewatch import hs FILE` has not been run).

    Every trade command asks, so it reads one row rather than counting them all.
    """
    stmt = select(HsCode.code).where(*_levels_only()).limit(1)
    return (await session.execute(stmt)).first() is not None


async def get_codes(session: AsyncSession, codes: Iterable[str]) -> dict[str, HsEntry]:
    """The entries for the given codes that exist, keyed by code.

    Args:
        session: an open session.
        codes: HS codes (at most a few hundred; the caller caps them).
    Returns:
        A dict code -> HsEntry; unknown codes are absent.
    """
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    stmt = select(HsCode).where(HsCode.code.in_(wanted)).limit(len(wanted))
    return {row.code: _entry(row) for row in (await session.execute(stmt)).scalars()}


async def get_code(session: AsyncSession, code: str) -> HsEntry | None:
    """One HS entry, or None if the code is not in the nomenclature."""
    return (await get_codes(session, [code])).get(code)


async def children(session: AsyncSession, code: str, *, limit: int = 25) -> list[HsEntry]:
    """The direct subheadings of a code (headings of a chapter, subheadings of a heading), in code order."""
    stmt = select(HsCode).where(HsCode.parent == code, *_levels_only()).order_by(HsCode.code).limit(limit)
    return [_entry(row) for row in (await session.execute(stmt)).scalars()]


async def count_children(session: AsyncSession, code: str) -> int:
    """How many direct subheadings a code has (to say "showing 25 of 40")."""
    stmt = select(func.count()).select_from(HsCode).where(HsCode.parent == code, *_levels_only())
    return int((await session.execute(stmt)).scalar_one())


async def codes_with_prefix(session: AsyncSession, prefix: str, *, limit: int = 50) -> list[HsEntry]:
    """Codes starting with a digit prefix (the prefix itself included), coarsest first, then in code order."""
    stmt = (
        select(HsCode)
        .where(HsCode.code >= prefix, HsCode.code < prefix_upper_bound(prefix), *_levels_only())
        .order_by(HsCode.level, HsCode.code)
        .limit(limit)
    )
    return [_entry(row) for row in (await session.execute(stmt)).scalars()]


async def nearest_codes(session: AsyncSession, code: str, *, limit: int = 5) -> list[HsEntry]:
    """Codes sharing the longest prefix with `code`: suggestions for a code not in the nomenclature."""
    for length in range(len(code) - 1, 1, -1):
        hits = [e for e in await codes_with_prefix(session, code[:length], limit=limit + 1) if e.code != code]
        if hits:
            return hits[:limit]
    return []


async def all_codes(session: AsyncSession) -> list[HsEntry]:
    """Every HS code with its description (about 7,000 rows), for fuzzy matching of words."""
    stmt = select(HsCode).where(*_levels_only()).order_by(HsCode.code).limit(MAX_CODES)
    return [_entry(row) for row in (await session.execute(stmt)).scalars()]
