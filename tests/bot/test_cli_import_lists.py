"""`tradewatch import` of a list leaves the name index saved, so the bot's next start reads it back."""

from __future__ import annotations

from pathlib import Path

from db.engine import make_engine, make_sessionmaker
from db.search import service
from db.search.cache import warm_index_cached
from tests.bot.test_cli_import_trade import tradewatch


async def test_a_list_import_saves_the_name_index_for_the_bot(tmp_path: Path, shared_data: Path) -> None:
    ofac = shared_data / "ofac/sdn_snapshots/2024-04-26"
    code, out, err = await tradewatch(tmp_path, "import", "ofac", str(ofac))
    assert code == 0, err
    assert "name index" in out and "saved for the next bot start" in out
    folder = tmp_path / "var" / "cache" / "name-index"
    assert len(list(folder.iterdir())) == 1

    code, out, _ = await tradewatch(tmp_path, "import", "ofac", str(ofac))  # the same file: nothing to do
    assert code == 0 and "name index" not in out

    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'tradewatch.sqlite3'}")
    try:
        names, from_disk = await warm_index_cached(make_sessionmaker(engine), folder)  # as `serve` starts
        assert from_disk and names > 10_000
        async with make_sessionmaker(engine)() as session:
            found = await service.search_entities(session, "SINNO ELECTRONICS", limit=3)
        assert found.hits and found.hits[0].score > 90
    finally:
        await engine.dispose()
