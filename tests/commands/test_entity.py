"""/entity end to end: real OFAC lines and the shipped curated file loaded by the real importers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.entity import EntityParams, parse_entity, run_entity
from commands.errors import CommandError, InvalidInput, NoData, NotFound
from commands.parse import split_command
from commands.registry import run_text
from commands.replies import Reply
from db.lookups import Lookups
from db.queries.entities import EntityRecord, NameRef, SourceRef, group_records
from tests.db.entity_seed import load_curated, load_ofac_subset

NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("/entity", InvalidInput, "Give a name"),
        ("/entity    ", InvalidInput, "Give a name"),
        ("/entity a", InvalidInput, "at least two letters"),
        ("/entity @everyone", InvalidInput, "mention"),
        ("/entity <@123456789>", InvalidInput, "mention"),
        ("/entity <@&42> Poly", InvalidInput, "mention"),
        ("/entity <#42>", InvalidInput, "mention"),
        ("/entity " + "x" * 500, InvalidInput, "500 characters"),
        ("/entity !!! ??? ...", InvalidInput, "no letters or digits"),
        ("/entity ***", InvalidInput, "no letters or digits"),
        ("/entity Poly foo=bar", InvalidInput, "Unknown option foo="),
        ("/entity Poly type=robot", InvalidInput, "Unknown type"),
        ("/entity Poly country=Atlantis", NotFound, "Unknown country"),
    ],
)
def test_bad_input_is_explained(lookups: Lookups, text: str, error: type[CommandError], says: str) -> None:
    with pytest.raises(error) as caught:
        parse_entity(split_command(text), lookups)
    assert says in caught.value.user_text()
    assert caught.value.hint or isinstance(caught.value, NotFound)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/entity King Pai", EntityParams("King Pai")),
        (
            '/entity "King Pai" country=HK type=company',
            EntityParams("King Pai", "hk", "Hong Kong", None, "company"),
        ),
        ("/entity **Sinno** list=SDN", EntityParams("**Sinno**", list_term="SDN")),  # markdown kept as typed
        ("/entity 中国保利集团 type=org", EntityParams("中国保利集团", entity_type="organization")),
        ("/entity Колтухов type=individual", EntityParams("Колтухов", entity_type="person")),
    ],
)
def test_parse(lookups: Lookups, text: str, expected: EntityParams) -> None:
    assert parse_entity(split_command(text), lookups) == expected


@pytest.fixture
async def story(sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path) -> None:
    """Real OFAC SDN lines (the story's entries, RADIOAVTOMATIKA's links, every 24th other) + curated file."""
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=24)
    await load_curated(sessions)


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str) -> Reply:
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)


def field(reply: Reply, prefix: str) -> str:
    return next(f.value for f in reply.fields if f.name.startswith(prefix))


def records(reply: Reply) -> set[tuple[str, str]]:
    return {(r["source"], r["key"]) for r in reply.numbers["records"]}


async def test_sinno_card(story: None, sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    reply = await ask(sessions, lookups, "/entity sinno electronic")
    assert reply.title == "SINNO ELECTRONICS CO., LIMITED"
    assert records(reply) == {("ofac_sdn", "38641"), ("curated", "sinno-electronics")}  # grouped: same_as
    assert reply.numbers["match"]["score"] == 100.0
    assert reply.numbers["match"]["matched_name"] == "SINNO ELECTRONIC CO., LTD"  # OFAC's alias
    assert "Registration Number 1401029 (Hong Kong)" in field(reply, "Identifiers")
    programs = {(d["list"], d["program"]) for d in reply.numbers["designations"]}
    assert ("SDN List", "RUSSIA-EO14024") in programs and ("Entity List", None) in programs
    linked = reply.numbers["relations"]
    assert [(r["kind"], r["name"], r["listings"]) for r in linked] == [
        ("linked_to", "RADIOAVTOMATIKA LLC", ["SDN List (RUSSIA-EO14024)"])
    ]
    assert any(c.source.startswith("OFAC") and c.data_date == "2024-05-01" for c in reply.citations)
    assert any(c.publisher == "UPI" and c.url for c in reply.citations)  # the curated fact's own citation
    png = reply.attachments[0]
    assert (
        png.filename.startswith("network-")
        and png.filename.endswith(".png")
        and png.data[:8] == b"\x89PNG\r\n\x1a\n"
        and len(png.data) > 20_000
    )
    json.loads(reply.to_json())


STORY_QUERIES = [
    ("King Pai", "KING-PAI TECHNOLOGY HK CO., LIMITED", ("ofac_sdn", "41861")),
    ("Poly Group", "China Poly Group Corporation", ("curated", "china-poly-group")),
    ("Group Poly China", "China Poly Group Corporation", ("curated", "china-poly-group")),
    ("中国保利集团", "China Poly Group Corporation", ("curated", "china-poly-group")),
    ("Радиоавтоматика", "RADIOAVTOMATIKA LLC", ("ofac_sdn", "35348")),
    ("RADIOAVTOMATKA ООО", "RADIOAVTOMATIKA LLC", ("ofac_sdn", "35348")),
    ("World Jetta Logistics", "World Jetta Logistics Ltd.", ("curated", "world-jetta-logistics")),
    ("**SINNO** electronics", "SINNO ELECTRONICS CO., LIMITED", ("ofac_sdn", "38641")),
]


async def test_story_names_are_found(
    story: None, sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    """One database for the whole table: loading it per row would double the suite's time."""
    for query, title, source_key in STORY_QUERIES:
        reply = await ask(sessions, lookups, f"/entity {query}")
        assert (query, reply.title) == (query, title)
        assert source_key in records(reply), query


