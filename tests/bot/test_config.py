"""Config: the example file loads, documents every key, and bad values fail with the key's name."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE, env={})
    assert config == Config()


def test_every_config_field_is_documented_in_the_example() -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    text = EXAMPLE.read_text()
    for section in dataclasses.fields(Config):
        cls = section.type if isinstance(section.type, type) else type(getattr(Config(), section.name))
        for f in dataclasses.fields(cls):
            documented = f.name in raw.get(section.name, {}) or f.name.upper() in text or f.name in text
            assert documented, f"[{section.name}] {f.name} is not in config.example.toml"


def test_environment_overrides_file_and_secrets_are_not_in_repr(tmp_path: Path) -> None:
    config = load_config(
        EXAMPLE, env={"DISCORD_TOKEN": "s3cret-token", "TRADEWATCH_DATABASE_URL": "sqlite:///x.db"}
    )
    assert config.discord.token == "s3cret-token"
    assert config.database_url == "sqlite:///x.db"
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[nope]\n", "unknown config section [nope]"),
        ("[comtrade]\nmax_pages = 'many'\n", "[comtrade] max_pages must be a number"),
        ("[comtrade]\nfetch_on_demand = 3\n", "[comtrade] fetch_on_demand must be true or false"),
        ("[discord]\ntoken = 'x'\n", "[discord] token is a secret"),
        ("[discord]\nguilds = [{roles = [1]}]\n", "entry 1 needs an id"),
        ("[data\n", "not valid TOML"),
        ("[screen]\nworkers = 'all'\n", "[screen] workers must be a whole number from 0 to 64"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, env={})


def test_brief_time_zone_is_checked_and_canonical(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[brief]\ntime_zone = "europe/berlin"\n')
    assert load_config(path, env={}).brief.time_zone == "Europe/Berlin"
    path.write_text('[brief]\ntime_zone = "Berlin"\n')
    with pytest.raises(ConfigError, match=r"\[brief\] time_zone must be an IANA time zone"):
        load_config(path, env={})


def test_screen_workers_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[screen]\nworkers = 3\n")
    assert load_config(path, env={}).screen.workers == 3
