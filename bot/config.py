"""Configuration: `config.toml` (optional) parsed once into frozen dataclasses, secrets from the environment.

Environment variables override the file: TRADEWATCH_DATABASE_URL, TRADEWATCH_SOURCES_DIR,
TRADEWATCH_DATA_DIR, DISCORD_TOKEN, COMTRADE_API_KEY, DISCORD_API_BASE, DISCORD_GATEWAY_URL,
TRADEWATCH_SYNC_ENABLED.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from commands.errors import InvalidInput
from commands.focus import Focus, FocusError
from commands.schedule import parse_time_zone
from db.ingest.mass_change import DEFAULT_SHARE, MassChangePolicy
from db.sources import SourceSettings, default_settings, settings_from_table

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = field(default="", repr=False)  # may hold a password
    # serve: a PostgreSQL statement running longer fails as an outage ("try again in a minute"); behind a silent
    # network partition nothing else would end it (see db.engine for the connect and pool bounds).
    statement_timeout_seconds: float = 20.0


@dataclass(frozen=True)
class DataConfig:
    data_dir: str = "var"
    sources_dir: str = ""
    curated_dir: str = ""
    lookups_dir: str = ""


@dataclass(frozen=True)
class ComtradeConfig:
    api_base: str = "https://comtradeapi.un.org"
    api_key: str = field(default="", repr=False)
    fetch_on_demand: bool = True
    timeout_seconds: float = 20.0
    max_pages: int = 20


@dataclass(frozen=True)
class GuildAccess:
    guild_id: int
    roles: tuple[int, ...] = ()


@dataclass(frozen=True)
class DiscordConfig:
    token: str = field(default="", repr=False)
    api_base: str = ""
    gateway_url: str = ""
    guilds: tuple[GuildAccess, ...] = ()
    sync_commands_on_start: bool = True


@dataclass(frozen=True)
class SyncConfig:
    """`tradewatch sync` and the schedule in `tradewatch serve`.

    Each synced source of the registry (db/sources) may have a `[sync.<source>]` table; `overrides` holds the
    merged settings of those that do, every other source keeps the registry's defaults.
    """

    enabled: bool = True
    jitter_seconds: float = 30.0
    timeout_seconds: float = 600.0
    overrides: Mapping[str, SourceSettings] = field(default_factory=dict)

    def sources(self) -> dict[str, SourceSettings]:
        """Settings per synced source key, in registry order."""
        return {key: self.overrides.get(key, default) for key, default in default_settings().items()}


@dataclass(frozen=True)
class AlertsConfig:
    """The watch-alert delivery loop inside `tradewatch serve` (bot/alerts.py)."""

    enabled: bool = True
    poll_seconds: float = 5.0
    lease_seconds: float = 60.0
    digest_threshold: int = 5
    nonce_window_seconds: float = 120.0
    max_backoff_seconds: float = 900.0


@dataclass(frozen=True)
class BriefConfig:
    """The brief on a schedule (/watch schedule): the IANA time zone of a schedule that names none."""

    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "time_zone", parse_time_zone(str(self.time_zone)))
        except InvalidInput:
            raise ConfigError(
                f"[brief] time_zone must be an IANA time zone such as Europe/Berlin, got {self.time_zone!r}"
            ) from None


@dataclass(frozen=True)
class ImportsConfig:
    """`tradewatch import`, `tradewatch sync` and the schedule: the mass-change guard (db/ingest/mass_change.py).

    A list snapshot that would delist, or amend, more than `mass_change_share` of the list's entries is held,
    not applied, until someone confirms it with `--accept-mass-change`.
    """

    mass_change_share: float = DEFAULT_SHARE

    def __post_init__(self) -> None:
        value = self.mass_change_share
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ConfigError(
                f"[imports] mass_change_share must be a share above 0 and up to 1, got {value!r}"
            )
        object.__setattr__(self, "mass_change_share", float(value))

    def policy(self, accept: bool = False) -> MassChangePolicy:
        """The guard as configured (`accept`: the person running the command confirmed a mass change)."""
        return MassChangePolicy(self.mass_change_share, accept)


@dataclass(frozen=True)
class ScreenConfig:
    """`/screen` and `tradewatch screen` (commands/screen.py): the scores for a `match` and a `possible`, and
    how many processes `tradewatch screen` searches a large sheet in (db.search.pool).

    Unset, the scores are /entity's: a card's strong match and its lowest shown match; the workers one per core
    (at most db.search.pool.MAX_WORKERS); 0 or 1 searches in the command's own process.
    """

    match_score: float | None = None
    possible_score: float | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or not 0 <= self.workers <= 64
        ):
            raise ConfigError(f"[screen] workers must be a whole number from 0 to 64, got {self.workers!r}")
        for key in ("match_score", "possible_score"):
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
                raise ConfigError(f"[screen] {key} must be a number from 0 to 100, got {value!r}")
            object.__setattr__(self, key, float(value))
        if self.match_score is not None and self.possible_score is not None:
            if self.possible_score > self.match_score:
                raise ConfigError("[screen] possible_score must not be above match_score")


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = DatabaseConfig()
    data: DataConfig = DataConfig()
    comtrade: ComtradeConfig = ComtradeConfig()
    discord: DiscordConfig = DiscordConfig()
    sync: SyncConfig = SyncConfig()
    alerts: AlertsConfig = AlertsConfig()
    brief: BriefConfig = BriefConfig()
    screen: ScreenConfig = ScreenConfig()
    imports: ImportsConfig = ImportsConfig()
    focus: Focus = Focus()

    @property
    def database_url(self) -> str:
        """The configured database URL, or a SQLite file in the data folder."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{Path(self.data.data_dir).expanduser() / 'tradewatch.sqlite3'}"

    @property
    def sources_dir(self) -> Path | None:
        """A local folder of source files (the shared snapshots), if one is configured or found."""
        if self.data.sources_dir:
            return Path(self.data.sources_dir).expanduser()
        default = REPO_ROOT.parent / "shared" / "data"
        return default if default.is_dir() else None

    @property
    def lookups_dir(self) -> Path:
        """Folder of editable lookup files (commodity aliases, CHPL, country exceptions)."""
        if self.data.lookups_dir:
            return Path(self.data.lookups_dir).expanduser()
        return REPO_ROOT / "db" / "ingest" / "lookups"

    @property
    def curated_dir(self) -> Path:
        """Folder of the team's curated YAML files."""
        if self.data.curated_dir:
            return Path(self.data.curated_dir).expanduser()
        return REPO_ROOT / "db" / "curated"

    @property
    def cache_dir(self) -> Path:
        """Where fetched raw files are kept."""
        return Path(self.data.data_dir).expanduser() / "cache"


