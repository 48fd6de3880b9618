"""Access: configured guilds and roles, the refusal text, and the tree's global check."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from bot.access import DM_REFUSAL, GUILD_REFUSAL, AccessPolicy
from bot.client import TradewatchTree
from bot.config import load_config
from tests.bot.fakes import FakeInteraction

GUILD, OTHER, ANALYSTS, EDITORS, MEMBER_ROLE = 1001, 1002, 2001, 2002, 2003


@pytest.fixture
def policy(tmp_path: Path) -> AccessPolicy:
    """Two guilds from a real config file: one restricted to two roles, one open to all its members."""
    path = tmp_path / "config.toml"
    path.write_text(
        f"[[discord.guilds]]\nid = {GUILD}\nroles = [{ANALYSTS}, {EDITORS}]\n\n[[discord.guilds]]\nid = {OTHER}\n"
    )
    return AccessPolicy.from_config(load_config(path, env={}).discord)


@pytest.mark.parametrize(
    ("guild", "roles", "refused_with"),
    [
        (GUILD, [ANALYSTS], None),
        (GUILD, [MEMBER_ROLE, EDITORS], None),
        (GUILD, [MEMBER_ROLE], "You need one of these roles"),
        (GUILD, [], "You need one of these roles"),
        (OTHER, [], None),
        (999, [ANALYSTS], GUILD_REFUSAL),
        (None, [ANALYSTS], DM_REFUSAL),
    ],
)
def test_guilds_and_roles(
    policy: AccessPolicy, guild: int | None, roles: list[int], refused_with: str | None
) -> None:
    reason = policy.refusal(guild, roles)
    if refused_with is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(refused_with)


def test_refusal_names_the_roles_needed(policy: AccessPolicy) -> None:
    reason = policy.refusal(GUILD, [], {ANALYSTS: "analysts", EDITORS: "editors"})
    assert reason is not None and "analysts, editors" in reason


def test_listing_the_everyone_role_opens_the_guild() -> None:
    policy = AccessPolicy({GUILD: frozenset({GUILD})})
    assert policy.refusal(GUILD, []) is None


def test_no_guilds_configured_means_any_guild_but_not_dms() -> None:
    policy = AccessPolicy()
    assert policy.refusal(12345, []) is None
    assert policy.refusal(None, []) == DM_REFUSAL


def _tree_with(policy: AccessPolicy) -> TradewatchTree:
    tree = TradewatchTree.__new__(TradewatchTree)  # only `client.access` is used by the check
    tree.client = SimpleNamespace(access=policy)  # type: ignore[assignment]
    return tree


async def test_tree_check_refuses_privately_and_stops_the_command(policy: AccessPolicy) -> None:
    interaction = FakeInteraction(guild_id=GUILD, user=SimpleNamespace(id=5, _roles=[MEMBER_ROLE]))
    assert await _tree_with(policy).interaction_check(interaction) is False  # type: ignore[arg-type]
    [text] = interaction.private_texts()
    assert "You need one of these roles" in text
    assert interaction.response.calls[0][1]["allowed_mentions"].to_dict()["parse"] == []


async def test_tree_check_answers_refused_autocomplete_with_no_choices(policy: AccessPolicy) -> None:
    interaction = FakeInteraction(guild_id=999, type=discord.InteractionType.autocomplete)
    assert await _tree_with(policy).interaction_check(interaction) is False  # type: ignore[arg-type]
    assert interaction.response.calls == [("autocomplete", {"choices": []})]


async def test_tree_check_lets_allowed_members_through(policy: AccessPolicy) -> None:
    interaction = FakeInteraction(guild_id=GUILD, user=SimpleNamespace(id=5, _roles=[ANALYSTS]))
    assert await _tree_with(policy).interaction_check(interaction) is True  # type: ignore[arg-type]
    assert interaction.response.calls == []
