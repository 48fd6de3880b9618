"""The name index on disk, so that `tradewatch serve` starts in about a second instead of rebuilding it.

At a million names, reading every name and entity and building the index takes about 8 s of CPU
(bench/RESULTS.md), which the bot used to spend before it could log in. The built index is a few flat numpy
arrays: saved as a folder of `.npy` files, it is memory-mapped back in milliseconds, and only the pages a
search touches are read. The words by sound (db.search.phonetics), 1.6 s to build from the names, are saved
beside them as JSON and read back in about 0.3 s, so the first search after a start does not build them.

The files are derived data, trusted only for the exact database contents they were built from: the folder
name is a fingerprint of the database URL (without password), every snapshot of a list source (id and
sha256: every import of a list writes one; trade snapshots do not count), the highest name id, the
normaliser version and this format's version. Anything else, and the index is rebuilt from the database as
before. A file that cannot be read is ignored, never an error.

Every build is saved: at a start that found nothing to read back, after the rebuild that follows an import in
a running bot, and at the end of `tradewatch import` / `tradewatch sync` of a list, so a start after an
import on this machine reads the index back instead of building it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import EntityName
from db.names import NORMALIZER_VERSION
from db.search import romanisation, service
from db.search.columns import Pairs
from db.search.index import NameIndex
from db.search.phonetics import PhoneticWords
from db.search.trigrams import TrigramPostings

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: the words by sound saved too
INDEX_FOLDER = "name-index"  # under the data cache directory (bot.config.Config.cache_dir)
KEEP = 2  # index folders kept per database (the current one and the one before, which may still be mapped)
_ARRAYS = {
    "postings.offsets": ("postings", "offsets"),
    "postings.postings": ("postings", "postings"),
    "postings.lengths": ("postings", "lengths"),
    "key_blob": (None, "key_blob"),
    "key_offsets": (None, "key_offsets"),
    "name_ids": (None, "name_ids"),
    "name_entity": (None, "name_entity"),
    "name_kind": (None, "name_kind"),
    "entity_ids": (None, "entity_ids"),
    "entity_schema": (None, "entity_schema"),
    "countries.owners": ("countries", "owners"),
    "countries.codes": ("countries", "codes"),
    "tags.owners": ("tags", "owners"),
    "tags.codes": ("tags", "codes"),
    "ident_hashes": (None, "ident_hashes"),
    "ident_entity": (None, "ident_entity"),
}


def _database_id(engine: AsyncEngine) -> str:
    return make_url(str(engine.url)).set(password=None).render_as_string(hide_password=True)


async def fingerprint(session: AsyncSession) -> str:
    """What the index was built from: database, snapshots, highest name id, normaliser and format versions."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    digest = hashlib.sha256(f"{_database_id(engine)}|{NORMALIZER_VERSION}|{FORMAT_VERSION}".encode())
    lists = service.entity_snapshots().subquery()  # trade imports leave the index as it is
    snapshots = await session.execute(
        select(lists.c.id, lists.c.sha256).order_by(lists.c.id).limit(1_000_000)
    )
    for snapshot_id, sha in snapshots:
        digest.update(f"|{snapshot_id}:{sha}".encode())
    digest.update(f"|{(await session.execute(select(func.max(EntityName.id)))).scalar()}".encode())
    return digest.hexdigest()[:32]


