"""The mass-change guard: a list snapshot that would delist or amend too much of a list is held, not applied.

A list file cut short in transit still parses (a cut at a line boundary leaves whole rows), and change
detection would read every missing entry as a delisting: thousands of false "Delisted" alerts. The importers
check what completeness the publishers give (OFAC's end-of-file byte, the XML's record count, the CSL API's
total, OpenSanctions' checksums), and this guard catches what no check can: a snapshot that removes, or
amends, more than `share` of the entries the list held is rolled back, recorded as a hold (shown by `/sources`
and `/watch list`), and applied only when someone confirms it (`tradewatch import ... --accept-mass-change`,
`tradewatch sync SOURCE --accept-mass-change`). No change rows and no alerts exist for a held snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed
from db.models import ImportHold

DEFAULT_SHARE = 0.05  # the default of `[imports] mass_change_share` in config.toml
# Below this many entries a list is too small for shares to mean anything (a 13-row excerpt loses 1 row = 8%).
MIN_ENTRIES = 100


@dataclass(frozen=True)
class MassChangePolicy:
    """How much of a list one snapshot may delist or amend before it is held (`accept` applies it anyway)."""

    share: float = DEFAULT_SHARE
    accept: bool = False


class MassChangeHeld(ImportFailed):
    """The snapshot was rolled back and recorded as a hold; `reason` says what it would have done."""

    def __init__(self, source_key: str, reason: str) -> None:
        self.source_key = source_key
        self.reason = reason
        self.sha256 = ""  # which file: filled in by importers that load several (OpenSanctions deltas)
        self.file_name = ""
        super().__init__(
            f"{source_key}: held, not applied: {reason}. If the publisher really changed this much, apply it with "
            "--accept-mass-change (tradewatch import ... or tradewatch sync SOURCE); no alerts were queued"
        )


def check(
    source_key: str, policy: MassChangePolicy, *, active_before: int, removed: int, amended: int
) -> None:
    """Raise MassChangeHeld when removals or amendments each exceed the policy's share of the list."""
    if policy.accept or active_before < MIN_ENTRIES:
        return
    problems = [
        f"{count:,} {what} of {active_before:,} entries ({count / active_before:.1%})"
        for count, what in ((removed, "delisted"), (amended, "amended"))
        if count > policy.share * active_before
    ]
    if problems:
        limit = f"more than the {policy.share:.0%} a snapshot may change"
        raise MassChangeHeld(source_key, f"it would record {' and '.join(problems)}, {limit}")


async def record_hold(
    sessions: async_sessionmaker[AsyncSession],
    held: MassChangeHeld,
    *,
    sha256: str,
    file_name: str,
    now: dt.datetime,
) -> None:
    """Remember the held file (one row per source, replaced by a newer hold) in its own transaction."""
    async with sessions.begin() as session:
        await session.execute(delete(ImportHold).where(ImportHold.source_key == held.source_key))
        session.add(
            ImportHold(
                source_key=held.source_key,
                sha256=sha256,
                file_name=file_name[:500],
                reason=held.reason[:1000],
                held_at=now,
            )
        )


async def clear_hold(session: AsyncSession, source_key: str) -> None:
    """A snapshot of the source was applied: its hold, if any, is over (inside the import's transaction)."""
    if (await session.execute(select(ImportHold.id).where(ImportHold.source_key == source_key))).first():
        await session.execute(delete(ImportHold).where(ImportHold.source_key == source_key))
