"""FollowTheMoney entities (OpenSanctions exports) -> entity records. Pure; uses the followthemoney model.

People, companies, organisations, vessels and aircraft become entities. `Sanction` entities become
designations of their target; edge entities (Ownership, Directorship, Family, Associate, UnknownLink ...)
become relations of their source side; `Address` entities become addresses of the entities that reference
them; `Occupancy` adds the post's name to the holder's positions. Other schemata are counted as skipped.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from followthemoney import model
from followthemoney.types import registry

from db.ingest.country_names import country_code
from db.ingest.entity_records import DesignationRecord, EntityRecord, RelationRecord, dedupe
from db.ingest.ofac_remarks import identifier_kind

ALIAS_PROPS = {"alias": "aka", "weakAlias": "weak", "previousName": "fka", "abbreviation": "aka"}
ID_KINDS = {
    "registrationNumber": "registration",
    "ogrnCode": "registration",
    "leiCode": "registration",
    "uscCode": "registration",
    "dunsCode": "registration",
    "taxNumber": "tax",
    "innCode": "tax",
    "vatCode": "tax",
    "passportNumber": "passport",
    "idNumber": "national_id",
    "imoNumber": "vessel",
    "mmsi": "vessel",
    "swiftBic": "other",
}
SIMPLE = {
    "birthDate": "birth_dates",
    "birthPlace": "birth_places",
    "gender": "gender",
    "website": "websites",
    "email": "emails",
    "phone": "phones",
    "incorporationDate": "established",
    "topics": "topics",
    "position": "positions",
    "notes": "notes_text",
    "program": "programs",
    "summary": "summary",
    "nationality": "nationalities",
    "citizenship": "citizenships",
}


def stored_schema(name: str) -> bool:
    """Schemata kept as entities: legal entities (people, companies, organisations), vessels and aircraft."""
    schema = model.get(name)
    return bool(schema and (schema.is_a("LegalEntity") or schema.is_a("Vehicle")))


def _props(entity: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        k: [v for v in vals if v not in (None, "")] for k, vals in (entity.get("properties") or {}).items()
    }


def _ref(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else (str(value) if value else None)


def entity_name(entity: dict[str, Any]) -> str:
    names = [n for n in _props(entity).get("name", []) if str(n).strip()]
    return str(entity.get("caption") or (names[0] if names else "") or entity.get("id"))


def base_record(entity: dict[str, Any], dataset: str) -> EntityRecord:
    """The entity's own facts (names, countries, identifiers, dates ...) in the shared vocabulary."""
    schema = model.get(entity["schema"])
    props = _props(entity)
    name = entity_name(entity)
    aliases = [(str(n), "aka") for n in props.get("name", []) if str(n) != name]
    aliases += [(str(n), kind) for prop, kind in ALIAS_PROPS.items() for n in props.get(prop, [])]
    properties: dict[str, Any] = {"dataset": dataset}
    for key in ("datasets", "first_seen", "last_seen", "last_change"):
        if entity.get(key):
            properties[key] = entity[key]
    identifiers, countries, extra = [], [], {}
    for prop_name, values in props.items():
        prop = schema.get(prop_name) if schema else None
        if prop is None or prop_name in ("name", *ALIAS_PROPS):
            continue
        if prop_name in SIMPLE:
            values = [country_code(str(v)) or v for v in values] if prop.type == registry.country else values
            properties[SIMPLE[prop_name]] = [str(v) for v in values]
        elif prop.type == registry.identifier:
            kind = ID_KINDS.get(prop_name) or identifier_kind(prop.label)
            identifiers += [{"type": prop.label, "number": str(v), "kind": kind} for v in values]
        elif prop.type == registry.country:
            extra[prop_name] = [str(v) for v in values]
        elif prop.type == registry.address:
            properties.setdefault("addresses", []).extend({"full": str(v)} for v in values)
        elif prop.type != registry.entity:
            extra[prop_name] = [str(v) for v in values]
    for prop_name in ("country", "jurisdiction", "nationality", "citizenship", "flag", "mainCountry"):
        countries += [country_code(str(v)) for v in props.get(prop_name, [])]
    if identifiers:
        properties["identifiers"] = identifiers
    if extra:
        properties["ftm"] = extra
    return EntityRecord(
        key=str(entity["id"]),
        schema=entity["schema"],
        name=name,
        countries=sorted({c for c in countries if c}),
        properties=properties,
        aliases=aliases,
    )


