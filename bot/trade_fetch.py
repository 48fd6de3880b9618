"""On-demand UN Comtrade fetching for commands: `Context.fetch_trade`, built from the config.

The commands call `await ctx.fetch_trade(ctx.session, reporter, partner, flow, hs_codes, years)` when the
database has no rows for a question; this module binds `db.ingest.comtrade_api.fetch_on_demand` to the
configured API base, key, timeout, call limit and cache folder. `[comtrade] fetch_on_demand = false`
turns it off (the commands then say how to load the data instead).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from db.ingest.comtrade_api import ComtradeParams, fetch_on_demand

# After Comtrade answered "nothing" for a request, do not ask again for this long (seconds): the preview
# API allows few calls, and a question repeated in a channel should not spend them.
EMPTY_ANSWER_TTL = 3600.0


def comtrade_params(config: Config) -> ComtradeParams:
    """The API settings of `config` ([comtrade] and COMTRADE_API_BASE / COMTRADE_API_KEY)."""
    section = config.comtrade
    return ComtradeParams(
        api_base=section.api_base,
        api_key=section.api_key,
        timeout=section.timeout_seconds,
        max_calls=section.max_pages,
        cache_dir=config.cache_dir / "comtrade",
    )


class OnDemandFetcher:
    """`Context.fetch_trade`: fetch missing monthly flows from UN Comtrade into the database."""

    def __init__(self, params: ComtradeParams) -> None:
        self.params = params
        self._empty: dict[tuple[object, ...], float] = {}

    async def __call__(
        self,
        session: AsyncSession,
        reporter: int,
        partner: int | None,
        flow: str | None,
        hs_codes: Sequence[str],
        years: Sequence[int],
    ) -> int:
        """Rows stored for the request (0 when Comtrade has nothing). Raises FetchFailed on API trouble."""
        key = (reporter, partner, flow, tuple(hs_codes), tuple(years))
        asked = self._empty.get(key)
        if asked is not None and time.monotonic() - asked < EMPTY_ANSWER_TTL:
            return 0
        loaded = await fetch_on_demand(session, reporter, partner, flow, hs_codes, years, params=self.params)
        if loaded:
            self._empty.pop(key, None)
        else:
            self._empty[key] = time.monotonic()
        return loaded


def trade_fetcher(config: Config) -> OnDemandFetcher | None:
    """The on-demand fetcher for `config`, or None when `[comtrade] fetch_on_demand` is off."""
    if not config.comtrade.fetch_on_demand:
        return None
    return OnDemandFetcher(comtrade_params(config))
