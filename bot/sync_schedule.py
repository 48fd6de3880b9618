"""Start the source sync schedule beside the bot in `tradewatch serve` (see db/sync/scheduler.py)."""

from __future__ import annotations

import logging

from bot.config import Config
from db.sync.scheduler import SyncThread

log = logging.getLogger(__name__)


def start_sync_thread(config: Config) -> SyncThread | None:
    """Start the sync schedule on its own thread, unless `[sync] enabled = false`; stop it with `.stop()`."""
    if not config.sync.enabled:
        log.info("sync schedule off ([sync] enabled = false)")
        return None
    thread = SyncThread(
        config.database_url,
        config.cache_dir,
        config.sync.sources(),
        timeout=config.sync.timeout_seconds,
        jitter=config.sync.jitter_seconds,
        mass_change=config.imports.policy(),
    )
    thread.start()
    return thread
