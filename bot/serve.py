"""`tradewatch serve` (run the bot until SIGTERM/SIGINT) and `tradewatch sync-commands` (global registration)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

import click
import discord
from sqlalchemy.engine import make_url

from bot.client import TradewatchBot, apply_endpoints
from bot.config import Config
from bot.logs import event, setup_logging
from bot.sync_schedule import start_sync_thread
from db.engine import SchemaOutOfDate

log = logging.getLogger("bot.serve")

EXIT_OK = 0
EXIT_CONFIG = 78  # EX_CONFIG: the operator must fix the configuration (token, database, schema)
EXIT_FAILED = 1


def secrets_of(config: Config) -> list[str]:
    """Values the logs must never show: the token, API keys, the database password."""
    password = ""
    try:
        password = make_url(config.database_url).password or ""
    except Exception:  # a malformed URL fails later with its own message
        password = ""
    return [config.discord.token, config.comtrade.api_key, password]


def _require_token(config: Config) -> str:
    if not config.discord.token:
        raise click.ClickException(
            "DISCORD_TOKEN is not set: export the bot token from the Discord developer portal."
        )
    return config.discord.token


async def run_bot(
    config: Config, *, stop_signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
) -> int:
    """Run the bot until a stop signal or a fatal error; close everything; return the exit code."""
    token = _require_token(config)
    apply_endpoints(config.discord)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stopping.set()

    for sig in stop_signals:
        loop.add_signal_handler(sig, on_signal, sig)
    bot = TradewatchBot(config)
    sync_thread = start_sync_thread(config)  # the source sync schedule, on its own thread
    try:
        async with bot:
            runner = asyncio.create_task(bot.start(token), name="tradewatch-bot")
            waiter = asyncio.create_task(stopping.wait(), name="tradewatch-stop")
            await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.is_set():
                event(log, "shutdown", signal=received[0])
                await bot.close()
            waiter.cancel()
            await runner  # re-raises what ended the bot, if it was not a signal
    except discord.LoginFailure:
        event(log, "login_failed", logging.ERROR, hint="DISCORD_TOKEN was refused by Discord")
        return EXIT_CONFIG
    except discord.PrivilegedIntentsRequired:
        event(log, "intents_refused", logging.ERROR)
        return EXIT_CONFIG
    except SchemaOutOfDate as exc:
        event(log, "schema_out_of_date", logging.ERROR, detail=str(exc))
        return EXIT_CONFIG
    except Exception as exc:
        event(log, "bot_failed", logging.ERROR, exc_info=exc, error=repr(exc)[:300])
        return EXIT_FAILED
    finally:
        for sig in stop_signals:
            loop.remove_signal_handler(sig)
        if sync_thread is not None:
            await asyncio.to_thread(sync_thread.stop)
    event(log, "stopped")
    return EXIT_OK


async def sync_global(config: Config, *, clear_guilds: bool) -> list[str]:
    """Log in (no gateway), register every command globally; optionally remove per-guild copies."""
    token = _require_token(config)
    apply_endpoints(config.discord)
    bot = TradewatchBot(config, open_database=False, sync_guilds=False)
    async with bot:
        await bot.login(token)
        synced = await bot.tree.sync()
        if clear_guilds:
            for guild in config.discord.guilds:
                # An empty guild set removes the guild copies, so members do not see every command twice.
                await bot.tree.sync(guild=discord.Object(id=guild.guild_id))
    return sorted(c.name for c in synced)


@click.command("serve")
@click.option(
    "--log-format",
    type=click.Choice(["kv", "json"]),
    default="kv",
    show_default=True,
    help="Log lines as key=value or as JSON objects.",
)
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning"]), default="info", show_default=True
)
@click.pass_obj
def serve(config: Config, log_format: str, log_level: str) -> None:
    """Run the Discord bot (token from DISCORD_TOKEN) until stopped with Ctrl-C or SIGTERM."""
    _require_token(config)
    setup_logging(
        getattr(logging, log_level.upper()), as_json=log_format == "json", secrets=secrets_of(config)
    )
    raise SystemExit(asyncio.run(run_bot(config)))


@click.command("sync-commands")
@click.option(
    "--clear-guilds",
    is_flag=True,
    help="Also remove the per-guild copies registered at start (avoids duplicates in those guilds).",
)
@click.pass_obj
def sync_commands(config: Config, clear_guilds: bool) -> None:
    """Register the slash commands globally (every server the bot is in; may take up to an hour to show)."""
    _require_token(config)
    setup_logging(logging.INFO, secrets=secrets_of(config))
    try:
        names = asyncio.run(sync_global(config, clear_guilds=clear_guilds))
    except discord.LoginFailure:
        raise click.ClickException("Discord refused DISCORD_TOKEN.") from None
    except discord.HTTPException as exc:
        raise click.ClickException(f"Discord refused the commands: {exc.text or exc}") from None
    click.echo(f"registered {len(names)} global command(s): {', '.join('/' + n for n in names)}")
