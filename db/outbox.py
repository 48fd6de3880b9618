"""The alert outbox: for each detected list change and each matching active watch, one `alert_outbox` row.

`write_alerts` is one of the hooks `db.ingest.changes.ON_CHANGES` lists, so it runs inside the import's own
transaction: the changes and their alerts are committed together or not at all. That is half of the
exactly-once guarantee (nothing is lost between detection and delivery); the delivery loop's claims and
Discord message nonces are the other half.

Matching (`watch_matches`): filters combine with AND across kinds and OR within a kind, and an empty
filter matches anything.
- sources: the change's source key (`ofac_sdn`), or a family name that stands for several (`ofac`);
  `opensanctions` covers every OpenSanctions dataset (`opensanctions:<dataset>`).
- countries: ISO2 codes against the entity's countries (FollowTheMoney stores them in lower case).
- keywords: case- and accent-insensitive, in the entity's name and aliases (also in their Latin
  transliteration, so `rosteh` finds РОСТЕХ); a keyword matches at the start of a word, and a keyword in
  a script without spaces (Chinese) matches anywhere in the name.
- types: person, organization (company, public body, legal entity), vessel, aircraft, or a schema name.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rigour.text import ascii_text
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AlertOutbox, Entity, EntityName, ListChange, Source, Watch
from db.sources import source_families
from db.text import fold

log = logging.getLogger(__name__)

# Entity kinds a watch may name, and the FollowTheMoney schemata each stands for.
TYPE_GROUPS: dict[str, frozenset[str]] = {
    "person": frozenset({"Person"}),
    "organization": frozenset({"Organization", "Company", "LegalEntity", "PublicBody"}),
    "vessel": frozenset({"Vessel"}),
    "aircraft": frozenset({"Airplane"}),
}
TYPE_ALIASES: dict[str, str] = {
    "individual": "person",
    "people": "person",
    "persons": "person",
    "company": "organization",
    "companies": "organization",
    "entity": "organization",
    "entities": "organization",
    "organisation": "organization",
    "organizations": "organization",
    "ship": "vessel",
    "vessels": "vessel",
    "airplane": "aircraft",
    "plane": "aircraft",
}

_CHUNK = 900  # bound parameters per IN (...) list, well under SQLite's and asyncpg's limits


def keyword_patterns(keyword: str) -> list[re.Pattern[str]]:
    """The regexes a keyword is searched with: its folded form and its Latin transliteration.

    A Latin form matches at the start of a word; a form in another script matches anywhere.
    """
    forms = {fold(form, keep_punctuation=False) for form in (keyword, ascii_text(keyword) or "")} - {""}
    return [
        re.compile((r"(?<![0-9a-z])" if form.isascii() else "") + re.escape(form)) for form in sorted(forms)
    ]


def canonical_type(word: str) -> str | None:
    """`companies` -> `organization`; a FollowTheMoney schema name is kept as written; else None."""
    key = word.strip().lower()
    if key in TYPE_GROUPS:
        return key
    if key in TYPE_ALIASES:
        return TYPE_ALIASES[key]
    for schemata in TYPE_GROUPS.values():
        for schema in schemata:
            if schema.lower() == key:
                return schema
    return None


def expand_sources(keys: Iterable[str]) -> set[str]:
    """Source keys with family names (`ofac`) expanded to their members."""
    families = source_families()
    out: set[str] = set()
    for key in keys:
        out.update(families.get(key, (key,)))
    return out


def source_matches(watched: Iterable[str], source_key: str) -> bool:
    """Whether a source key is among the watched ones; `opensanctions` covers `opensanctions:<dataset>`."""
    keys = expand_sources(watched)
    return source_key in keys or source_key.split(":", 1)[0] in keys


@dataclass
class ChangeFacts:
    """What watches filter on, for one change: its source, the entity's kind, countries and names."""

    change_id: int
    snapshot_id: int
    source_key: str
    schema: str | None = None
    countries: set[str] = field(default_factory=set)
    names: list[str] = field(default_factory=list)  # folded originals and transliterations

    def add_names(self, raw: Iterable[str]) -> None:
        for name in raw:
            if not name:
                continue
            for form in {fold(text, keep_punctuation=False) for text in (name, ascii_text(name) or "")}:
                if form and form not in self.names:
                    self.names.append(form)


