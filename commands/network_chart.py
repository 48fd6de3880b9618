"""Network chart PNG for /entity: the entity, its related entities, and theirs (one more hop), in columns.

Drawn with matplotlib's Figure API (no pyplot). Columns keep labels apart, as a force-directed layout would
not. The canvas is sized to what it shows: each box is as tall as its text (the full name, wrapped, then the
entity's countries, then every list it is on), each column as tall as its boxes, the figure as wide as its
columns. Listed entities are red, unlisted grey; names not matched to any loaded record are dashed.

CPU-bound: call `render_network` through `asyncio.to_thread`.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from db.names import normalize_name
from db.queries.entity_links import GroupLinks, Link, relation_words
from db.queries.list_dates import CURATED_KEY

DPI = 150
CENTRE = ("#1f4e79", "#1f4e79", "white")  # face, edge, text
LISTED = ("#fbe3df", "#c0392b", "#7b1d12")
UNLISTED = ("#eef1f4", "#7f8c8d", "#2c3e50")
EDGE_COLOUR = "#9aa5b1"
NOT_MATCHED = "not matched to a record"
NAME_WIDTH = 30  # characters per name line
NAME_LINES = 4  # a longer name (rare: over 120 characters) ends in "…"
TAG_WIDTH = 34
CROWDED = 6  # a column with more boxes than this gets wider, shorter boxes (countries and lists on one line)
COMPACT_WIDTH = 44
MAX_TAGS = 3  # lists shown per box; more are counted
MAX_DIRECT_NODES, MAX_SECOND_NODES = 12, 10
SPLIT_DIRECT = 5  # without second-hop links, more related entities than this go on both sides of the entity
# Inches: the axes span the whole figure in inch units, so sizes below are what the PNG shows.
GAP_IN, MARGIN_IN, CHAR_EM = 1.15, 0.2, 0.6  # CHAR_EM: a generous average character width (DejaVu Sans)
HEADER_IN, FOOTER_IN, BOX_GAP_IN, COMPACT_GAP_IN, PAD_IN = 0.95, 0.4, 0.2, 0.12, 0.08
MIN_WIDTH_IN = 7.0
FONT_PT, CENTRE_PT, LINE_SPACING = 8.0, 9.5, 1.22

CountryNames = Callable[[Iterable[str]], str]


@dataclass(frozen=True)
class Node:
    """One entity on the chart: `role` is centre, direct (related) or second (related to a related one).

    `tag` holds the lists it is on, one per line ("not listed", "delisted" or "not matched to a record"
    otherwise); `countries` its country names.
    """

    key: str
    label: str
    listed: bool
    tag: str
    role: str
    countries: str = ""


@dataclass(frozen=True)
class Edge:
    """A relation from node `a` to node `b` (by key): "a <label> b", drawn as an arrow a -> b."""

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


def _codes(codes: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(c.upper() for c in codes))


def _node_for(link: Link, role: str, country_names: CountryNames) -> Node:
    if link.other is not None:
        o = link.other
        curated = " [curated]" if o.source_key == CURATED_KEY else ""
        tag = "\n".join(f"{label}{curated}" for label in o.listings) if o.listings else "not listed"
        if o.listings and not o.active:
            tag = "delisted: " + tag
        listed = bool(o.listings) and o.active
        return Node(f"e{o.entity_id}", o.name, listed, tag, role, country_names(o.countries))
    return Node(f"n:{normalize_name(link.other_name)}", link.other_name, False, NOT_MATCHED, role)


def _edge(start: str, node: str, link: Link) -> Edge:
    words = relation_words(link.kind, True, link.details)  # read along the arrow: from -> to
    return Edge(start, node, words) if link.outgoing else Edge(node, start, words)


def graph_from_links(
    name: str,
    listings: list[str],
    group_ids: set[int],
    links: GroupLinks,
    countries: Iterable[str] = (),
    country_names: CountryNames = _codes,
) -> NetworkGraph | None:
    """The entity, its related entities and theirs (one more hop), with countries and lists; None without
    relations.

    Args:
        name: the entity's name (the centre).
        listings: its current listings (short labels; curated ones marked by the caller).
        group_ids: ids of its records (second-hop links back to them are not drawn twice).
        links: its relations and its neighbours' relations.
        countries: its countries (ISO2).
        country_names: turns ISO2 codes into the names shown (default: the codes, upper case).
    """
    if not links.links:
        return None
    tag = "\n".join(dict.fromkeys(listings)) if listings else "not listed"
    centre = Node("centre", name, bool(listings), tag, "centre", country_names(countries))
    nodes, edges = {centre.key: centre}, []
    group_nodes = {f"e{i}" for i in group_ids}
    for role, pairs, cap in (
        ("direct", [(None, lk) for lk in links.links], MAX_DIRECT_NODES),
        ("second", links.second_hop, MAX_SECOND_NODES),
    ):
        for neighbour_id, link in pairs:
            start = "centre" if neighbour_id is None else f"e{neighbour_id}"
            node = _node_for(link, role, country_names)
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


def label_lines(node: Node, compact: bool = False) -> list[str]:
    """The box text: the full name wrapped, the countries, then each list (at most MAX_TAGS, then a count).

    Compact (a crowded column): wider lines, and the countries and lists share them.
    """
    width = COMPACT_WIDTH if compact else NAME_WIDTH
    words = " ".join(node.label.split())
    lines = textwrap.wrap(words, width, break_long_words=True) or [words]
    if len(lines) > NAME_LINES:
        rest = " ".join(lines[NAME_LINES - 1 :])
        lines = lines[: NAME_LINES - 1] + [textwrap.shorten(rest, width, placeholder="…")]
    tags = node.tag.splitlines()
    shown = tags[:MAX_TAGS] + ([f"+ {len(tags) - MAX_TAGS} more lists"] if len(tags) > MAX_TAGS else [])
    if compact:
        details = " · ".join(filter(None, [node.countries, "; ".join(shown)]))
        return lines + textwrap.wrap(details, COMPACT_WIDTH, break_on_hyphens=False)
    if node.countries:
        lines += textwrap.wrap(node.countries, TAG_WIDTH)
    for tag in shown:
        lines += textwrap.wrap(tag, TAG_WIDTH, break_on_hyphens=False)  # keep RUSSIA-EO14024 whole
    return lines


def _font(node: Node) -> float:
    return CENTRE_PT if node.role == "centre" else FONT_PT


def _box_size(node: Node, compact: bool) -> tuple[float, float]:
    """(width, height) in inches of a node's box."""
    lines = label_lines(node, compact)
    size = _font(node)
    width = max(len(line) for line in lines) * size * CHAR_EM / 72 + 2 * PAD_IN
    return width, len(lines) * size * LINE_SPACING / 72 + 2 * PAD_IN