def sanction_designation(sanction: dict[str, Any], dataset: str) -> DesignationRecord:
    props = _props(sanction)

    def first(name: str) -> str | None:
        values = props.get(name) or []
        return str(values[0]) if values else None

    details = {
        k: [str(v) for v in props[k]]
        for k in (
            "reason",
            "provisions",
            "status",
            "authorityId",
            "unscId",
            "programUrl",
            "endDate",
            "country",
        )
        if props.get(k)
    }
    return DesignationRecord(
        authority=first("authority") or f"OpenSanctions dataset {dataset}",
        list_name=first("program") or dataset,
        program=first("programId") or first("program"),
        listed_on=first("listingDate") or first("startDate"),
        reference=first("recordId") or first("authorityId"),
        source_url=first("sourceUrl"),
        details={**details, "dataset": dataset, "sanction_id": sanction.get("id")},
    )


def edge_relation(
    edge: dict[str, Any], entities: dict[str, dict[str, Any]], source_key: str
) -> tuple[str, RelationRecord] | None:
    """(from id, relation) of an edge entity, or None if it is not a link between two entities."""
    schema = model.get(edge["schema"])
    if schema is None or not schema.edge or not schema.edge_source or not schema.edge_target:
        return None
    props = _props(edge)
    sources = [_ref(v) for v in props.get(schema.edge_source, [])]
    targets = [_ref(v) for v in props.get(schema.edge_target, [])]
    if not sources or not targets or not sources[0] or not targets[0]:
        return None
    target = entities.get(targets[0] or "")
    kind = {"UnknownLink": "unknown_link"}.get(edge["schema"], edge["schema"].lower())
    details = {
        k: [str(v) for v in props[k]]
        for k in ("role", "relationship", "percentage", "startDate", "endDate", "ownershipType", "summary")
        if props.get(k)
    }
    relation = RelationRecord(
        kind=kind,
        to_name=entity_name(target) if target else str(targets[0]),
        to_key=f"{source_key}:{targets[0]}",
        details={**details, "edge_id": edge.get("id")},
    )
    return str(sources[0]), relation


def to_records(
    entities: dict[str, dict[str, Any]], dataset: str, source_key: str, skipped: Counter[str]
) -> list[EntityRecord]:
    """Records for the stored entities of a flat id -> entity map, with designations, relations, addresses."""
    records = {
        eid: base_record(e, dataset) for eid, e in entities.items() if stored_schema(e.get("schema", ""))
    }
    for eid, entity in entities.items():
        if eid in records:
            continue
        schema = entity.get("schema", "")
        if schema == "Sanction":
            for target in map(_ref, _props(entity).get("entity", [])):
                if target in records:
                    records[target].designations.append(sanction_designation(entity, dataset))
        elif schema == "Occupancy":
            _occupancy(entity, entities, records)
        elif schema == "Address":
            continue  # attached below from the entities that reference it
        elif (edge := edge_relation(entity, entities, source_key)) is not None:
            if edge[0] in records:
                records[edge[0]].relations.append(edge[1])
            else:
                skipped[f"{schema} link from an entity not in the file"] += 1
        elif model.get(schema) is None:
            skipped[f"unknown FollowTheMoney schema {schema!r}"] += 1
        else:
            skipped[f"{schema} entities are not stored (not a person, organisation, vessel or aircraft)"] += 1
    for eid, record in records.items():
        _addresses(entities[eid], entities, record)
    return list(records.values())


def _occupancy(
    entity: dict[str, Any], entities: dict[str, dict[str, Any]], records: dict[str, EntityRecord]
) -> None:
    props = _props(entity)
    holder = _ref((props.get("holder") or [None])[0])
    post = entities.get(_ref((props.get("post") or [None])[0]) or "")
    if holder in records and post:
        positions = records[holder].properties.setdefault("positions", [])
        if entity_name(post) not in positions:
            positions.append(entity_name(post))


def _addresses(entity: dict[str, Any], entities: dict[str, dict[str, Any]], record: EntityRecord) -> None:
    for ref in map(_ref, _props(entity).get("addressEntity", [])):
        address = entities.get(ref or "")
        if not address:
            continue
        props = _props(address)
        full = (props.get("full") or [entity_name(address)])[0]
        country = country_code(str((props.get("country") or [""])[0]))
        item = {"full": str(full), **({"country": country} if country else {})}
        record.properties["addresses"] = dedupe(record.properties.get("addresses", []) + [item])
        if country and country not in record.countries:
            record.countries = sorted({*record.countries, country})