def save_index(index: NameIndex, folder: Path, fp: str, database: str) -> Path:
    """Write `index` as `<folder>/<database>-<fp>/` (atomically: a temporary folder renamed) and prune old ones."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{database}-{fp}"
    if target.exists():
        if load_saved(folder, fp, database) is not None:
            return target
        shutil.rmtree(target, ignore_errors=True)  # damaged: replaced, or every start would rebuild
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    try:
        for name, (part, attr) in _ARRAYS.items():
            owner = getattr(index, part) if part else index
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(owner, attr)), allow_pickle=False)
        meta = {
            "format": FORMAT_VERSION,
            "fingerprint": fp,
            "version": list(index.version),
            "schema_vocabulary": index.schema_vocabulary,
            "countries_vocabulary": index.countries.vocabulary,
            "tags_vocabulary": index.tags.vocabulary,
        }
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        (tmp / "phonetic.json").write_text(json.dumps(index.phonetic.to_json()), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    old = sorted(folder.glob(f"{database}-*"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]
    for stale in old:  # a mapped file stays readable after removal (POSIX), so a running search is safe
        shutil.rmtree(stale, ignore_errors=True)
    return target


def load_saved(folder: Path, fp: str, database: str) -> NameIndex | None:
    """The saved index for exactly this fingerprint, memory-mapped; None if there is none or it is unreadable."""
    target = folder / f"{database}-{fp}"
    try:
        meta: dict[str, Any] = json.loads((target / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION or meta.get("fingerprint") != fp:
            return None
        # plain arrays over the mapping: indexing a np.memmap goes through its Python subclass hooks (a
        # profile at a million names put them at about 0.3 ms of a 3.5 ms search)
        arrays = {
            name: np.asarray(np.load(target / f"{name}.npy", mmap_mode="r", allow_pickle=False))
            for name in _ARRAYS
        }
        phonetic = PhoneticWords.from_json(json.loads((target / "phonetic.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return None
    romanisation.warm()
    return NameIndex(
        postings=TrigramPostings(
            arrays["postings.offsets"], arrays["postings.postings"], arrays["postings.lengths"]
        ),
        key_blob=arrays["key_blob"],
        key_offsets=arrays["key_offsets"],
        name_ids=arrays["name_ids"],
        name_entity=arrays["name_entity"],
        name_kind=arrays["name_kind"],
        entity_ids=arrays["entity_ids"],
        entity_schema=arrays["entity_schema"],
        schema_vocabulary=list(meta["schema_vocabulary"]),
        countries=Pairs(
            arrays["countries.owners"], arrays["countries.codes"], list(meta["countries_vocabulary"])
        ),
        tags=Pairs(arrays["tags.owners"], arrays["tags.codes"], list(meta["tags_vocabulary"])),
        version=tuple(meta["version"]),
        ident_hashes=arrays["ident_hashes"],
        ident_entity=arrays["ident_entity"],
        _phonetic=phonetic,
    )


def database_key(engine: AsyncEngine) -> str:
    """The database's part of a saved index's folder name (a digest of its URL without password)."""
    return hashlib.sha256(_database_id(engine).encode()).hexdigest()[:12]


def _saver(folder: Path, database: str) -> service.OnBuilt:
    """The hook that saves every index the service builds for this database (see `service._Holder`)."""

    async def save(session: AsyncSession, index: NameIndex) -> None:
        fp = await fingerprint(session)
        if index.version != await service.read_version(session):
            return  # an import landed during the build: the next build is saved instead
        try:
            await asyncio.to_thread(save_index, index, folder, fp, database)
        except OSError as exc:  # a read-only or full disk costs the next start its speed, nothing else
            log.warning("could not save the name index to %s: %s", folder, exc)

    return save


async def warm_index_cached(sessions: async_sessionmaker[AsyncSession], folder: Path) -> tuple[int, bool]:
    """Make the name index ready: from `folder` when it matches the database, else built and saved.

    From then on every rebuild of this database's index (after an import) is saved too, so the next start
    reads it back. Call it at bot start, and after an import of lists (`tradewatch import`, `tradewatch
    sync`), so that a start after an import finds the index ready.

    Returns:
        (names indexed, whether the saved index was used).
    """
    async with sessions() as session:
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        database = database_key(engine)
        holder = service._holder(session)
        holder.on_built = _saver(folder, database)
        fp = await fingerprint(session)
        index = await asyncio.to_thread(load_saved, folder, fp, database)
        if index is not None and index.version == await service.read_version(session):
            holder.index = index  # the service keeps one index per engine; the saved one goes there
            return index.size, True
    return await service.warm_index(sessions), False
