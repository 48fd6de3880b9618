"""A tiny discord.py 2.7 bot that knows nothing about the stand-in: a CommandTree with one command per payload
shape the stand-in must handle. The tests run it in-process; `python -m tests.discord_standin_tests.tinybot`
runs it as a separate process configured only by environment variables, as `tradewatch serve` will be.
"""

from __future__ import annotations

import asyncio
import io
import os
import struct
import zlib

import discord
import yarl
from discord import app_commands

COMMODITIES = ["chips", "chemicals", "bearings", "aluminium oxide", "machine tools", "optics"]


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid PNG (RGB, all black), so tests can check Discord-style width/height reporting."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\x00" * 3 * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class ErrorRecordingTree(app_commands.CommandTree):
    """Records every command error and answers it the way a careful bot does."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        code = getattr(original, "code", None)
        self.client.errors.put_nowait((interaction.command.name if interaction.command else None, code))  # type: ignore[attr-defined]
        try:
            if interaction.response.is_done():
                await interaction.followup.send(f"failed with code {code}", ephemeral=True)
            else:
                await interaction.response.send_message(f"failed with code {code}", ephemeral=True)
        except discord.HTTPException as again:
            self.client.errors.put_nowait(("on_error", again.code))  # type: ignore[attr-defined]


class TinyBot(discord.Client):
    def __init__(self, guild_id: int, *, members_intent: bool = False) -> None:
        intents = discord.Intents.default()
        intents.members = members_intent
        super().__init__(
            intents=intents, guild_ready_timeout=0.05, allowed_mentions=discord.AllowedMentions.none()
        )
        self.guild_id = guild_id
        self.tree = ErrorRecordingTree(self)
        self.release = asyncio.Event()  # /slow and /late wait for it
        self.errors: asyncio.Queue[tuple[str | None, int | None]] = asyncio.Queue()
        add_commands(self.tree, self, discord.Object(guild_id))

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=discord.Object(self.guild_id))

    async def next_error(self, timeout: float = 5.0) -> tuple[str | None, int | None]:
        return await asyncio.wait_for(self.errors.get(), timeout)


def chart_embed(title: str) -> discord.Embed:
    embed = discord.Embed(title=title, description="Monthly values (invented test data)")
    embed.add_field(name="Total", value="42", inline=True)
    embed.set_footer(text="Source: stand-in test")
    embed.set_image(url="attachment://chart.png")
    return embed


def add_commands(tree: app_commands.CommandTree, bot: TinyBot, guild: discord.abc.Snowflake) -> None:
    add_reply_commands(tree, guild)
    add_rule_commands(tree, bot, guild)
    add_option_commands(tree, guild)


def add_reply_commands(tree: app_commands.CommandTree, guild: discord.abc.Snowflake) -> None:
    """Replies of every shape: embed + file, deferred followups, edits and deletes, autocomplete."""

    @tree.command(guild=guild, description="Reply at once with an embed and a PNG")
    async def quick(interaction: discord.Interaction, private: bool = False) -> None:
        png = discord.File(io.BytesIO(tiny_png()), filename="chart.png")
        await interaction.response.send_message(
            "quick reply", embed=chart_embed("Quick"), file=png, ephemeral=private
        )

    @tree.command(guild=guild, description="Defer, then follow up with a chart")
    @app_commands.describe(commodity="What goods", year="Which year")
    async def chart(
        interaction: discord.Interaction,
        commodity: str,
        year: app_commands.Range[int, 2000, 2030] | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True)
        png = discord.File(io.BytesIO(tiny_png(8, 5)), filename="chart.png")
        await interaction.followup.send(embed=chart_embed(f"{commodity} {year or 'all years'}"), file=png)
        await interaction.followup.send("second followup")

    @chart.autocomplete("commodity")
    async def commodity_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=c, value=c) for c in COMMODITIES if c.startswith(current.lower())][
            :25
        ]

    @tree.command(guild=guild, description="Autocomplete that offers too many choices (a bot bug)")
    async def greedy(interaction: discord.Interaction, word: str) -> None:
        await interaction.response.send_message(word)

    @greedy.autocomplete("word")
    async def too_many(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{current}{i}", value=f"{current}{i}") for i in range(30)]

    @tree.command(guild=guild, description="Plain text reply")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @tree.command(guild=guild, description="Edits and deletes its own reply")
    async def churn(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("draft")
        await interaction.edit_original_response(content="edited")
        message = await interaction.followup.send("temporary", wait=True)
        await message.delete()

    @tree.command(guild=guild, description="Defers in public, then answers privately")
    async def oops(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.delete_original_response()
        await interaction.followup.send("only you can see this", ephemeral=True)


def add_rule_commands(tree: app_commands.CommandTree, bot: TinyBot, guild: discord.abc.Snowflake) -> None:
    """Commands that break Discord's rules on purpose: limits, the 3 s deadline, the 15 min token."""

    @tree.command(guild=guild, description="An embed over Discord's description limit")
    async def toolong(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=discord.Embed(description="x" * 5000))

    @tree.command(guild=guild, description="Answers only when the test releases it")
    async def slow(interaction: discord.Interaction) -> None:
        await bot.release.wait()
        await interaction.response.send_message("finally")

    @tree.command(guild=guild, description="Defers, then follows up only when the test releases it")
    async def late(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await bot.release.wait()
        await interaction.followup.send("too late")


def add_option_commands(tree: app_commands.CommandTree, guild: discord.abc.Snowflake) -> None:
    """Every option kind: attachments, static choices, permissions, subcommand groups with resolved objects."""

    @tree.command(guild=guild, description="Reads an attached file")
    async def upload(interaction: discord.Interaction, document: discord.Attachment) -> None:
        data = await document.read()
        await interaction.response.send_message(f"{document.filename} {len(data)} {data[:5]!r}")

    @tree.command(guild=guild, description="Static choices")
    @app_commands.choices(
        flow=[
            app_commands.Choice(name="Exports", value="exports"),
            app_commands.Choice(name="Imports", value="imports"),
        ]
    )
    async def pick(interaction: discord.Interaction, flow: app_commands.Choice[str]) -> None:
        await interaction.response.send_message(f"picked {flow.value}")

    @tree.command(guild=guild, description="Only for members who can manage the server")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("admin ok")

    watch = app_commands.Group(name="watch", description="Watch channels", guild_ids=[guild.id])
    rules = app_commands.Group(name="rule", description="Watch rules", parent=watch)

    @rules.command(name="add", description="Add a rule")
    async def rule_add(
        interaction: discord.Interaction,
        keyword: str,
        channel: discord.TextChannel,
        who: discord.Member,
        role: discord.Role | None = None,
    ) -> None:
        roles = [r.name for r in who.roles]
        await interaction.response.send_message(
            f"{keyword} #{channel.name} {who.name} {roles} {role.name if role else '-'}"
        )

    @watch.command(name="list", description="List rules")
    async def watch_list(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"rules for {interaction.channel.name} by {interaction.user.name}"
        )

    tree.add_command(watch)


async def run_from_environment() -> None:
    """Separate-process mode: configured like the real bot, by DISCORD_API_BASE / DISCORD_GATEWAY_URL / DISCORD_TOKEN."""
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
    async with TinyBot(int(os.environ["STANDIN_GUILD_ID"])) as bot:
        await bot.start(os.environ["DISCORD_TOKEN"])


if __name__ == "__main__":
    asyncio.run(run_from_environment())