def _columns(graph: NetworkGraph) -> list[list[str]]:
    """Node keys per column, left to right.

    With second-hop links: the entity, its related entities, theirs (ordered like their neighbour, so
    lines barely cross). Without: the entity and its related entities, on both sides when there are many.
    """
    direct = [n.key for n in graph.nodes if n.role == "direct"]
    second = [n.key for n in graph.nodes if n.role == "second"]
    if second:
        rank = {key: i for i, key in enumerate(direct)}
        parent: dict[str, int] = {}
        for edge in graph.edges:
            for a, b in ((edge.a, edge.b), (edge.b, edge.a)):
                if a in rank and b in second:
                    parent[b] = min(parent.get(b, len(rank)), rank[a])
        return [["centre"], direct, sorted(second, key=lambda k: parent.get(k, len(rank)))]
    if len(direct) > SPLIT_DIRECT:
        return [direct[1::2], ["centre"], direct[0::2]]
    return [["centre"], direct]


@dataclass(frozen=True)
class Layout:
    """Node centres in inches from the bottom left, which nodes are drawn compact, and the figure size."""

    pos: dict[str, tuple[float, float]]
    compact: frozenset[str]
    width: float
    height: float
    box_widths: dict[str, float]

    def ends(self, a: str, b: str) -> tuple[tuple[float, float], tuple[float, float]]:
        """Where a line from box `a` to box `b` starts and ends: the facing sides of the two boxes."""
        (xa, ya), (xb, yb) = self.pos[a], self.pos[b]
        side = 1 if xb >= xa else -1
        return (xa + side * self.box_widths[a] / 2, ya), (xb - side * self.box_widths[b] / 2, yb)


