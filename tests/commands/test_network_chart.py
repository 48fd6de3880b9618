"""The /entity network chart: sized to what it shows, full names, countries and lists, a readable subtitle."""

from __future__ import annotations

from commands.network_chart import (
    DPI,
    NOT_MATCHED,
    Edge,
    NetworkGraph,
    Node,
    graph_from_links,
    label_lines,
    plan,
    render_network,
    subtitle,
)
from db.queries.entity_links import Cited, GroupLinks, Link, Neighbour

LONG = "PRIVATE COMPANY PROMCOMPLEKTLOGISTIC LIMITED LIABILITY"
CITED = Cited(
    "OFAC Specially Designated Nationals (SDN) List", "U.S. Treasury, OFAC", "2024-05-01", None, None
)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def two_boxes() -> NetworkGraph:
    nodes = [
        Node("centre", "China Poly Group Corporation", False, "not listed", "centre", "China"),
        Node("e2", "Poly Technologies Inc", True, "SDN List [curated]", "direct", "China"),
    ]
    return NetworkGraph(
        "Network of China Poly Group Corporation", nodes, [Edge("centre", "e2", "owns (100%)")], "x"
    )


def test_a_small_network_gets_a_small_canvas() -> None:
    width, height = png_size(render_network(two_boxes()))
    assert width <= 8 * DPI and height <= 2.6 * DPI  # not two boxes in an empty 1200 x 780 canvas
    assert subtitle(two_boxes()) == (
        "Read each arrow as a sentence: China Poly Group Corporation owns (100%) Poly Technologies Inc."
    )


def test_names_are_wrapped_whole_with_countries_and_every_list() -> None:
    node = Node("e1", LONG, True, "SDN List (RUSSIA-EO14024)\nEntity List [curated]", "direct", "Uzbekistan")
    lines = label_lines(node)
    assert " ".join(lines[:-3]) == LONG and all(len(line) <= 34 for line in lines)
    assert lines[-3:] == ["Uzbekistan", "SDN List (RUSSIA-EO14024)", "Entity List [curated]"]
    compact = label_lines(node, compact=True)
    assert " ".join(compact).startswith(LONG) and "Uzbekistan · SDN List (RUSSIA-EO14024); Entity List" in (
        " ".join(compact)
    )
    many = Node("e1", "X", True, "\n".join(f"List {i}" for i in range(5)), "direct")
    assert label_lines(many)[-1] == "+ 2 more lists"


def test_a_crowded_network_keeps_boxes_apart_and_grows_only_as_needed() -> None:
    nodes = [Node("centre", "China Poly Group Corporation", False, "not listed", "centre", "China")]
    nodes += [
        Node(f"d{i}", f"{LONG} {i}", i % 2 == 0, "SDN List (RUSSIA-EO14024)", "direct", "Russia")
        for i in range(12)
    ]
    nodes += [Node(f"s{i}", f"Partner {i}", False, NOT_MATCHED, "second") for i in range(10)]
    edges = [Edge("centre", f"d{i}", "owns") for i in range(12)] + [
        Edge(f"d{i}", f"s{i}", "linked to") for i in range(10)
    ]
    graph = NetworkGraph("Network of China Poly Group Corporation", nodes, edges, "Source: test", hidden=3)
    layout = plan(graph)
    assert set(layout.pos) == {n.key for n in nodes}
    for column in {x for x, _ in layout.pos.values()}:
        ys = sorted(y for x, y in layout.pos.values() if x == column)
        assert all(b - a >= 0.45 for a, b in zip(ys, ys[1:], strict=False))  # a compact box is ~0.6 in tall
    assert "Relations: linked to, owns." in subtitle(graph) and "Dashed lines" in subtitle(graph)
    width, height = png_size(render_network(graph))
    assert height > png_size(render_network(two_boxes()))[1] and height <= 12 * DPI


def test_graph_carries_each_neighbours_countries_and_lists() -> None:
    radio = Neighbour(
        7, "RADIOAVTOMATIKA LLC", "Organization", "ofac_sdn", True, ("SDN List (RUSSIA-EO14024)",), ("ru",)
    )
    links = GroupLinks(
        links=[
            Link(1, "linked_to", True, 5, "RADIOAVTOMATIKA LLC", radio, None, CITED),
            Link(2, "linked_to", False, 5, "Nameless Trading", None, None, CITED),
        ]
    )
    graph = graph_from_links(
        "SINNO ELECTRONICS CO., LIMITED", ["SDN List (RUSSIA-EO14024)", "Entity List [curated]"], {5}, links,
        countries=["hk", "cn"], country_names=lambda codes: " / ".join(sorted(c.upper() for c in codes)),
    )  # fmt: skip
    assert graph is not None
    by_key = {n.key: n for n in graph.nodes}
    assert by_key["centre"].countries == "CN / HK" and "Entity List [curated]" in by_key["centre"].tag
    assert (by_key["e7"].countries, by_key["e7"].tag, by_key["e7"].listed) == (
        "RU",
        "SDN List (RUSSIA-EO14024)",
        True,
    )
    assert by_key["n:nameless trading"].tag == NOT_MATCHED
    assert [(e.a, e.b) for e in graph.edges] == [("centre", "e7"), ("n:nameless trading", "centre")]
    assert png_size(render_network(graph))[1] < 4 * DPI
