"""Change detection between two snapshots of a source: added, removed (delisted) and amended entries.

The entity store classifies records by natural key and content hash; this module turns that into
`list_changes` rows (with what changed, and the listing facts a watch filters on), in the same transaction
as the load, then calls the hooks in `ON_CHANGES` (the alert outbox writer).

The first snapshot of a source is a baseline: it records no changes. Re-importing a file already loaded
changes nothing (the importer stops at the sha256 check before it gets here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.ingest.entity_records import EntityRecord
from db.ingest.entity_store import StoreResult
from db.models import ListChange, Snapshot, Source
from db.outbox import write_alerts

# Called inside the import transaction after the change rows are flushed (they have ids). A hook that
# raises rolls the whole import back, so alerts are never written without their changes or vice versa.
# Every import (CLI, sync, demo, tests) writes the alert outbox this way.
ON_CHANGES: tuple[Callable[[AsyncSession, list[ListChange]], Awaitable[object]], ...] = (write_alerts,)

INTERNAL_KEYS = {"_part_hashes"}


def listing_facts(record: EntityRecord, source: Source) -> dict[str, Any]:
    """What a watch filters on and an alert shows: source, type, countries, programs, lists, dates."""
    designations = [
        {
            k: v
            for k, v in {
                "authority": d.authority,
                "list": d.list_name,
                "program": d.program,
                "listed_on": d.listed_on,
                "reference": d.reference,
                "source_url": d.source_url,
            }.items()
            if v
        }
        for d in record.designations
    ]
    return {
        "source": source.key,
        "schema": record.schema,
        "countries": sorted(set(record.countries)),
        "programs": list(record.properties.get("programs") or []),
        "designations": designations[:20],
        "aliases": [name for name, _ in record.aliases][:20],
    }


def _as_set(values: Any) -> set[str]:
    import json

    return {
        json.dumps(v, sort_keys=True, ensure_ascii=False) if not isinstance(v, str) else v
        for v in (values or [])
    }


def _list_diff(old: Any, new: Any) -> dict[str, list[Any]] | None:
    import json

    old_set, new_set = _as_set(old), _as_set(new)
    if old_set == new_set:
        return None

    def back(items: set[str]) -> list[Any]:
        out = []
        for item in sorted(items):
            try:
                out.append(json.loads(item) if item[:1] in "{[" else item)
            except ValueError:
                out.append(item)
        return out

    return {"added": back(new_set - old_set), "removed": back(old_set - new_set)}


def describe_amendment(old: dict[str, Any], record: EntityRecord, skip: set[str]) -> dict[str, Any]:
    """Field by field, what differs between the stored entry and the new record.

    Args:
        old: the stored state (name, schema, countries, properties, aliases) from the entity store.
        record: the new record.
        skip: fields not to compare (their file was missing from one of the two snapshots).
    Returns:
        {field: {"old", "new"} or {"added", "removed"}} for every field that changed.
    """
    old_props = {k: v for k, v in (old.get("properties") or {}).items() if k not in INTERNAL_KEYS}
    new_props = {k: v for k, v in record.properties.items() if k not in INTERNAL_KEYS}
    changed: dict[str, Any] = {}
    for field_name, old_value, new_value in (
        ("schema", old.get("schema"), record.schema),
        ("name", old.get("name"), record.name),
    ):
        if old_value != new_value and field_name not in skip:
            changed[field_name] = {"old": old_value, "new": new_value}
    if "aliases" not in skip:
        diff = _list_diff([list(a) for a in old.get("aliases", [])], [list(a) for a in record.aliases])
        if diff:
            changed["aliases"] = diff
    diff = _list_diff(old.get("countries"), record.countries)
    if diff and "countries" not in skip:
        changed["countries"] = diff
    for key in sorted(set(old_props) | set(new_props)):
        if key in skip or old_props.get(key) == new_props.get(key):
            continue
        before, after = old_props.get(key), new_props.get(key)
        if isinstance(before, list | type(None)) and isinstance(after, list | type(None)):
            diff = _list_diff(before, after)
            if diff:
                changed[key] = diff
        else:
            changed[key] = {"old": before, "new": after}
    return changed


def build_changes(
    result: StoreResult,
    *,
    source: Source,
    snapshot: Snapshot,
    previous: Snapshot | None,
    now: dt.datetime,
    skip_fields: set[str],
    removed: dict[str, dict[str, Any]],
) -> list[ListChange]:
    """One ListChange per added, relisted, amended and removed entry of this snapshot."""
    rows: list[ListChange] = []

    def add(key: str, change: str, name: str, details: dict[str, Any]) -> None:
        rows.append(
            ListChange(
                source_id=source.id,
                snapshot_id=snapshot.id,
                previous_snapshot_id=previous.id if previous else None,
                entity_key=key,
                entity_id=result.ids.get(key),
                change=change,
                name=name[:1000],
                details=details,
                detected_at=now,
            )
        )

    for record in result.added:
        add(record.key, "added", record.name, listing_facts(record, source))
    for record in result.relisted:
        add(record.key, "added", record.name, {**listing_facts(record, source), "relisted": True})
    for record in result.amended:
        old = result.old_state.get(result.ids[record.key], {})
        changed = describe_amendment(old, record, skip_fields)
        if not changed:  # the difference is in designation or relation details only
            changed = {"listing details": {"old": None, "new": "changed"}}
        add(
            record.key,
            "amended",
            record.name,
            {**listing_facts(record, source), "changed": changed, "fields": list(changed)},
        )
    for key, _entity_id in result.removed:
        facts = removed.get(key, {})
        details = {
            "source": source.key,
            "delisted": True,
            "schema": facts.get("schema"),
            "countries": facts.get("countries") or [],
            "programs": facts.get("programs") or [],
        }
        add(key, "removed", str(facts.get("name") or key), details)
    return rows


async def record_changes(session: AsyncSession, changes: list[ListChange]) -> list[ListChange]:
    """Flush the change rows (ids assigned) and run the ON_CHANGES hooks in the same transaction."""
    if not changes:
        return changes
    session.add_all(changes)
    await session.flush()
    for hook in ON_CHANGES:
        await hook(session, changes)
    return changes


def summary_line(changes: list[ListChange], *, baseline: bool) -> str:
    """`296 added, 0 removed, 20 amended` or the baseline note, for the import summary."""
    if baseline:
        return "baseline (first snapshot of this source): no changes recorded"
    counts = {"added": 0, "removed": 0, "amended": 0}
    for change in changes:
        counts[change.change] = counts.get(change.change, 0) + 1
    return f"{counts['added']:,} added, {counts['removed']:,} removed, {counts['amended']:,} amended"
