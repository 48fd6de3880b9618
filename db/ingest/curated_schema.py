"""The team's curated YAML files: the schema (pydantic) and a loader that keeps line numbers for errors.

Every fact carries `cite:` — one or more citation ids declared under `citations:` in the same file (or an
inline citation). A citation needs publisher, title, url and date; an undated page may leave `date` out only
if `note` says why (e.g. "undated reference page").
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Schema = Literal["Company", "Organization", "LegalEntity", "Person", "PublicBody", "Vessel", "Airplane"]
RelationKind = Literal["ownership", "directorship", "family", "associate", "linked_to", "supplier", "same_as"]
QUALIFIED_KEY = re.compile(r"^[a-z][a-z0-9_]*(:[A-Za-z0-9_.-]+)?:[^\s:]+$")
# A hand-written file expands (every alias followed) to a few thousand nodes; a YAML alias "bomb" of ten lines
# expands to billions, and validating it would exhaust the machine's memory.
MAX_EXPANDED_NODES = 100_000
# A figure's period: a year, month or day, or a range of them (`2022-01/2022-05`).
PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(?:-\d{2})?)?(/(\d{4})(?:-(\d{2})(?:-\d{2})?)?)?$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Citation(Strict):
    publisher: str
    title: str
    url: str
    date: dt.date | None = None
    note: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _dated(self) -> Citation:
        if self.date is None and not self.note:
            raise ValueError("a citation needs a date (or a note saying why the page is undated)")
        return self


Cite = list[str | Citation]


class Cited(Strict):
    cite: Cite = Field(min_length=1)


class Alias(Cited):
    name: str = Field(min_length=1)
    kind: Literal["aka", "fka", "nka", "weak"] = "aka"


class Identifier(Cited):
    type: str
    number: str
    country: str | None = None


class Note(Cited):
    text: str = Field(min_length=1)


class Designation(Cited):
    authority: str
    list: str
    program: str | None = None
    listed_on: dt.date | None = None
    reference: str | None = None
    source_url: str | None = None


class Entity(Cited):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    type: Schema
    countries: list[str] = []
    aliases: list[str | Alias] = []
    identifiers: list[Identifier] = []
    same_as: list[str] = []
    notes: list[Note] = []
    designations: list[Designation] = []

    @field_validator("countries")
    @classmethod
    def _countries(cls, values: list[str]) -> list[str]:
        import pycountry

        for value in values:
            if not pycountry.countries.get(alpha_2=value.upper()):
                raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code")
        return [v.lower() for v in values]

    @field_validator("same_as")
    @classmethod
    def _same_as(cls, values: list[str]) -> list[str]:
        for value in values:
            if not QUALIFIED_KEY.match(value):
                raise ValueError(f"{value!r} is not a record key like ofac_sdn:38641")
        return values


class Relation(Cited):
    from_: str = Field(alias="from")
    to: str
    kind: RelationKind
    to_name: str | None = None
    details: dict[str, Any] = {}


class Shipment(Cited):
    id: str
    date: dt.date | None = None
    exporter: str
    importer: str
    hs_code: str | None = Field(default=None, pattern=r"^\d{2,10}$")
    value_usd: float | None = Field(default=None, ge=0)
    description: str | None = None


def period_bounds(period: str) -> tuple[int, int] | None:
    """`2022`, `2022-05`, `2022-06-02` or `FROM/TO` of those -> (first, last) as YYYYMM; None if not a period."""
    match = PERIOD.match(period.strip())
    if not match:
        return None
    first_year, first_month, to_part, last_year, last_month = match.groups()
    if not to_part:  # one year, month or day: from its first month to its last
        last_year, last_month = first_year, first_month
    months = [int(m) for m in (first_month, last_month) if m]
    if any(not 1 <= m <= 12 for m in months):
        return None
    first = int(first_year) * 100 + int(first_month or 1)
    last = int(last_year) * 100 + int(last_month or 12)
    return (first, last) if first <= last else None


def _country(value: str | None) -> str | None:
    import pycountry

    if value is not None and not pycountry.countries.get(alpha_2=value.upper()):
        raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code")
    return value.upper() if value else None


class Figure(Cited):
    """A figure as someone else published it. With hs_code, reporter, partner and a period it is shown beside
    the trade answers it speaks of (never added to their series)."""

    id: str
    subject: str
    statement: str
    value: float | None = None
    unit: str | None = None
    period: str | None = None
    hs_code: str | None = Field(default=None, pattern=r"^\d{2,10}$")
    commodity: str | None = None  # the goods in the publisher's words ("chips")
    hs_note: str | None = None  # whose reading the HS code is, when the publisher gives none
    reporter: str | None = None  # ISO alpha-2 of the country whose customs data the figure comes from
    partner: str | None = None
    flow: Literal["exports", "imports"] | None = None

    @field_validator("reporter", "partner")
    @classmethod
    def _countries(cls, value: str | None) -> str | None:
        return _country(value)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None and period_bounds(value) is None:
            raise ValueError(
                "a period is YYYY, YYYY-MM, YYYY-MM-DD or FROM/TO of those (e.g. 2022-01/2022-05)"
            )
        return value


class CuratedFile(Strict):
    citations: dict[str, Citation] = {}
    entities: list[Entity] = []
    relations: list[Relation] = []
    shipments: list[Shipment] = []
    figures: list[Figure] = []


def _line_map(
    node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], errors: list[str], file: str
) -> None:
    """Record the line of every value by its path; report duplicate mapping keys (YAML keeps the last)."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                errors.append(
                    f"{file}:{key_node.start_mark.line + 1}: {_where(path) or 'top level'}: "
                    f"key {key!r} appears twice"
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), lines, errors, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines, errors, file)