_SECTIONS: dict[str, type] = {
    "database": DatabaseConfig,
    "data": DataConfig,
    "comtrade": ComtradeConfig,
    "discord": DiscordConfig,
    "sync": SyncConfig,
    "alerts": AlertsConfig,
    "brief": BriefConfig,
    "screen": ScreenConfig,
    "imports": ImportsConfig,
    "focus": Focus,
}

# Environment variable -> (section, key). Secrets are only ever read from here.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "TRADEWATCH_DATABASE_URL": ("database", "url"),
    "TRADEWATCH_DATA_DIR": ("data", "data_dir"),
    "TRADEWATCH_SOURCES_DIR": ("data", "sources_dir"),
    "TRADEWATCH_CURATED_DIR": ("data", "curated_dir"),
    "COMTRADE_API_KEY": ("comtrade", "api_key"),
    "COMTRADE_API_BASE": ("comtrade", "api_base"),
    "DISCORD_TOKEN": ("discord", "token"),
    "DISCORD_API_BASE": ("discord", "api_base"),
    "DISCORD_GATEWAY_URL": ("discord", "gateway_url"),
    "TRADEWATCH_SYNC_ENABLED": ("sync", "enabled"),
    "TRADEWATCH_ALERTS_ENABLED": ("alerts", "enabled"),
}
SECRET_KEYS = {("database", "url"), ("comtrade", "api_key"), ("discord", "token")}


def _coerce(section: str, key: str, value: Any, default: Any) -> Any:
    where = f"[{section}] {key}"
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() in {"1", "true", "yes", "on"}:
                return True
            if value.lower() in {"0", "false", "no", "off"}:
                return False
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, int | float) and not isinstance(default, bool):
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _guilds(value: Any) -> tuple[GuildAccess, ...]:
    if not isinstance(value, list):
        raise ConfigError(
            "[discord] guilds must be a list of tables: [[discord.guilds]] id = ..., roles = [...]"
        )
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "id" not in item:
            raise ConfigError(f"[[discord.guilds]] entry {i + 1} needs an id")
        try:
            out.append(GuildAccess(int(item["id"]), tuple(int(r) for r in item.get("roles", []))))
        except (TypeError, ValueError):
            raise ConfigError(f"[[discord.guilds]] entry {i + 1}: id and roles must be numbers") from None
    return tuple(out)


def _source_settings(key: str, value: Any, default: SourceSettings) -> SourceSettings:
    if not isinstance(value, dict):
        raise ConfigError(f"[sync] {key} must be a table: [sync.{key}] urls = [...], interval_minutes = ...")
    try:
        return settings_from_table(default, key, value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _known_keys(section: str) -> list[str]:
    """The keys a section accepts: its fields, and for [sync] one table per synced source."""
    names = [f.name for f in fields(_SECTIONS[section]) if f.name != "overrides"]
    return [*names, *default_settings()] if section == "sync" else names


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration.

    Args:
        path: a TOML file; None reads `config.toml` in the working folder if it exists.
        env: environment variables (defaults to `os.environ`); they override the file.
    Returns:
        The frozen `Config`.
    Raises:
        ConfigError: unknown section or key, a value of the wrong type, or an unreadable file.
    """
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is None and Path("config.toml").is_file():
        path = "config.toml"
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    values: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    for section, table in raw.items():
        if section not in _SECTIONS:
            raise ConfigError(f"unknown config section [{section}]; known: {', '.join(_SECTIONS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
        known = _known_keys(section)
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"unknown config key [{section}] {key}; known: {', '.join(known)}")
            if (section, key) in SECRET_KEYS and key != "url":
                raise ConfigError(f"[{section}] {key} is a secret: set it in the environment, not the file")
            values[section][key] = value
    for var, (section, key) in ENVIRONMENT.items():
        if env.get(var):
            values[section][key] = env[var]
    defaults = default_settings()
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in values[name]:
                continue
            value = values[name][f.name]
            if name == "discord" and f.name == "guilds":
                kwargs[f.name] = _guilds(value)
            else:
                kwargs[f.name] = _coerce(name, f.name, value, f.default)
        if name == "sync":
            kwargs["overrides"] = {
                key: _source_settings(key, value, defaults[key])
                for key, value in values[name].items()
                if key in defaults
            }
        try:
            sections[name] = cls(**kwargs)
        except FocusError as exc:
            raise ConfigError(str(exc)) from None
    return Config(**sections)
