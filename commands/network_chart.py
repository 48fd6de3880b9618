"""Network chart PNG for /entity: the entity in the middle, its related entities around it, theirs outside.

Drawn with matplotlib's Figure API (no pyplot) in columns: the entity, its related entities, and theirs
(one more hop), so that labels never pile up as they do in a force-directed layout. Listed entities are red with their list under the name; unlisted ones grey;
names not matched to any loaded record are dashed. Sized for Discord's preview (1200x780 px).

CPU-bound: call `render_network` through `asyncio.to_thread`.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.patches import Patch

from commands.chart_canvas import figure_png, new_figure
from db.names import normalize_name
from db.queries.entity_links import GroupLinks, Link, relation_words

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.2, 150
CENTRE = ("#1f4e79", "#1f4e79", "white")  # face, edge, text
LISTED = ("#fbe3df", "#c0392b", "#7b1d12")
UNLISTED = ("#eef1f4", "#7f8c8d", "#2c3e50")
EDGE_COLOUR = "#9aa5b1"
NAME_WIDTH = 24  # characters per label line
MAX_DIRECT_NODES, MAX_SECOND_NODES = 12, 10


@dataclass(frozen=True)
class Node:
    """One entity on the chart: `role` is centre, direct (related) or second (related to a related one)."""

    key: str
    label: str
    listed: bool
    tag: str  # the list it is on, or "not listed"
    role: str


@dataclass(frozen=True)
class Edge:
    """A relation from node `a` to node `b` (by key): "b is a's <label>", drawn as an arrow a -> b."""

    a: str
    b: str
    label: str


@dataclass(frozen=True)
class NetworkGraph:
    """What to draw: title, nodes, edges, a source line and how many related entities were left out."""

    title: str
    nodes: list[Node]
    edges: list[Edge]
    source: str
    hidden: int = 0


def _node_for(link: Link, role: str) -> Node:
    if link.other is not None:
        o = link.other
        tag = o.listings[0] if o.listings else ("delisted" if not o.active else "not listed")
        return Node(f"e{o.entity_id}", o.name, bool(o.listings) and o.active, tag, role)
    return Node(
        f"n:{normalize_name(link.other_name)}", link.other_name, False, "not matched to a record", role
    )


def _edge(start: str, node: str, link: Link) -> Edge:
    words = relation_words(link.kind, True, link.details)  # read along the arrow: from -> to
    return Edge(start, node, words) if link.outgoing else Edge(node, start, words)


def graph_from_links(
    name: str, listings: list[str], group_ids: set[int], links: GroupLinks
) -> NetworkGraph | None:
    """The entity, its related entities and theirs (one more hop), with listings; None without relations.

    Args:
        name: the entity's name (the centre).
        listings: its current listings (short labels), first shown under the name.
        group_ids: ids of its records (second-hop links back to them are not drawn twice).
        links: its relations and its neighbours' relations.
    """
    if not links.links:
        return None
    tag = "\n".join(dict.fromkeys(listings[:2])) if listings else "not listed"  # one list per line
    centre = Node("centre", name, bool(listings), tag, "centre")
    nodes, edges = {centre.key: centre}, []
    group_nodes = {f"e{i}" for i in group_ids}
    for role, pairs, cap in (
        ("direct", [(None, lk) for lk in links.links], MAX_DIRECT_NODES),
        ("second", links.second_hop, MAX_SECOND_NODES),
    ):
        for neighbour_id, link in pairs:
            start = "centre" if neighbour_id is None else f"e{neighbour_id}"
            node = _node_for(link, role)
            if start not in nodes or node.key in group_nodes:
                continue
            if node.key not in nodes and sum(n.role == role for n in nodes.values()) >= cap:
                continue
            nodes.setdefault(node.key, node)
            edges.append(_edge(start, node.key, link))
    total = len({(lk.other.entity_id if lk.other else lk.other_name) for lk in links.links})
    hidden = max(0, total - sum(n.role == "direct" for n in nodes.values()))
    sources = ", ".join(dict.fromkeys(lk.cited.source_title for lk in links.links))
    return NetworkGraph(
        f"Network of {name}", list(nodes.values()), list(dict.fromkeys(edges)), f"Source: {sources}", hidden
    )


def _column(keys: list[str], x: float, pos: dict[str, tuple[float, float]]) -> None:
    """Spread nodes evenly down a column (top to bottom), centred on y = 0."""
    step = min(0.55, 2.8 / max(len(keys) - 1, 1))
    top = step * (len(keys) - 1) / 2
    for i, key in enumerate(keys):
        pos[key] = (x, top - i * step)


def layout(graph: NetworkGraph) -> dict[str, tuple[float, float]]:
    """Positions in columns, so labels never sit on each other.

    Without second-hop links the entity is in the middle and its related entities in columns left and
    right of it; with them, the entity is on the left, its related entities in the middle column and
    theirs on the right, ordered like their neighbour so that lines barely cross.
    """
    direct = [n.key for n in graph.nodes if n.role == "direct"]
    second = [n.key for n in graph.nodes if n.role == "second"]
    pos: dict[str, tuple[float, float]] = {}
    if not second:
        pos["centre"] = (0.0, 0.0)
        _column(direct[1::2], -1.8, pos)
        _column(direct[0::2], 1.8, pos)  # the first (or only) related entity reads left to right
        return pos
    pos["centre"] = (-1.8, 0.0)
    _column(direct, 0.0, pos)
    parent_y: dict[str, float] = {}
    for edge in graph.edges:
        for parent, child in ((edge.a, edge.b), (edge.b, edge.a)):
            if parent in direct and child in second:
                parent_y[child] = max(parent_y.get(child, -9.0), pos[parent][1])
    _column(sorted(second, key=lambda k: -parent_y.get(k, 0.0)), 1.8, pos)
    return pos


def _style(node: Node) -> tuple[str, str, str]:
    if node.role == "centre":
        return CENTRE
    return LISTED if node.listed else UNLISTED


def _label(node: Node, compact: bool) -> str:
    """Name (two lines, or one when the column is crowded) over the list the entity is on."""
    if compact:
        label = " ".join(node.label.split())
        lines = [label if len(label) <= NAME_WIDTH + 8 else label[: NAME_WIDTH + 7] + "…"]
    else:
        lines = textwrap.wrap(
            textwrap.shorten(node.label, width=NAME_WIDTH * 2, placeholder="…"), NAME_WIDTH
        )[:2]
    tags = [textwrap.shorten(t, width=NAME_WIDTH + 8, placeholder="…") for t in node.tag.splitlines()]
    return "\n".join(lines + tags)


def _draw_nodes(ax: Axes, graph: NetworkGraph, pos: dict[str, tuple[float, float]]) -> None:
    per_column: dict[float, int] = defaultdict(int)
    for x, _ in pos.values():
        per_column[x] += 1
    for node in graph.nodes:
        if node.key not in pos:
            continue
        face, edge, text = _style(node)
        x, y = pos[node.key]
        compact = per_column[x] > 6
        size = 10 if node.role == "centre" else (7.5 if compact else 8.5)
        dashed = node.tag == "not matched to a record"
        ax.text(
            x,
            y,
            _label(node, compact and node.role != "centre"),
            ha="center",
            va="center",
            fontsize=size,
            color=text,
            zorder=3,
            fontweight="bold" if node.role == "centre" else "normal",
            linespacing=1.15,
            bbox={
                "boxstyle": "round,pad=0.45",
                "facecolor": face,
                "edgecolor": edge,
                "linewidth": 1.6 if node.listed or node.role == "centre" else 1.0,
                "linestyle": "--" if dashed else "-",
            },
        )


def _edge_labels_shown(graph: NetworkGraph) -> bool:
    """Label the lines when there are few; with many, the kinds are said once above the chart."""
    return len(graph.edges) <= 8


def _draw_edges(ax: Axes, graph: NetworkGraph, pos: dict[str, tuple[float, float]]) -> None:
    labelled = _edge_labels_shown(graph)
    for edge in graph.edges:
        if edge.a not in pos or edge.b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[edge.a], pos[edge.b]
        second = "centre" not in (edge.a, edge.b)
        style = (0, (4, 3)) if second else "-"
        ax.plot(
            [x1, x2], [y1, y2], color=EDGE_COLOUR, linewidth=1.0 if second else 1.6, linestyle=style, zorder=1
        )
        # The boxes hide the line's ends, so the direction (a -> b) is an arrowhead in the middle.
        ax.annotate(
            "",
            xy=(x1 + (x2 - x1) * 0.56, y1 + (y2 - y1) * 0.56),
            xytext=(x1 + (x2 - x1) * 0.44, y1 + (y2 - y1) * 0.44),
            arrowprops={"arrowstyle": "-|>", "color": "#6b7785", "lw": 1.2, "mutation_scale": 12},
            zorder=2,
        )
        if labelled:
            ax.annotate(
                edge.label,
                xy=((x1 + x2) / 2, (y1 + y2) / 2),
                xytext=(0, 8),
                textcoords="offset points",
                fontsize=7.5,
                color="#444444",
                ha="center",
                va="bottom",
                zorder=2,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            )


def render_network(graph: NetworkGraph) -> bytes:
    """Draw the graph and return PNG bytes."""
    fig = new_figure(WIDTH_IN, HEIGHT_IN, DPI)
    ax = fig.add_axes((0.01, 0.07, 0.98, 0.82))
    pos = layout(graph)
    _draw_edges(ax, graph, pos)
    _draw_nodes(ax, graph, pos)
    ax.set_xlim(-2.75, 2.75)
    ax.set_ylim(-1.55, 1.55)
    ax.axis("off")
    fig.text(
        0.015,
        0.955,
        textwrap.shorten(graph.title, 90, placeholder="…"),
        fontsize=12,
        fontweight="bold",
        va="center",
    )
    kinds = sorted({e.label for e in graph.edges})
    if _edge_labels_shown(graph):
        subtitle = 'Arrows read A → B as "A <label> B"'
    else:
        subtitle = 'Arrows read A → B as "A <relation> B"; relations: ' + ", ".join(kinds)
    if any(n.role == "second" for n in graph.nodes):
        subtitle += " · dashed: links of the related entities"
    fig.text(0.015, 0.91, subtitle, fontsize=8, color="#444444", va="center")
    handles = [
        Patch(facecolor=LISTED[0], edgecolor=LISTED[1], label="on a sanctions list"),
        Patch(facecolor=UNLISTED[0], edgecolor=UNLISTED[1], label="not listed"),
    ]
    fig.legend(handles=handles, loc="upper right", fontsize=7.5, frameon=False, bbox_to_anchor=(0.995, 0.985))
    footer = graph.source + (f" · {graph.hidden} more related entities not drawn" if graph.hidden else "")
    fig.text(
        0.015, 0.03, textwrap.shorten(footer, 160, placeholder="…"), fontsize=7, color="#555555", va="center"
    )
    return figure_png(fig)
