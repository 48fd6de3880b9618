"""`/entity <name> [country=..] [list=..] [type=..]`: who is this, and is it listed?

Fuzzy, cross-script search over every loaded name and alias (OFAC, the Consolidated Screening List,
OpenSanctions, the team's curated files): legal forms (Co., Ltd., LLC, ООО, 有限公司) are ignored, word
order does not matter, typos are forgiven, Cyrillic and Chinese match their romanisations. The best match
is shown as a card (names, type, countries, identifiers, addresses, every listing, relations, curated
shipments and reported figures, with sources), records of the same real-world entity from several
sources grouped into one card; the other candidates follow with their scores. A network chart is
attached when the entity has relations.
"""

from __future__ import annotations

import asyncio

from commands.context import Context
from commands.entity_card import Candidate, CardInput, build_reply, country_names, curated
from commands.entity_match import disambiguation_reply, is_ambiguous, why_matched
from commands.entity_params import EntityParams
from commands.errors import InvalidInput, NoData, NotFound
from commands.network_chart import graph_from_links, render_network
from commands.parse import CommandLine
from commands.replies import Attachment, Reply
from db.lookups import Lookups
from db.names import normalize_name
from db.queries.entities import EntityRecord, expand_same_as, group_records, load_records, same_as_pairs
from db.queries.entity_links import group_links, links_present
from db.queries.list_dates import list_dates
from db.search.index import EntityHit
from db.search.service import search_entities

USAGE = "/entity <name> [country=..] [list=..] [type=person|company|vessel|aircraft]"
OPTIONS = ("country", "list", "type")
# Calibrated on tests/fixtures/entity_eval: 95% of correct best matches score 86 or more, while names that
# are on no list (e.g. "sunrise electronics") still reach 70-84 against some listed name. Below MIN_SCORE
# nothing is shown as a match; below commands.entity_card.STRONG_SCORE (92) the card says to check it.
MIN_SCORE = 80.0
SEARCH_DEPTH = 25  # entities read from the index: enough to group records and list other candidates
SHOW_CANDIDATES = 5


def parse_entity(line: CommandLine, lookups: Lookups) -> EntityParams:
    """Parse `/entity King Pai country=HK`: every word is the name; filters are key=value options."""
    unknown = sorted(set(line.options) - set(OPTIONS))
    if unknown:
        raise InvalidInput(
            f"Unknown option {unknown[0]}=.", f"Options: country=, list=, type=. Usage: {USAGE}"
        )
    opts = line.options
    return EntityParams.build(
        " ".join(line.words),
        lookups,
        country=opts.get("country"),
        list_term=opts.get("list"),
        entity_type=opts.get("type"),
    )


def _group_score(group: list[EntityRecord], by_id: dict[int, EntityHit]) -> EntityHit:
    hits = [by_id[r.entity_id] for r in group if r.entity_id in by_id]
    return max(hits, key=lambda h: h.score)


async def _not_found(params: EntityParams, hits: list[EntityHit], ctx: Context) -> NotFound:
    records = await load_records(ctx.session, [h.entity_id for h in hits[:5]])
    near = [records[h.entity_id].name for h in hits[:5] if h.entity_id in records]
    where = f" ({params.filter_text()})" if params.filter_text() else ""
    hint = None if near else "Check the spelling, or try fewer words" + (" or no filters." if where else ".")
    return NotFound(
        f"No listed or curated entity matches {params.name!r}{where}.", list(dict.fromkeys(near)), hint
    )


async def run_entity(ctx: Context, params: EntityParams) -> Reply:
    """Search the loaded lists and answer with the best match's card, its network and other candidates.

    Raises:
        NoData: no entity list is loaded yet.
        NotFound: nothing scores at least 80/100 (the closest names are suggested).
    """
    result = await search_entities(ctx.session, params.name, filters=params.filters(), limit=SEARCH_DEPTH)
    if result.names_indexed == 0:
        raise NoData(
            "No sanctions lists or curated entities are loaded yet.",
            "Load one, e.g. `tradewatch import ofac PATH` (or csl, opensanctions, curated).",
        )
    if not result.hits or result.hits[0].score < MIN_SCORE:
        raise await _not_found(params, result.hits, ctx)
    by_id = {h.entity_id: h for h in result.hits if h.score >= MIN_SCORE}
    records = await load_records(ctx.session, by_id)
    ordered = [records[h.entity_id] for h in result.hits if h.entity_id in records]
    # Most matches have no relations, shipments or figures: one probe spares the reads that would be empty.
    present = await links_present(ctx.session, records)
    pairs = await same_as_pairs(ctx.session, list(records)) if present.relations else []
    groups = group_records(ordered, pairs)
    scored = [(_group_score(g, by_id), g) for g in groups]
    filters = params.filters()
    if is_ambiguous(result.key, [h for h, _ in scored]):
        return disambiguation_reply(
            params.name, result.key, scored, lookups=ctx.lookups, country=params.country,
            schemata=filters.schemata or None,
        )  # fmt: skip
    best = groups[0]
    extra_ids = await expand_same_as(ctx.session, [r.entity_id for r in best], pairs) - set(records)
    if extra_ids:  # curated same_as partners that did not match the query themselves
        best = best + list((await load_records(ctx.session, extra_ids)).values())
    group_ids = {r.entity_id for r in best}
    names = {n.normalized for r in best for n in r.names}
    links = await group_links(ctx.session, group_ids, names, present=present)
    card = CardInput(
        params=params,
        key=result.key,
        records=best,
        hit=_group_score(groups[0], by_id),
        links=links,
        candidates=[Candidate(g, _group_score(g, by_id)) for g in groups[1 : 1 + SHOW_CANDIDATES]],
        names_indexed=result.names_indexed,
        stale=result.stale,
        lookups=ctx.lookups,
        lists=await list_dates(ctx.session),
        why=[
            why_matched(
                result.key, _group_score(groups[0], by_id), best, country=params.country,
                schemata=filters.schemata or None,
            )
        ],
    )  # fmt: skip
    reply = build_reply(card)
    listed = [
        lst.label + (" [curated]" if curated(r) else "") for r in best if r.active for lst in r.listings
    ]
    graph = graph_from_links(
        best[0].name,
        listed,
        group_ids,
        links,
        countries=sorted({c for r in best for c in r.countries}),
        country_names=lambda codes: country_names(codes, ctx.lookups),
    )
    if graph is None:
        return reply
    png = await asyncio.to_thread(render_network, graph)
    chart = Attachment(
        _chart_name(best[0].name), png, f"Network of {best[0].name}: related entities and their listings"
    )
    return Reply(
        reply.title, reply.summary, reply.fields, reply.citations, [chart], reply.numbers, reply.ephemeral
    )


def _chart_name(name: str) -> str:
    """`network-sinno-electronics-co-limited.png`: distinct per entity, ASCII, short (Discord shows it)."""
    slug = normalize_name(name).replace(" ", "-")[:60].strip("-")
    return f"network-{slug}.png" if slug else "network.png"
