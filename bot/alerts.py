"""The alert delivery loop: post the outbox's pending alerts to their watch channels, exactly once.

Scheduled briefs (/watch schedule) go through the same loop and the same steps: each pass first writes the
briefs now due in their own outbox (db.queries.brief_schedule: one row per schedule and slot, whichever
process gets there first), then claims alerts and briefs alike; a brief's nonce is `twb<id>`.

How exactly-once holds, step by step (db.queries.watch has the claim details):
1. The import wrote each alert in the outbox in the same transaction as its change (db.outbox).
2. A loop claims a few deliveries (status `sending`, leased to this process) and commits.
3. It posts each with a deterministic nonce and `enforce_nonce` (discord.py sets it with `nonce=`): if an
   earlier attempt did reach Discord (we crashed before step 4, or a timeout hid the answer), Discord
   returns that message instead of creating a second one.
4. It marks the rows `sent` with the message id.
If the process dies anywhere, the lease runs out and the rows are claimed again (at once on SQLite, where
one process delivers per database and its predecessor is known dead), and step 3 makes the repeat
harmless. Discord remembers nonces for a few minutes only, so a retry later than `nonce_window_seconds`
after the first attempt first looks for the alert among the channel's messages since then, newest first
(each alert's footer ends with its reference).

Errors: 429 is retried by discord.py itself; 5xx, timeouts and connection errors are retried here with
doubling waits; a deleted channel (404 10003) or one the bot may not post in (403 50001/50013) pauses
the channel's watches with the reason and holds their alerts (`/watch resume` sends them); any other
refusal marks the alert failed with Discord's message. The loop itself never dies: every error is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.config import AlertsConfig
from bot.errors import database_outage
from bot.logs import event
from bot.render import LIMITS, render
from commands.alerts import delivery_reply
from commands.replies import Reply
from db.queries.brief_schedule import claim_briefs, enqueue_due
from db.queries.outbox_state import Delivery, mark_failed, mark_retry, mark_sent, release_claims
from db.queries.watch import claim_deliveries, hold_for_paused_channel

if TYPE_CHECKING:
    from bot.client import TradewatchBot

log = logging.getLogger(__name__)

MARKER_PREFIX = "alert ref "
NOT_ALLOWED = {50001, 50013}  # Missing Access, Missing Permissions
RETRYABLE = (asyncio.TimeoutError, aiohttp.ClientError, OSError, discord.DiscordServerError)
# The look-back after Discord's nonce memory: messages read at most (30 requests), and the margin before the
# first attempt for the difference between our clock and Discord's.
LOOKBACK_MESSAGES = 3000
LOOKBACK_MARGIN = dt.timedelta(seconds=30)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def worker_id() -> str:
    """This process's claimer id: host, pid and a random part (pids are reused across restarts)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def backoff(attempts: int, cap: float) -> dt.timedelta:
    """5 s after the first failure, doubling, at most `cap` seconds."""
    return dt.timedelta(seconds=min(5.0 * 2 ** max(attempts - 1, 0), cap))


def add_marker(message: dict[str, Any], nonce: str) -> None:
    """End the embed footer with the alert's reference, so a later retry can find the message it posted."""
    embed: discord.Embed = message["embeds"][0]
    marker = MARKER_PREFIX + nonce
    footer = embed.footer.text or ""
    text = f"{footer}\n{marker}" if footer else marker
    if len(text) > LIMITS.footer or len(embed) - len(footer) + len(text) > LIMITS.total:
        return  # no room (render filled the embed): the nonce alone protects retries within its window
    embed.set_footer(text=text)


class SqliteDeliveryLock:
    """One delivering process per SQLite file: an flock the kernel drops when the process dies."""

    def __init__(self, database: str | None) -> None:
        self.path = Path(f"{database}.alerts.lock") if database and database != ":memory:" else None
        self._fd: int | None = None
        self.held = False

    def acquire(self) -> bool:
        """Take the lock without waiting; True when this process holds it (now or already)."""
        if self.held or self.path is None:
            self.held = True
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd, self.held = fd, True
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.held = False