def plan(graph: NetworkGraph) -> Layout:
    """Columns of boxes, each as wide as its widest box and centred in the chart area; the figure exactly as
    large as they need."""
    by_key = {n.key: n for n in graph.nodes}
    columns = [c for c in _columns(graph) if c]
    compact = frozenset(k for c in columns if len(c) > CROWDED for k in c)
    sizes = {k: _box_size(by_key[k], k in compact) for c in columns for k in c}
    gaps = [COMPACT_GAP_IN if len(c) > CROWDED else BOX_GAP_IN for c in columns]
    stacks = [sum(sizes[k][1] for k in c) + gap * (len(c) - 1) for c, gap in zip(columns, gaps, strict=True)]
    widths = [max(sizes[k][0] for k in c) for c in columns]
    area = max(max(stacks), 0.8)
    drawn = sum(widths) + GAP_IN * (len(columns) - 1)
    width = max(MIN_WIDTH_IN, drawn + 2 * MARGIN_IN)
    x = (width - drawn) / 2
    pos: dict[str, tuple[float, float]] = {}
    for column, stack, column_width, gap in zip(columns, stacks, widths, gaps, strict=True):
        top = FOOTER_IN + area / 2 + stack / 2
        for key in column:
            height = sizes[key][1]
            pos[key] = (x + column_width / 2, top - height / 2)
            top -= height + gap
        x += column_width + GAP_IN
    widths_by_key = {k: w for k, (w, _) in sizes.items()}
    return Layout(pos, compact, width, FOOTER_IN + area + HEADER_IN, widths_by_key)


def layout(graph: NetworkGraph) -> dict[str, tuple[float, float]]:
    """Node centres in inches (see `plan`)."""
    return plan(graph).pos


def _style(node: Node) -> tuple[str, str, str]:
    if node.role == "centre":
        return CENTRE
    return LISTED if node.listed else UNLISTED


def _draw_nodes(ax: Axes, graph: NetworkGraph, plan_: Layout) -> dict[str, float]:
    """Draw the boxes; returns each box's measured width in inches (lines then end exactly at the boxes)."""
    widths: dict[str, float] = {}
    for node in graph.nodes:
        if node.key not in plan_.pos:
            continue
        face, edge, text = _style(node)
        x, y = plan_.pos[node.key]
        label = ax.text(
            x,
            y,
            "\n".join(label_lines(node, node.key in plan_.compact)),
            ha="center",
            va="center",
            fontsize=_font(node),
            color=text,
            zorder=3,
            fontweight="bold" if node.role == "centre" else "normal",
            linespacing=LINE_SPACING,
            bbox={
                "boxstyle": f"round,pad={PAD_IN * 72 / FONT_PT:.2f}",
                "facecolor": face,
                "edgecolor": edge,
                "linewidth": 1.6 if node.listed or node.role == "centre" else 1.0,
                "linestyle": "--" if node.tag == NOT_MATCHED else "-",
            },
        )
        widths[node.key] = label.get_window_extent().width / DPI + 2 * PAD_IN
    return widths


def _edge_labels_shown(graph: NetworkGraph) -> bool:
    """Label the lines when there are few; with many, the kinds are said once under the title."""
    return len(graph.edges) <= 8


