"""Who may query the bot: the configured guilds and, per guild, the roles allowed (empty: everyone there).

Checked once for every interaction by the tree's `interaction_check`; a refused user gets a short,
private (ephemeral) message, and autocomplete simply offers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.config import DiscordConfig

DM_REFUSAL = "Tradewatch answers inside its team's Discord server only, not in direct messages."
GUILD_REFUSAL = (
    "Tradewatch is not enabled in this server. Ask the team that runs it to add this server to its config."
)
ROLE_REFUSAL = "You need one of these roles to use Tradewatch here: {roles}. Ask a server admin for access."


@dataclass(frozen=True)
class AccessPolicy:
    """Allowed guilds and roles. No guilds configured: any guild the bot is in, everyone in it."""

    guild_roles: dict[int, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: DiscordConfig) -> AccessPolicy:
        return cls({g.guild_id: frozenset(g.roles) for g in config.guilds})

    @property
    def restricted(self) -> bool:
        return bool(self.guild_roles)

    def refusal(
        self, guild_id: int | None, role_ids: Iterable[int], role_name: dict[int, str] | None = None
    ) -> str | None:
        """Why this user may not query here, or None when they may.

        Args:
            guild_id: the interaction's guild (None in a DM).
            role_ids: the member's role ids.
            role_name: names of the guild's roles, to name the ones needed in the refusal.
        """
        if guild_id is None:
            return DM_REFUSAL
        if not self.restricted:
            return None
        allowed = self.guild_roles.get(guild_id)
        if allowed is None:
            return GUILD_REFUSAL
        # The @everyone role has the guild's own id: listing it opens the guild to all its members.
        if not allowed or allowed & {*role_ids, guild_id}:
            return None
        names = sorted((role_name or {}).get(r, f"role {r}") for r in allowed)
        return ROLE_REFUSAL.format(roles=", ".join(names))