class AlertDelivery:
    """The delivery loop of one bot process.

    Args:
        bot: the running bot (its database, lookups and Discord connection).
        config: the [alerts] settings.
    """

    def __init__(self, bot: TradewatchBot, config: AlertsConfig) -> None:
        self.bot = bot
        self.config = config
        self.worker = worker_id()
        self.lease = dt.timedelta(seconds=config.lease_seconds)
        self.task: asyncio.Task[None] | None = None
        self._paused_now: set[int] = set()
        self._last_enqueue: float | None = None
        engine = bot.app.engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.lock = SqliteDeliveryLock(engine.url.database if self.sqlite else None)

    def start(self) -> None:
        """Start the loop as a background task (from setup_hook or a cog's load)."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run(), name="tradewatch-alerts")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.lock.release()

    async def run(self) -> None:
        """Wait for the gateway, then deliver until cancelled; never dies on an error."""
        await self.bot.wait_until_ready()
        event(log, "alerts_started", worker=self.worker, backend="sqlite" if self.sqlite else "postgresql")
        while True:
            delivered = 0
            try:
                if await self._may_deliver():
                    delivered = await self.deliver_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if database_outage(exc):  # SQLite busy with a long import, PostgreSQL restarting: poll again
                    event(log, "alerts_database_unavailable", logging.WARNING, error=repr(exc)[:300])
                else:
                    event(log, "alerts_loop_error", logging.ERROR, exc_info=exc, error=repr(exc)[:300])
            # Keep going at once while there is work; otherwise wait for the next poll.
            await asyncio.sleep(0 if delivered else self.config.poll_seconds)

    async def _may_deliver(self) -> bool:
        if not self.sqlite:
            return True
        if self.lock.held:
            return True
        if not self.lock.acquire():
            return False
        # We are the only deliverer of this SQLite file now; any claim still open belonged to a dead process.
        released = await release_claims(self.bot.app.sessions, utcnow())
        event(log, "alerts_lock_taken", released_claims=released)
        return True

    async def enqueue_briefs(self) -> int:
        """Write the scheduled briefs due now in their outbox (at most once a poll interval)."""
        clock = asyncio.get_running_loop().time()
        if self._last_enqueue is not None and clock - self._last_enqueue < self.config.poll_seconds:
            return 0
        self._last_enqueue = clock
        written = await enqueue_due(self.bot.app.sessions, utcnow())
        if written:
            event(log, "briefs_due", briefs=written)
        return written

    async def deliver_once(self) -> int:
        """Enqueue due briefs, then claim and post one batch; returns how many deliveries were attempted."""
        try:
            await self.enqueue_briefs()
        except Exception as exc:  # alerts still go out; the loop logs an outage when the claims fail too
            event(log, "briefs_enqueue_failed", logging.WARNING, error=repr(exc)[:300])
        sessions, now = self.bot.app.sessions, utcnow()
        deliveries = await claim_deliveries(
            sessions,
            worker=self.worker,
            now=now,
            lease=self.lease,
            digest_threshold=self.config.digest_threshold,
            limit=10,
        )
        deliveries += await claim_briefs(sessions, worker=self.worker, now=now, lease=self.lease, limit=2)
        self._paused_now = set()
        for delivery in deliveries:
            try:
                if delivery.channel_id in self._paused_now:  # its channel failed a moment ago: hold it
                    await hold_for_paused_channel(self.bot.app.sessions, delivery, "channel paused", utcnow())
                    continue
                await self.deliver(delivery)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug for this one delivery: retry later, keep the others going
                event(log, "alert_failed_unexpectedly", logging.ERROR, exc_info=exc, nonce=delivery.nonce)
                await mark_retry(
                    self.bot.app.sessions,
                    delivery,
                    f"unexpected: {exc!r}"[:1000],
                    utcnow() + backoff(delivery.attempts, self.config.max_backoff_seconds),
                )
        return len(deliveries)

    async def deliver(self, delivery: Delivery) -> None:
        """Post one delivery and record the outcome."""
        sessions = self.bot.app.sessions
        reply = await self._reply(delivery)
        if reply is None:
            await mark_failed(sessions, delivery, "the changes of this alert no longer exist")
            return
        channel = self.bot.get_partial_messageable(delivery.channel_id, guild_id=delivery.guild_id)
        if await self._already_posted(channel, delivery):
            return
        message = render(reply)
        message.pop("ephemeral", None)
        add_marker(message, delivery.nonce)
        try:
            posted = await asyncio.wait_for(
                channel.send(**message, nonce=delivery.nonce), timeout=self.config.lease_seconds / 2
            )
        except discord.HTTPException as exc:
            await self._refused(delivery, exc)
            return
        except RETRYABLE as exc:
            await self._retry(delivery, f"{type(exc).__name__}: {exc}")
            return
        settled = await mark_sent(sessions, delivery, posted.id, utcnow())
        event(
            log,
            "alert_sent",
            nonce=delivery.nonce,
            channel=delivery.channel_id,
            message=posted.id,
            rows=len(delivery.outbox_ids),
            settled=settled,
            digest=delivery.is_digest,
            brief=delivery.brief is not None,
        )

    async def _reply(self, delivery: Delivery) -> Reply | None:
        """What to post: the alert (or digest) of the delivery's changes, or the scheduled brief."""
        from commands.watch_schedule import scheduled_brief  # the brief's modules: only once one is due

        async with self.bot.app.sessions() as session:
            if delivery.brief is not None:
                return await scheduled_brief(self.bot.command_context(session), delivery.brief)
            return await delivery_reply(
                session, delivery.change_ids, digest=delivery.is_digest, lookups=self.bot.app.lookups
            )

    async def _already_posted(self, channel: discord.PartialMessageable, delivery: Delivery) -> bool:
        """Once Discord may have forgotten the nonce, look for the message an earlier attempt may have posted.

        Any such message is newer than the first attempt, so the channel is read from now back to that moment
        (less a margin for clock skew), newest first, 100 messages a request, at most LOOKBACK_MESSAGES: an
        alert is found however busy the channel (reading only the oldest 100 of the window missed one after
        249 other messages). If the window holds even more, the alert is posted and the miss is logged.
        """
        first = delivery.first_attempt_at
        window = dt.timedelta(seconds=self.config.nonce_window_seconds)
        if first is None or utcnow() - first < window:
            return False  # every earlier attempt is within Discord's nonce memory: the nonce alone suffices
        marker = MARKER_PREFIX + delivery.nonce
        after = discord.Object(id=discord.utils.time_snowflake(first - LOOKBACK_MARGIN))
        scanned = 0
        try:
            async for message in channel.history(limit=LOOKBACK_MESSAGES, after=after, oldest_first=False):
                scanned += 1
                if self.bot.user and message.author.id != self.bot.user.id:
                    continue
                if any(marker in (embed.footer.text or "").split("\n") for embed in message.embeds):
                    await mark_sent(self.bot.app.sessions, delivery, message.id, utcnow())
                    event(
                        log, "alert_found_posted", nonce=delivery.nonce, message=message.id, scanned=scanned
                    )
                    return True
        except discord.HTTPException as exc:  # no Read Message History: post, relying on the nonce alone
            event(log, "alert_history_unreadable", logging.WARNING, nonce=delivery.nonce, status=exc.status)
            return False
        if scanned >= LOOKBACK_MESSAGES:
            event(log, "alert_lookback_incomplete", logging.WARNING, nonce=delivery.nonce, scanned=scanned)
        return False

    async def _refused(self, delivery: Delivery, exc: discord.HTTPException) -> None:
        sessions = self.bot.app.sessions
        if isinstance(exc, discord.NotFound) and exc.code == 10008:
            # Our nonce's message existed and someone deleted it: it was delivered; do not post it again.
            await mark_sent(sessions, delivery, 0, utcnow())
            event(log, "alert_deleted_in_discord", logging.WARNING, nonce=delivery.nonce)
        elif exc.status >= 500 or exc.status == 429:
            await self._retry(delivery, f"Discord {exc.status} {exc.code}: {exc.text}"[:500])
        elif exc.status == 404 or (exc.status == 403 and (exc.code in NOT_ALLOWED or exc.code == 0)):
            reason = (
                f"channel {delivery.channel_id} no longer exists (Discord 404 {exc.code})"
                if exc.status == 404
                else f"the bot may not post in channel {delivery.channel_id} (Discord 403 {exc.code}: {exc.text})"
            )
            paused = await hold_for_paused_channel(sessions, delivery, reason, utcnow())
            self._paused_now.add(delivery.channel_id)
            event(
                log,
                "watch_paused",
                logging.WARNING,
                channel=delivery.channel_id,
                watches=paused,
                reason=reason,
            )
        else:
            await mark_failed(
                sessions, delivery, f"Discord refused the alert: {exc.status} {exc.code} {exc.text}"
            )
            event(
                log,
                "alert_refused",
                logging.ERROR,
                nonce=delivery.nonce,
                status=exc.status,
                code=exc.code,
                text=str(exc.text)[:300],
            )

    async def _retry(self, delivery: Delivery, error: str) -> None:
        wait = backoff(delivery.attempts, self.config.max_backoff_seconds)
        await mark_retry(self.bot.app.sessions, delivery, error, utcnow() + wait)
        event(
            log,
            "alert_retry",
            logging.WARNING,
            nonce=delivery.nonce,
            attempts=delivery.attempts,
            wait_seconds=wait.total_seconds(),
            error=error[:300],
        )