def watch_matches(watch: Watch, facts: ChangeFacts) -> bool:
    """Whether a change passes every filter of a watch (see the module docstring for the rules)."""
    if watch.sources and not source_matches(watch.sources, facts.source_key):
        return False
    if watch.countries and not ({c.upper() for c in watch.countries} & facts.countries):
        return False
    if watch.types and not _type_matches(watch.types, facts.schema):
        return False
    if watch.keywords:
        patterns = [p for k in watch.keywords for p in keyword_patterns(k)]
        if not any(p.search(name) for p in patterns for name in facts.names):
            return False
    return True


def _type_matches(types: Sequence[str], schema: str | None) -> bool:
    if schema is None:
        return False
    for word in types:
        group = TYPE_GROUPS.get(word)
        if (group is not None and schema in group) or word == schema:
            return True
    return False


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _details_facts(facts: ChangeFacts, details: dict[str, object] | None) -> None:
    """Fill facts from a change's own details when its entity row is gone (or was never linked)."""
    if not details:
        return
    schema = details.get("schema")
    if facts.schema is None and isinstance(schema, str):
        facts.schema = schema
    countries = details.get("countries")
    if isinstance(countries, list):
        facts.countries.update(str(c).upper() for c in countries if c)
    for key in ("aliases", "names"):
        names = details.get(key)
        if isinstance(names, list):
            facts.add_names(str(n) for n in names)


async def load_facts(session: AsyncSession, changes: Sequence[ListChange]) -> list[ChangeFacts]:
    """The filter facts of each change: source key, entity schema, countries, names and aliases.

    Args:
        session: the import's session (inside its transaction).
        changes: flushed `ListChange` rows.
    Returns:
        One `ChangeFacts` per change, in the same order.
    """
    source_keys = dict((await session.execute(select(Source.id, Source.key))).tuples().all())
    entity_ids = sorted({c.entity_id for c in changes if c.entity_id is not None})
    entities: dict[int, tuple[str, list[str] | None, str]] = {}
    names: dict[int, list[str]] = {}
    for chunk in _chunks(entity_ids):
        rows = await session.execute(
            select(Entity.id, Entity.schema, Entity.countries, Entity.name).where(Entity.id.in_(chunk))
        )
        for entity_id, schema, countries, name in rows.tuples():
            entities[entity_id] = (schema, countries, name)
        name_rows = await session.execute(
            select(EntityName.entity_id, EntityName.name).where(EntityName.entity_id.in_(chunk))
        )
        for entity_id, name in name_rows.tuples():
            names.setdefault(entity_id, []).append(name)
    out = []
    for change in changes:
        facts = ChangeFacts(change.id, change.snapshot_id, source_keys.get(change.source_id, ""))
        facts.add_names([change.name])
        if change.entity_id in entities:
            schema, countries, name = entities[change.entity_id]
            facts.schema = schema
            facts.countries.update(c.upper() for c in countries or [] if c)
            facts.add_names([name, *names.get(change.entity_id, [])])
        _details_facts(facts, change.details)
        out.append(facts)
    return out


def group_key(snapshot_id: int, watch_id: int) -> str:
    """The outbox group of one watch's alerts from one snapshot (a burst becomes one digest)."""
    return f"s{snapshot_id}w{watch_id}"


async def write_alerts(session: AsyncSession, changes: Sequence[ListChange]) -> int:
    """Write one outbox row per (change, matching active watch), in the caller's transaction.

    One of the hooks in `db.ingest.changes.ON_CHANGES`. Idempotent: a (change, watch) pair already in the
    outbox is left as it is.

    Args:
        session: the import's session; nothing is committed here.
        changes: the change rows the import just added.
    Returns:
        The number of outbox rows written.
    """
    if not changes:
        return 0
    watches = (await session.execute(select(Watch).where(Watch.paused.is_(False)))).scalars().all()
    if not watches:
        return 0
    if any(c.id is None for c in changes):
        await session.flush()
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "change_id": facts.change_id,
            "watch_id": watch.id,
            "group_key": group_key(facts.snapshot_id, watch.id),
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for facts in await load_facts(session, changes)
        for watch in watches
        if watch_matches(watch, facts)
    ]
    for start in range(0, len(rows), 500):
        await session.execute(_insert_ignoring_duplicates(session), rows[start : start + 500])
    if rows:
        log.info(
            "outbox: %d alert(s) for %d change(s) and %d watch(es)", len(rows), len(changes), len(watches)
        )
    return len(rows)


def _insert_ignoring_duplicates(session: AsyncSession) -> postgresql.Insert | sqlite.Insert:
    keys = ["change_id", "watch_id"]
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(AlertOutbox).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(AlertOutbox).on_conflict_do_nothing(index_elements=keys)