def _where(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _expansion_problem(root: yaml.Node) -> str | None:
    """Why the document is unsafe to expand (too many nodes once aliases are followed, or an alias that
    contains itself), or None. Shared nodes are sized once, so this costs one pass over the file's nodes."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in active:
            raise ValueError("an alias refers to a node that contains it (a recursive structure)")
        if key not in sizes:
            active.add(key)
            children: list[yaml.Node] = []
            if isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            sizes[key] = min(1 + sum(size(child) for child in children), MAX_EXPANDED_NODES + 1)
            active.discard(key)
        return sizes[key]

    try:
        if size(root) > MAX_EXPANDED_NODES:
            return f"expands to more than {MAX_EXPANDED_NODES:,} values once its aliases are followed"
    except ValueError as exc:
        return str(exc)
    return None


def load_file(path: Path) -> tuple[CuratedFile | None, list[str]]:
    """Parse and validate one file: (model or None, errors as `file:line: where: message`)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [f"{name}:1: not UTF-8 text ({exc.reason})"]
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            problem = _expansion_problem(node) if node is not None else None
            if problem:
                return None, [f"{name}:1: refused: {problem}"]
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except RecursionError:
        return None, [f"{name}:1: refused: nested too deeply to be a curated file"]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [
            f"{name}:{mark.line + 1 if mark else 1}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ]
    errors: list[str] = []
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_map(node, (), lines, errors, name)
    if not isinstance(data, dict):
        return None, [f"{name}:1: expected a mapping with citations/entities/relations/shipments/figures"]
    try:
        model = CuratedFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple("from" if p == "from_" else p for p in err["loc"])
            loc = tuple(
                p
                for p in loc
                if not (
                    isinstance(p, str)
                    and (p.startswith(("str", "Citation", "Alias")) or p in ("function-after",))
                )
            )
            errors.append(f"{name}:{_line_of(loc, lines)}: {_where(loc) or 'top level'}: {err['msg']}")
        return None, errors
    errors += cross_check(model, lines, name)
    return (model if not errors else None), errors


def cross_check(model: CuratedFile, lines: dict[tuple[Any, ...], int], name: str) -> list[str]:
    """Citation ids that exist, unique ids, relation ends that are known."""
    errors: list[str] = []

    def err(path: tuple[Any, ...], message: str) -> None:
        errors.append(f"{name}:{_line_of(path, lines)}: {_where(path)}: {message}")

    def cites(path: tuple[Any, ...], values: Cite) -> None:
        for i, value in enumerate(values):
            if isinstance(value, str) and value not in model.citations:
                err((*path, "cite", i), f"unknown citation {value!r} (declare it under citations:)")

    ids: set[str] = set()
    for i, entity in enumerate(model.entities):
        path = ("entities", i)
        if entity.id in ids:
            err((*path, "id"), f"entity id {entity.id!r} used twice")
        ids.add(entity.id)
        cites(path, entity.cite)
        for field_name in ("aliases", "identifiers", "notes", "designations"):
            for j, item in enumerate(getattr(entity, field_name)):
                if not isinstance(item, str):
                    cites((*path, field_name, j), item.cite)
    for section in ("relations", "shipments", "figures"):
        for i, item in enumerate(getattr(model, section)):
            cites((section, i), item.cite)
    for i, relation in enumerate(model.relations):
        if relation.from_ not in ids:
            err(("relations", i, "from"), f"{relation.from_!r} is not an entity id of this file")
        if relation.to not in ids and not QUALIFIED_KEY.match(relation.to) and not relation.to_name:
            err(
                ("relations", i, "to"),
                f"{relation.to!r}: use an entity id of this file, a record key like "
                "ofac_sdn:38641, or give to_name",
            )
    for section in ("shipments", "figures"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(model, section)):
            if item.id in seen:
                err((section, i, "id"), f"id {item.id!r} used twice")
            seen.add(item.id)
    return errors
