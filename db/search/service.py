"""One name index per database: loaded from `entity_names`, kept fresh, and queried by commands.

The database stays the source of truth; the index is derived, in-process memory (the same on SQLite and
PostgreSQL). It is built on first use (or at bot start with `warm_index`), and every search first reads a
cheap version stamp, the highest `entity_names.id` and the highest `snapshots.id` of a list source.
Every import of a list writes a snapshot, so a new stamp means the lists changed: a small index is rebuilt
at once, a large one (over `SYNC_REBUILD_LIMIT` names, a few seconds to rebuild) in the background while
searches keep using the previous one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, bindparam, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import Designation, Entity, EntityIdentifier, EntityName, Snapshot, Source
from db.names import is_dense, normalize_name, strip_titles
from db.search.columns import KIND_CODE, OTHER_KIND, EntityColumns, IdentifierColumns, NameColumns
from db.search.index import EntityHit, NameIndex, SearchFilters

log = logging.getLogger(__name__)

SYNC_REBUILD_LIMIT = 200_000
_PAGE = 50_000
# Searches (each a few ms) get threads of their own: in the bot's default executor they would queue behind
# chart renders (hundreds of ms each), and under load an autocomplete missed Discord's 3 seconds.
_SEARCH_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tw-name-search")


@dataclass(frozen=True)
class SearchResult:
    """Entities found for a query, with the normalised key searched and the index it came from."""

    query: str
    key: str
    hits: list[EntityHit]
    names_indexed: int
    stale: bool = False


OnBuilt = Callable[[AsyncSession, NameIndex], Awaitable[None]]


@dataclass
class _Holder:
    index: NameIndex | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refresh: asyncio.Task[None] | None = None
    on_built: OnBuilt | None = None  # e.g. save the index for the next start (db.search.cache)


_HOLDERS: weakref.WeakKeyDictionary[AsyncEngine, _Holder] = weakref.WeakKeyDictionary()


def _holder(session: AsyncSession) -> _Holder:
    engine = session.bind
    if not isinstance(engine, AsyncEngine):
        raise TypeError("search needs a session bound to an AsyncEngine")
    return _HOLDERS.setdefault(engine, _Holder())


def entity_snapshots() -> Any:
    """Snapshots of sources that hold entities (lists), not trade data.

    A trade import (an on-demand Comtrade fetch, say) writes a snapshot too; counting it would throw away
    a million-name index that did not change.
    """
    holds_entities = select(Entity.id).where(Entity.source_id == Snapshot.source_id).exists()
    return select(Snapshot.id, Snapshot.sha256).where(holds_entities)


_LIST_SNAPSHOTS = entity_snapshots().subquery()
# Built once: every search and autocomplete keystroke reads it, and building the statement cost as much as
# running it.
_VERSION = select(func.max(EntityName.id), select(func.max(_LIST_SNAPSHOTS.c.id)).scalar_subquery())


async def read_version(session: AsyncSession) -> tuple[object, ...]:
    """The version stamp of the loaded lists: (highest name id, highest snapshot id of a list source)."""
    row = (await session.execute(_VERSION)).one()
    return (row[0], row[1])


async def _pages(session: AsyncSession, table: Any, *columns: Any) -> AsyncIterator[list[Any]]:
    """Every row of a table as (id, *columns) tuples in id order, a page at a time, via the raw driver.

    The driver is five times faster than SQLAlchemy's async row handling for a million-row read (2 s
    instead of 11 s for the names on SQLite). The statement is still built with select() and bound
    parameters, compiled for the connection's dialect; keyset pages bound the memory on both databases.
    """
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # a checked-out connection always holds its driver's connection
    stmt = (
        select(table.c.id, *columns)
        .where(table.c.id > bindparam("after"))
        .order_by(table.c.id)
        .limit(bindparam("page"))
    )
    compiled = stmt.compile(dialect=conn.dialect)
    order = compiled.positiontup or []
    postgres = conn.dialect.name == "postgresql"
    last = 0
    while True:
        values = {**compiled.params, "after": last, "page": _PAGE}  # SQLite adds an OFFSET parameter
        args = [values[name] for name in order]
        if postgres:
            rows = [tuple(r) for r in await driver.fetch(str(compiled), *args)]
        else:
            cursor = await driver.execute(str(compiled), args)
            rows = list(await cursor.fetchall())
            await cursor.close()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


async def _load_names(session: AsyncSession) -> NameColumns:
    """Every name as columns. The kind is coded and NULL keys blanked in SQL, so that each page goes into
    the columns with C-level extends instead of a Python step per name (a million names: ~1 s, not 5)."""
    columns = NameColumns()
    t = EntityName.__table__
    kind = case(KIND_CODE, value=t.c.kind, else_=OTHER_KIND)
    async for rows in _pages(session, t, t.c.entity_id, func.coalesce(t.c.normalized, ""), kind):
        columns.extend_coded(rows)
    return columns


async def _load_identifiers(session: AsyncSession) -> IdentifierColumns:
    """Every identifier key (registration, tax, IMO, list entry numbers ...) with its entity."""
    columns = IdentifierColumns()
    t = EntityIdentifier.__table__
    async for rows in _pages(session, t, t.c.entity_id, t.c.normalized):
        columns.extend(rows)
    return columns


Triple = tuple[str | None, str | None, str | None]
TagKey = (
    int | frozenset[int] | None
)  # an entity's designations: one (authority, list, program) code, or a set


async def _load_designations(session: AsyncSession) -> tuple[dict[int, TagKey], list[Triple]]:
    """Each entity's designations as codes of distinct (authority, list, program) triples.

    A million designations share a few hundred triples, so the text work is done once per triple (in
    `_TagTuples`), not once per row.
    """
    triples: dict[Triple, int] = {}
    first: dict[int, int] = {}
    more: dict[int, set[int]] = {}
    t = Designation.__table__
    async for rows in _pages(session, t, t.c.entity_id, t.c.authority, t.c.list_name, t.c.program):
        codes = [triples.setdefault(row[2:], len(triples)) for row in rows]  # row: id, entity, a, l, p
        for (_id, entity_id, *_), code in zip(rows, codes, strict=True):
            seen = first.setdefault(entity_id, code)
            if seen != code:
                more.setdefault(entity_id, {seen}).add(code)
    keys: dict[int, TagKey] = dict(first)
    keys.update((entity_id, frozenset(codes)) for entity_id, codes in more.items())
    return keys, list(triples)


@dataclass
class _TagTuples:
    """The list tags of an entity (its source, then its designations' words, lower-case), one shared tuple
    per distinct (source, designations) combination."""

    sources: dict[int, str]
    triples: list[Triple]
    made: dict[tuple[int, TagKey], tuple[str, ...]] = field(default_factory=dict)

    def of(self, source_id: int, key: TagKey) -> tuple[str, ...]:
        found = self.made.get((source_id, key))
        if found is None:
            codes = () if key is None else (key,) if isinstance(key, int) else tuple(key)
            words = {value.casefold() for code in codes for value in self.triples[code] if value}
            found = self.made[(source_id, key)] = (self.sources.get(source_id, ""), *sorted(words))
        return found


def _countries(value: object, cache: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The countries column as a tuple: JSON text (SQLite, asyncpg) or a list; equal tuples shared."""
    if value is None:
        return ()
    if isinstance(value, str):
        if value not in cache:
            parsed = json.loads(value)
            cache[value] = tuple(parsed) if isinstance(parsed, list) else ()
        return cache[value]
    return tuple(value) if isinstance(value, list) else ()


async def _load_entities(session: AsyncSession) -> EntityColumns:
    sources = {
        sid: f"{key} {title}".casefold()
        for sid, key, title in await session.execute(select(Source.id, Source.key, Source.title))
    }
    designations, triples = await _load_designations(session)
    tags = _TagTuples(sources, triples)
    cache: dict[str, tuple[str, ...]] = {}
    columns = EntityColumns()
    t = Entity.__table__
    # countries as stored text (a JSON list): parsed once per distinct value below, not once per row
    async for rows in _pages(session, t, t.c.schema, cast(t.c.countries, Text), t.c.source_id):
        entity_ids, schemas, countries, source_ids = zip(*rows, strict=True)
        columns.extend(
            entity_ids,
            schemas,
            [_countries(c, cache) for c in countries],
            [tags.of(s, designations.get(e)) for e, s in zip(entity_ids, source_ids, strict=True)],
        )
    return columns


async def load_index(session: AsyncSession) -> NameIndex:
    """Read every name and entity from the database and build a fresh index (in a worker thread)."""
    started = time.perf_counter()
    version = await read_version(session)
    names = await _load_names(session)
    entities = await _load_entities(session)
    identifiers = await _load_identifiers(session)
    index = await asyncio.to_thread(NameIndex.build, names, entities, version, identifiers)
    n_entities = len(entities)
    del names, entities, identifiers
    log.info(
        "name index built: names=%d entities=%d bytes=%d seconds=%.2f",
        index.size,
        n_entities,
        index.nbytes,
        time.perf_counter() - started,
    )
    return index


async def _built(session: AsyncSession, holder: _Holder, index: NameIndex) -> None:
    """Install a freshly built index and run the holder's hook (a failing hook costs only the hook)."""
    holder.index = index
    if holder.on_built is not None:
        try:
            await holder.on_built(session, index)
        except Exception:
            log.exception("after building the name index")


async def _refresh_in_background(engine: AsyncEngine, holder: _Holder) -> None:
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            await _built(session, holder, await load_index(session))
    except Exception:  # a failed refresh keeps the old index; the next search tries again
        log.exception("background rebuild of the name index failed")
    finally:
        holder.refresh = None


async def get_index(session: AsyncSession) -> tuple[NameIndex, bool]:
    """The current index for the session's database, and whether it is stale (a rebuild is running)."""
    holder = _holder(session)
    version = await read_version(session)
    index = holder.index
    if index is not None and index.version == version:
        return index, False
    if index is not None and index.size > SYNC_REBUILD_LIMIT:
        if holder.refresh is None:
            engine = session.bind
            assert isinstance(engine, AsyncEngine)
            holder.refresh = asyncio.create_task(_refresh_in_background(engine, holder))
        return index, True
    async with holder.lock:
        if holder.index is None or holder.index.version != version:
            await _built(session, holder, await load_index(session))
        assert holder.index is not None
        return holder.index, False


async def warm_index(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Build the index now (call at bot start so the first /entity is fast); returns names indexed."""
    async with sessions() as session:
        index, _ = await get_index(session)
        return index.size


def forget_index(engine: AsyncEngine) -> None:
    """Drop the index of a database (tests, or after deleting data outside an import)."""
    _HOLDERS.pop(engine, None)


async def _in_search_thread(search: Callable[[], list[EntityHit]]) -> list[EntityHit]:
    return await asyncio.get_running_loop().run_in_executor(_SEARCH_THREADS, search)


def search_key(
    index: NameIndex,
    key: str,
    *,
    limit: int = 10,
    filters: SearchFilters | None = None,
    within_words: bool = False,
) -> list[EntityHit]:
    """Search a normalised query key (`within_words`: the query was typed in a dense script).

    A query that starts with a title (`president putin`) is searched without it; a name that holds the
    title too (`PRESIDENT HOTEL`) still comes first when it scores at least as well with it.
    """
    hits = index.search(key, limit=limit, filters=filters, within_words=within_words)
    bare = strip_titles(key)
    if bare == key:
        return hits
    stripped = index.search(bare, limit=limit, filters=filters, within_words=within_words)
    floor = stripped[0].score if stripped else 0.0
    seen = {h.entity_id for h in stripped}
    titled = [h for h in hits if h.score >= floor and h.entity_id not in seen]
    return sorted(titled + stripped, key=lambda h: (h.identifier is None, -h.score, h.entity_id))[:limit]


async def search_entities(
    session: AsyncSession, query: str, *, filters: SearchFilters | None = None, limit: int = 10
) -> SearchResult:
    """Fuzzy, cross-script search over every loaded name and alias.

    Args:
        session: an open session on the database to search.
        query: the name as the user typed it, in any script.
        filters: country, type and list restrictions.
        limit: how many entities to return.
    Returns:
        The entities found, best first, each with the alias that matched and its score (0-100).
    """
    key = normalize_name(query)
    index, stale = await get_index(session)
    hits = (
        await _in_search_thread(lambda: search_key(index, key, limit=limit, filters=filters)) if key else []
    )
    return SearchResult(query, key, hits, index.size, stale)


async def suggest_names(session: AsyncSession, prefix_or_partial: str, limit: int = 25) -> list[str]:
    """Names for autocomplete: the listed names (original script) best matching a partial name.

    Args:
        session: an open session on the database to search.
        prefix_or_partial: what the user has typed so far; the last word may be incomplete.
        limit: at most this many names (Discord shows 25).
    Returns:
        Distinct names, best first, each cut to 100 characters (Discord's limit for a choice).
    """
    key = normalize_name(prefix_or_partial or "")
    if len(key.replace(" ", "")) < 2:
        return []
    index, _ = await get_index(session)
    dense = is_dense(prefix_or_partial)
    hits = await _in_search_thread(lambda: index.search(key, limit=limit, prefix=True, within_words=dense))
    if not hits:
        return []
    ids = [h.name_id for h in hits]
    rows = await session.execute(select(EntityName.id, EntityName.name).where(EntityName.id.in_(ids)))
    by_id = {name_id: name for name_id, name in rows}
    out: list[str] = []
    for name_id in ids:
        name = " ".join(by_id.get(name_id, "").split())[:100]
        if name and name not in out:
            out.append(name)
    return out
