"""What a command needs besides its arguments: a database session, reference data, the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from commands.focus import Focus
    from db.lookups import Lookups
    from db.sources import SourceSettings


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Context:
    """Passed to every command's `run`.

    Args:
        session: an open database session (the caller owns its lifetime).
        lookups: commodity aliases, CHPL and country reference data.
        now: the clock, injected so tests are repeatable.
        fetch_trade: optional on-demand fetcher for trade data the database lacks (UN Comtrade);
            called with (session, reporter, partner, flow, hs_codes, years) and returns rows loaded.
        sync_settings: the `[sync.<source>]` settings in force (for `/sources`' staleness limits); None: the
            registry's defaults.
        focus: the team's focus (config [focus]) for /changes and /brief; None: the defaults.
    """

    session: AsyncSession
    lookups: Lookups
    now: Callable[[], dt.datetime] = utcnow
    fetch_trade: Callable[..., Awaitable[int]] | None = None
    sync_settings: Mapping[str, SourceSettings] | None = None
    focus: Focus | None = None
