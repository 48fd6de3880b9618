"""`tradewatch watch schedule|list` as a real process: set a brief schedule, see it, stop it, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.bot.test_cli_sync import tradewatch
from tests.db.watch_seed import add_watch


async def test_schedule_and_list_from_the_command_line(
    tmp_path: Path, db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[brief]\ntime_zone = "Asia/Hong_Kong"\n')
    async with sessions() as session, session.begin():
        await add_watch(session, 4242)

    code, out, err = await tradewatch(
        config, "watch", "schedule", "4242", "--every", "weekly", "--day", "friday"
    )
    assert code == 0, err
    assert "weekly, Friday 08:00 Asia/Hong_Kong; the first at Fri " in out  # [brief] time_zone

    code, out, err = await tradewatch(config, "watch", "list", "--json")
    assert code == 0, err
    [brief] = json.loads(out)["numbers"]["briefs"]
    assert (brief["channel_id"], brief["day"], brief["time_zone"]) == (4242, "friday", "Asia/Hong_Kong")
    assert brief["next_local"].endswith("T08:00:00+08:00")
    code, out, _ = await tradewatch(config, "watch", "list")
    assert "Brief in <#4242>" in out and "next Fri " in out

    code, _, err = await tradewatch(config, "watch", "schedule", "4242", "--every", "daily", "--time", "7pm")
    assert code == 2 and err.startswith("error: time='7pm' is not a time of day.")
    code, _, err = await tradewatch(config, "watch", "schedule", "99", "--every", "daily")
    assert code == 2 and "<#99> has no watch" in err and "Traceback" not in err

    code, out, err = await tradewatch(config, "watch", "schedule", "4242", "--every", "off")
    assert code == 0 and "Scheduled brief stopped" in out, err
