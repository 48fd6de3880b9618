"""A plain discord.py 2.7 client over every payload shape the stand-in emits, in both compression modes."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.discord_standin import Driver, FileOption, Message, UsageError

from .tinybot import COMMODITIES, TinyBot, tiny_png

pytestmark = pytest.mark.usefixtures("compression")


async def test_login_ready_and_guild_create_build_the_client_cache(
    bot: TinyBot, discord_server: Driver
) -> None:
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    guild = bot.get_guild(discord_server.guild.id)
    assert guild is not None and guild.name == "Stand-in Newsroom"
    assert {c.name for c in guild.text_channels} == {"general", "alerts", "newsroom"}
    assert {r.name for r in guild.roles} >= {"@everyone", "Researcher", "Moderator", "Admin"}
    assert guild.me is not None and bot.user.id == discord_server.application_id
    assert bot.application_id == discord_server.application_id
    routes = [r.route for r in discord_server.requests()]
    assert routes[:3] == [
        "GET /users/@me",
        "GET /oauth2/applications/@me",
        "PUT /applications/{application_id}/guilds/{guild_id}/commands",
    ]
    connect = next(e for e in discord_server.gateway_events if e.kind == "connect")
    assert connect.detail["compress"] == discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE


async def test_members_intent_gets_a_members_chunk(bots, discord_server: Driver) -> None:
    discord_server.standin.gateway.allowed_privileged_intents = 1 << 1
    bot = await bots.start(members_intent=True)
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    guild = bot.get_guild(discord_server.guild.id)
    assert {m.name for m in guild.members} >= {"alice", "bob", "carol", "dana"}
    assert any(e.kind == "op8" for e in discord_server.gateway_events)


async def test_command_reply_with_embed_and_png(bot: TinyBot, discord_server: Driver) -> None:
    handle = await discord_server.invoke("quick")
    reply = await handle.reply()
    ack = await handle.ack()
    assert ack.response_type == 4 and not ack.deferred and ack.delay < 3
    assert reply.content == "quick reply" and not reply.ephemeral
    assert reply.embeds[0]["title"] == "Quick"
    chart = reply.attachment("chart.png")
    assert (
        chart.data == tiny_png()
        and (chart.width, chart.height) == (4, 3)
        and chart.content_type == "image/png"
    )
    assert reply.embeds[0]["image"]["url"] == chart.url and not reply.unresolved_attachment_refs
    assert reply.allowed_mentions == {"parse": []}
    callback = discord_server.requests("POST /interactions/{interaction_id}/{interaction_token}/callback")[-1]
    assert callback.content_type == "multipart/form-data" and callback.query == {"with_response": "1"}
    assert [f.filename for f in callback.files] == ["chart.png"]
    seen = await bot.wait_for("message", check=lambda m: m.id == reply.id, timeout=5)
    assert seen.attachments[0].filename == "chart.png" and seen.interaction_metadata.id == handle.id


async def test_ephemeral_reply_has_flag_64_and_no_gateway_echo(bot: TinyBot, discord_server: Driver) -> None:
    seen: list[tuple[str, bool]] = []
    discord_server.on_message(lambda event, message: seen.append((event, message.ephemeral)))
    handle = await discord_server.invoke("quick", {"private": True})
    reply = await handle.reply()
    assert reply.ephemeral and reply.flags & 64 and (await handle.ack()).ephemeral
    assert reply not in discord_server.messages("general")
    assert reply in discord_server.messages("general", include_ephemeral=True)
    assert seen == [("MESSAGE_CREATE", True)]


async def test_defer_then_followups(bot: TinyBot, discord_server: Driver) -> None:
    edits = asyncio.ensure_future(bot.wait_for("raw_message_edit", timeout=5))
    handle = await discord_server.invoke("chart", {"commodity": "chips", "year": 2022})
    ack = await handle.ack()
    assert ack.deferred
    reply = await handle.reply()
    assert reply.embeds[0]["title"] == "chips 2022" and reply.attachment("chart.png").width == 8
    assert (
        reply is handle.record.original and reply.edits == 1
    )  # the first followup filled the "thinking" message
    second = (await handle.followups(1))[0]
    assert second.content == "second followup" and second.id != reply.id
    assert (await edits).message_id == reply.id
    followup = discord_server.requests("POST /webhooks/{webhook_id}/{webhook_token}")[0]
    assert followup.query == {"wait": "1", "with_components": "0"}


async def test_autocomplete_choices(bot: TinyBot, discord_server: Driver) -> None:
    choices = await discord_server.autocomplete("chart", "commodity", "ch", {"year": 2021})
    assert choices == [{"name": c, "value": c} for c in COMMODITIES if c.startswith("ch")]
    sent = list(discord_server.standin.store.interactions.values())[-1].payload["data"]["options"]
    assert {"name": "commodity", "type": 3, "value": "ch", "focused": True} in sent


async def test_autocomplete_over_25_choices_is_refused(bots, bot: TinyBot, discord_server: Driver) -> None:
    bots.expected_log_errors.append("Ignoring exception in autocomplete")
    with pytest.raises(AssertionError, match="50035"):
        await discord_server.autocomplete("greedy", "word", "w")
    assert (
        discord_server.rejections[-1].body["errors"]["data"]["choices"]["_errors"][0]["code"]
        == "BASE_TYPE_MAX_LENGTH"
    )


async def test_subcommand_groups_resolve_channels_members_and_roles(
    bot: TinyBot, discord_server: Driver
) -> None:
    handle = await discord_server.invoke(
        "watch rule add", {"keyword": "rosatom", "channel": "alerts", "who": "carol", "role": "Researcher"}
    )
    assert (await handle.reply()).content == "rosatom #alerts carol ['@everyone', 'Moderator'] Researcher"
    listing = await discord_server.invoke("watch list", user="bob", channel="newsroom")
    assert (await listing.reply()).content == "rules for newsroom by bob"


async def test_attachment_option_is_downloadable_from_the_stand_in(
    bot: TinyBot, discord_server: Driver
) -> None:
    handle = await discord_server.invoke(
        "upload", {"document": FileOption("list.csv", b"name,country\nA,RU\n")}
    )
    assert (await handle.reply()).content == "list.csv 18 b'name,'"


async def test_choices_edits_and_deletes(bot: TinyBot, discord_server: Driver) -> None:
    assert (
        await (await discord_server.invoke("pick", {"flow": "imports"})).reply()
    ).content == "picked imports"
    deleted = asyncio.ensure_future(bot.wait_for("raw_message_delete", timeout=5))
    handle = await discord_server.invoke("churn")
    await deleted
    assert handle.record.original.content == "edited" and handle.record.original.edits == 1
    assert [m.deleted for m in handle.record.followups] == [True]


async def test_channel_send_with_nonce_is_deduplicated(bot: TinyBot, discord_server: Driver) -> None:
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    alerts = bot.get_channel(discord_server.channel("alerts").id)
    first = await alerts.send("alert: new listing", nonce=4242)
    echoed = await bot.wait_for("message", check=lambda m: m.id == first.id, timeout=5)
    again = await alerts.send("alert: new listing (retry)", nonce=4242)
    assert again.id == first.id and echoed.content == "alert: new listing"
    assert [m.content for m in discord_server.messages("alerts")] == ["alert: new listing"]
    discord_server.advance(301)  # outside Discord's "few minutes" window a nonce no longer deduplicates
    later = await alerts.send("alert: next day", nonce=4242)
    assert later.id != first.id and len(discord_server.messages("alerts")) == 2
    sent = discord_server.requests("POST /channels/{channel_id}/messages")[0].json
    assert sent["enforce_nonce"] is True and sent["allowed_mentions"] == {"parse": []}


async def test_driver_refuses_what_a_discord_client_would_not_send(
    bot: TinyBot, discord_server: Driver
) -> None:
    mistakes = [
        ("nosuch", {}, "no synced command"),
        ("chart", {"commodity": "chips", "colour": "red"}, "has no option"),
        ("chart", {}, "requires option 'commodity'"),
        ("chart", {"commodity": "chips", "year": 1999}, "must be within 2000..2030"),
        ("chart", {"commodity": 5}, "is a string"),
        ("pick", {"flow": "sideways"}, "must be one of"),
        ("watch", {}, "needs a subcommand"),
        ("watch rule remove", {}, "has no subcommand"),
        ("admin", {}, "hidden from this member"),
    ]
    for command, options, message in mistakes:
        with pytest.raises(UsageError, match=message):
            await discord_server.invoke(command, options)
    with pytest.raises(UsageError, match="has no autocomplete"):
        await discord_server.autocomplete("chart", "year", "20")
    assert (await (await discord_server.invoke("admin", user="dana")).reply()).content == "admin ok"
    assert (await (await discord_server.invoke("admin", roles=["Admin"])).reply()).content == "admin ok"


async def test_deleted_placeholder_then_private_followup(bot: TinyBot, discord_server: Driver) -> None:
    handle = await discord_server.invoke("oops")
    followup = await handle.reply()
    assert (
        followup is handle.record.followups[0]
        and followup.ephemeral
        and followup.content == "only you can see this"
    )
    assert handle.record.original.deleted and handle.record.original.loading


async def test_channel_history_pages_like_discord(bot: TinyBot, discord_server: Driver) -> None:
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    alerts = bot.get_channel(discord_server.channel("alerts").id)
    sent = [await alerts.send(f"alert {n}") for n in range(5)]
    newest = [m.content async for m in alerts.history(limit=3)]
    assert newest == ["alert 4", "alert 3", "alert 2"]
    after = [m.content async for m in alerts.history(limit=10, after=sent[1], oldest_first=True)]
    assert after == ["alert 2", "alert 3", "alert 4"]
    paged = [m.content async for m in alerts.history(limit=None, after=sent[0])]  # several requests of 100
    assert paged == ["alert 1", "alert 2", "alert 3", "alert 4"]


@pytest.mark.parametrize(
    ("content", "allowed", "expected"),
    [
        ("hi @everyone <@1> <@&2>", None, {"everyone": True, "users": ["1"], "roles": ["2"]}),
        ("hi @everyone <@1> <@&2>", {"parse": []}, {"everyone": False, "users": [], "roles": []}),
        (
            "hi @here <@!1> <@3>",
            {"parse": [], "users": ["3"]},
            {"everyone": False, "users": ["3"], "roles": []},
        ),
    ],
)
def test_pings_follow_allowed_mentions(content: str, allowed: dict | None, expected: dict) -> None:
    message = Message(1, 2, 3, {}, "", content=content, allowed_mentions=allowed)
    assert message.pings() == expected


async def test_second_guild_and_missing_bot(discord_server: Driver) -> None:
    other = discord_server.add_guild("Other Desk", channels=["desk"], members=["bob"])
    assert discord_server.channel("desk", other).guild_id == other.id
    with pytest.raises(UsageError, match="no synced command"):
        await discord_server.invoke("ping", guild=other, channel="desk", user="bob")
    discord_server.standin.store.global_commands["ping"] = {
        "id": "1",
        "name": "ping",
        "type": 1,
        "options": [],
    }
    with pytest.raises(UsageError, match="wait for the bot to be READY"):
        await discord_server.invoke("ping", guild=other, channel="desk", user="bob")


async def test_bot_sees_every_guild_it_is_in(bots, discord_server: Driver) -> None:
    other = discord_server.add_guild("Other Desk", channels=["desk"], members=["bob"])
    bot = await bots.start()
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    assert {g.name for g in bot.guilds} == {"Stand-in Newsroom", "Other Desk"}
    assert bot.get_guild(other.id).get_channel(discord_server.channel("desk", other).id).name == "desk"
