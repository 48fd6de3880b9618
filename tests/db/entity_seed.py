"""Entity data for search and /entity tests, loaded through the real importers.

- `ofac_subset` writes a smaller OFAC CSV set into a temporary folder: whole, unmodified lines of the
  real 2024-05-01 `sdn.csv` and the 2026-06 `alt.csv`/`add.csv` (CRLF and the final 0x1A kept), for the
  story's entries (SINNO ELECTRONICS, KING-PAI TECHNOLOGY, RADIOAVTOMATIKA and every entry linked to it)
  and every `step`-th other entry. Loading a few thousand real entries keeps the suite fast on both
  databases while the distractors stay real.
- `load_curated` imports the starter file shipped in db/curated (China Poly Group, Poly Technologies,
  the June 2022 Entity List firms with same_as links to their OFAC entries, reported figures), every
  fact cited to public reporting.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import curated, ofac
from db.ingest.base import IngestReport
from db.ingest.mass_change import MassChangePolicy

NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)
SDN = Path("ofac/sdn_snapshots/2024-05-01/sdn.csv")
ALT = Path("ofac/sdn_add_alt_2026-06/alt.csv")
ADD = Path("ofac/sdn_add_alt_2026-06/add.csv")
STORY = {"38641", "41861", "35348"}  # SINNO ELECTRONICS, KING-PAI TECHNOLOGY HK, RADIOAVTOMATIKA
CURATED = Path(__file__).resolve().parents[2] / "db" / "curated"


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().rstrip(b"\x1a").split(b"\r\n") if line]


def ofac_subset(shared_data: Path, folder: Path, step: int = 8, also: bytes | None = None) -> set[str]:
    """Write sdn.csv/alt.csv/add.csv holding the story's entries, every `step`-th other one and every line
    containing `also`.

    Returns:
        The ent_nums written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sdn = _lines(shared_data / SDN)
    keep: list[bytes] = []
    for i, line in enumerate(sdn):
        ent_num = line.split(b",", 1)[0].decode()
        if (
            ent_num in STORY
            or b"Linked To: RADIOAVTOMATIKA" in line
            or i % step == 0
            or (also is not None and also in line)
        ):
            keep.append(line)
    ent_nums = {line.split(b",", 1)[0].decode() for line in keep}
    for name, rows in (
        ("sdn.csv", keep),
        ("alt.csv", _lines(shared_data / ALT)),
        ("add.csv", _lines(shared_data / ADD)),
    ):
        chosen = [r for r in rows if r.split(b",", 1)[0].decode() in ent_nums]
        (folder / name).write_bytes(b"\r\n".join(chosen) + b"\r\n\x1a")
    return ent_nums


async def load_ofac_subset(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    folder: Path,
    step: int = 8,
    also: bytes | None = None,
) -> IngestReport:
    """Write the subset and import it with the real OFAC importer.

    Subsets of different steps differ by most of their entries: that is what the tests want, so the
    mass-change guard is told to apply them (as `--accept-mass-change` would)."""
    ofac_subset(shared_data, folder, step, also)
    return await ofac.run_import(
        sessions, folder, now=NOW, data_date="2024-05-01", mass_change=MassChangePolicy(accept=True)
    )


async def load_curated(sessions: async_sessionmaker[AsyncSession]) -> IngestReport:
    """Import the shipped starter file (db/curated, every fact cited) with the real curated importer."""
    return await curated.run_import(sessions, CURATED, now=NOW)