async def test_poly_group_links_figures_and_chart(
    story: None, sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    group = await ask(sessions, lookups, "/entity Poly Group")
    assert [(r["kind"], r["direction"], r["name"]) for r in group.numbers["relations"]] == [
        ("ownership", "out", "Poly Technologies Inc")
    ]
    assert "owns (100%): Poly Technologies Inc" in field(group, "Relations")
    assert any(f["value"] == 281 for f in group.numbers["figures"])
    assert any(c.publisher == "C4ADS" and c.data_date == "2024-06-12" for c in group.citations)
    assert group.attachments and group.attachments[0].data[:4] == b"\x89PNG"
    tech = await ask(sessions, lookups, "/entity poly technologies")
    assert tech.numbers["shipments"]["count"] == 1 and tech.numbers["shipments"]["total_value_usd"] is None
    assert "Almaz Antey" in field(tech, "Shipments")
    assert "owned by (100%): China Poly Group Corporation" in field(tech, "Relations")


async def test_filters_and_candidates(
    story: None, sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    sdn_only = await ask(sessions, lookups, "/entity King Pai list=SDN")
    assert ("ofac_sdn", "41861") in records(sdn_only)
    with pytest.raises(NotFound):
        await ask(sessions, lookups, "/entity radioavtomatika country=HK")
    ru = await ask(sessions, lookups, "/entity radioavtomatika country=RU type=company")
    assert ru.title == "RADIOAVTOMATIKA LLC"
    candidates = ru.numbers["candidates"]
    assert all(c["score"] < ru.numbers["match"]["score"] for c in candidates)
    assert all(
        {"entity_ids", "name", "score", "countries", "birth_dates", "sources"} <= set(c) for c in candidates
    )
    with pytest.raises(NotFound) as caught:
        await ask(sessions, lookups, "/entity Qwxz Vbnm Plokij")
    assert "No listed or curated entity matches" in caught.value.user_text()


async def test_empty_database(sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    with pytest.raises(NoData) as caught:
        async with sessions() as session:
            await run_entity(Context(session=session, lookups=lookups), EntityParams("Poly Group"))
    assert "tradewatch import" in caught.value.user_text()


def _record(
    entity_id: int, source: str, names: list[str], countries: list[str], **props: Any
) -> EntityRecord:
    ref = SourceRef(source, source, "test", None, None, None)
    record = EntityRecord(entity_id, ref, str(entity_id), "Company", names[0], countries, props, True)
    from db.names import normalize_name

    record.names = [
        NameRef(entity_id * 10 + i, n, normalize_name(n), "Latin", "aka") for i, n in enumerate(names)
    ]
    return record


def test_grouping_rules() -> None:
    """Same identifier; same normalised name and a shared country; curated same_as. Nothing else."""
    ident = {"identifiers": [{"type": "Registration Number", "number": "1401029", "country": "hk"}]}
    a = _record(1, "ofac_sdn", ["SINNO ELECTRONICS CO., LIMITED"], ["hk"], **ident)
    b = _record(2, "opensanctions", ["Sinno Electronic HK"], ["cn"], **ident)  # identifier
    c = _record(3, "csl", ["Sinno Electronics Company Limited"], ["hk"])  # name + country
    d = _record(4, "csl", ["Sinno Electronics Ltd"], ["ru"])  # same name, other country: not grouped
    e = _record(5, "curated", ["新诺电子"], [])  # joined only by a curated same_as
    groups = group_records([a, b, c, d, e], same_as=[(5, 1)])
    assert [[r.entity_id for r in g] for g in groups] == [[1, 2, 3, 5], [4]]
    born = [
        _record(6, "ofac_sdn", ["IVANOV, Ivan"], ["ru"], birth_dates=["1970-01-01"]),
        _record(7, "opensanctions", ["Ivan Ivanov"], ["ru"], birth_dates=["1980-05-05"]),
    ]
    assert len(group_records(born)) == 2  # same name and country, different birth dates


def test_network_chart_keeps_labels_apart() -> None:
    """The most crowded chart drawn (12 related entities, 10 of theirs): columns, no two boxes touching."""
    from commands.network_chart import Edge, NetworkGraph, Node, layout, render_network

    nodes = [Node("centre", "China Poly Group Corporation", False, "not listed", "centre")]
    nodes += [
        Node(f"d{i}", f"Subsidiary number {i} Co., Ltd.", i % 2 == 0, "SDN List (RUSSIA-EO14024)", "direct")
        for i in range(12)
    ]
    nodes += [Node(f"s{i}", f"Second-hop partner {i}", False, "not listed", "second") for i in range(10)]
    edges = [Edge("centre", f"d{i}", "owns") for i in range(12)] + [
        Edge(f"d{i}", f"s{i}", "linked to") for i in range(10)
    ]
    graph = NetworkGraph("Network of China Poly Group Corporation", nodes, edges, "Source: test", hidden=3)
    pos = layout(graph)
    assert set(pos) == {n.key for n in nodes}
    for column in {x for x, _ in pos.values()}:
        ys = sorted(y for x, y in pos.values() if x == column)
        assert all(b - a >= 0.19 for a, b in zip(ys, ys[1:], strict=False))  # two label lines apart
    png = render_network(graph)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000


ISSUE_QUERIES = [
    ("1401029", ("ofac_sdn", "38641"), "identifier Registration Number 1401029"),  # HK registration
    ("1263702", ("ofac_sdn", "41861"), "identifier Registration Number 1263702"),
    ("7725-824-287", ("ofac_sdn", "35348"), "identifier Tax ID No. 7725824287"),  # INN, with dashes
    ("kingpai", ("ofac_sdn", "41861"), "kingpai written together"),
    ("World Jetta country=HK", ("curated", "world-jetta-logistics"), "country HK agrees"),  # "(H.K.)" alias
]


async def test_issue_queries_find_and_explain(
    story: None, sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    for query, source_key, why in ISSUE_QUERIES:
        reply = await ask(sessions, lookups, f"/entity {query}")
        assert source_key in records(reply), query
        why_line = next(line for line in reply.summary if line.startswith("Why: "))
        assert why in why_line, (query, why_line)
        if why.startswith("identifier "):  # the matched identifier is not repeated as a fact to compare
            assert why_line.count(why.split()[-1]) == 1, why_line


async def test_close_candidates_are_listed_not_carded(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path, tmp_path: Path
) -> None:
    """The twelve IVANOVs of the real SDN list: a surname alone gets a short list, a full name one card."""
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=100_000, also=b'"IVANOV, ')
    reply = await ask(sessions, lookups, "/entity Ivanov")
    assert reply.numbers["ambiguous"] is True and len(reply.numbers["candidates"]) == 8
    text = field(reply, "Candidates")
    assert "IVANOV, Timur (Person, Russia, SDN List (RUSSIA-EO14024))" in text and "ivanov exact" in text
    assert "born " in text
    single = await ask(sessions, lookups, "/entity Timur Ivanov")
    assert single.title == "IVANOV, Timur"
    assert any(line.startswith("Why: name 'IVANOV, Timur'") for line in single.summary)


async def test_other_romanisation_of_a_chinese_name_finds_and_explains(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path, tmp_path: Path
) -> None:
    """ZHOU Jianshu of the real SDN list, asked for in Hong Kong (Chow) and Wade-Giles (Chou) spellings."""
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=100_000, also=b'"ZHOU, Jianshu"')
    for query, why in (
        ("Chow Jianshu", "chow another romanisation, jianshu exact"),
        ("Jianshu Chou", "jianshu exact, chou another romanisation"),
    ):
        reply = await ask(sessions, lookups, f"/entity {query}")
        assert reply.title == "ZHOU, Jianshu", query
        why_line = next(line for line in reply.summary if line.startswith("Why: "))
        assert why in why_line, why_line