def _draw_edges(ax: Axes, graph: NetworkGraph, plan_: Layout) -> None:
    labelled = _edge_labels_shown(graph)
    for edge in graph.edges:
        if edge.a not in plan_.pos or edge.b not in plan_.pos:
            continue
        (x1, y1), (x2, y2) = plan_.ends(edge.a, edge.b)
        second = "centre" not in (edge.a, edge.b)
        style = (0, (4, 3)) if second else "-"
        ax.plot(
            [x1, x2], [y1, y2], color=EDGE_COLOUR, linewidth=1.0 if second else 1.6, linestyle=style, zorder=1
        )
        # The arrowhead sits mid-line, where lines fanning out of one box are apart.
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = (x2 - x1) * 0.06, (y2 - y1) * 0.06
        ax.annotate(
            "",
            xy=(mx + dx, my + dy),
            xytext=(mx - dx, my - dy),
            arrowprops={"arrowstyle": "-|>", "color": "#6b7785", "lw": 1.2, "mutation_scale": 12},
            zorder=2,
        )
        if labelled:
            ax.annotate(
                edge.label,
                xy=(mx, my),
                xytext=(0, 7),
                textcoords="offset points",
                fontsize=7.5,
                color="#444444",
                ha="center",
                va="bottom",
                zorder=2,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            )


def subtitle(graph: NetworkGraph) -> str:
    """How to read the chart, with the first relation as the worked example."""
    names = {n.key: " ".join(n.label.split()) for n in graph.nodes}
    first = graph.edges[0] if graph.edges else None
    text = ""
    if first is not None:
        a = textwrap.shorten(names.get(first.a, ""), 34, placeholder="…")
        b = textwrap.shorten(names.get(first.b, ""), 34, placeholder="…")
        text = f"Read each arrow as a sentence: {a} {first.label} {b}" + ("" if b.endswith("…") else ".")
    if not _edge_labels_shown(graph):
        text += " Relations: " + ", ".join(sorted({e.label for e in graph.edges})) + "."
    if any(n.role == "second" for n in graph.nodes):
        text += " Dashed lines: the related entities' own links."
    return text.strip()


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def render_network(graph: NetworkGraph) -> bytes:
    """Draw the graph and return PNG bytes."""
    plan_ = plan(graph)
    fig = Figure(figsize=(plan_.width, plan_.height), dpi=DPI)
    FigureCanvasAgg(fig)  # Agg measures the boxes' text (`_draw_nodes`) and writes the PNG
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, plan_.width)
    ax.set_ylim(0, plan_.height)
    ax.axis("off")
    measured = _draw_nodes(ax, graph, plan_)
    _draw_edges(ax, graph, replace(plan_, box_widths=measured))
    chars = int((plan_.width - 1.6) * 11)  # about what fits left of the legend at the title's size
    top = plan_.height
    ax.text(MARGIN_IN - 0.05, top - 0.25, textwrap.shorten(graph.title, chars, placeholder="…"),
            fontsize=12, fontweight="bold", va="center")  # fmt: skip
    lines = textwrap.wrap(subtitle(graph), int(plan_.width * 15))[:2]
    ax.text(
        MARGIN_IN - 0.05, top - 0.5, "\n".join(lines), fontsize=8, color="#444444", va="top", linespacing=1.3
    )
    handles = [
        Patch(facecolor=LISTED[0], edgecolor=LISTED[1], label="on a sanctions list"),
        Patch(facecolor=UNLISTED[0], edgecolor=UNLISTED[1], label="not listed"),
    ]
    if any(n.tag == NOT_MATCHED for n in graph.nodes):
        handles.append(
            Patch(facecolor=UNLISTED[0], edgecolor=UNLISTED[1], linestyle="--", label="no loaded record")
        )
    fig.legend(handles=handles, loc="upper right", fontsize=7.5, frameon=False, bbox_to_anchor=(0.995, 0.995))
    footer = graph.source + (f" · {graph.hidden} more related entities not drawn" if graph.hidden else "")
    ax.text(MARGIN_IN - 0.05, FOOTER_IN / 2, textwrap.shorten(footer, int(plan_.width * 16), placeholder="…"),
            fontsize=7, color="#555555", va="center")  # fmt: skip
    return _png(fig)
