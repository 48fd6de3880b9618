"""`/screen` and `tradewatch screen`: every name of a CSV or XLSX sheet (consignees, suppliers) against the lists.

Each row's name goes through the same search as /entity (`db.search.service.search_entities`); the best
candidate (or, with all_candidates, every candidate at or above the `possible` score) is written back next to
the row's own columns with a verdict:

- `match`: score >= thresholds.match, and the row's country (when it has one) is among the entity's;
- `possible`: score >= thresholds.possible, or a match-level name whose countries disagree with the row's;
- `none`: nothing scores `possible` (the score column still gives the closest score);
- `skipped`: the row's name is empty or cannot be a name (the explanation says why).

The thresholds default to /entity's (commands.entity.MIN_SCORE, commands.entity_card.STRONG_SCORE) and are
set in config.toml's [screen] section. Repeated names (same name and country) are searched once. Another entity
with the same verdict within /entity's ambiguity margin is named in the explanation (`as close: ...`), and of
equal scores the name written as the row writes it comes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from commands.context import Context
from commands.entity import MIN_SCORE
from commands.entity_card import STRONG_SCORE
from commands.entity_match import AMBIGUITY_MARGIN, why_matched
from commands.entity_params import check_name
from commands.errors import CommandError, InvalidInput, NoData
from commands.parse import CommandLine
from commands.replies import Attachment, Field, Reply
from commands.screen_table import (
    DEFAULT_COUNTRY_COLUMN,
    ScreenParams,
    Table,
    name_column,
    pick_column,
    read_table,
)
from commands.tables import csv_bytes
from db.names import normalize_name
from db.queries.entities import EntityRecord, load_records
from db.queries.list_dates import CURATED_KEY, list_dates
from db.search.index import EntityHit, NameIndex
from db.search.pool import SearchPool
from db.search.service import get_index, search_key

CANDIDATES_PER_ROW = 5  # searched per name; written out with all_candidates when they reach `possible`
RECORDS_PER_READ = 500
SEARCH_BATCH = 200  # names per worker-thread call
# Screening's own threads (not the bot's default executor, where chart renders queue, nor the /entity ones)
_SCREEN_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tw-screen")
SHOW_ROWS = 10  # rows listed per verdict in the reply (all of them are in the CSV)
RESULT_COLUMNS = ("verdict", "score", "matched_name", "list", "entity_id", "explanation")
VERDICTS = ("match", "possible", "none", "skipped")

Progress = Callable[[int, int], None]  # called with (rows screened so far, rows in all)


@dataclass(frozen=True)
class Thresholds:
    """Scores (0-100) at which a row is a `match` and a `possible` match."""

    match: float = STRONG_SCORE
    possible: float = MIN_SCORE

    def __post_init__(self) -> None:
        if not 0 <= self.possible <= self.match <= 100:
            raise ValueError(
                f"screen thresholds need 0 <= possible ({self.possible}) <= match ({self.match}) <= 100"
            )


def thresholds_from(match: float | None = None, possible: float | None = None) -> Thresholds:
    """Thresholds from config.toml's [screen] (None: /entity's); a lone low `match` pulls `possible` down."""
    m = STRONG_SCORE if match is None else match
    return Thresholds(m, min(MIN_SCORE, m) if possible is None else possible)


@dataclass(frozen=True)
class Verdict:
    """One output row's screening columns."""

    verdict: str
    score: float | None = None
    matched_name: str = ""
    lists: str = ""  # the `list` column
    entity_id: int | None = None
    explanation: str = ""
    close: int = 0  # other entities as close (the explanation names them)

    def cells(self) -> list[object]:
        score = round(self.score, 1) if self.score is not None else None
        return [self.verdict, score, self.matched_name, self.lists, self.entity_id, self.explanation]


@dataclass
class Screened:
    """The table with one or more verdicts per row, and what the screening used."""

    table: Table
    name_column: str
    country_column: str | None
    verdicts: list[list[Verdict]]
    thresholds: Thresholds

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for row in self.verdicts:
            counts[row[0].verdict] += 1
        return counts


def list_label(record: EntityRecord) -> str:
    """`SDN List (RUSSIA-EO14024)`; curated designations marked; else the source, as not listed."""
    labels = [lst.label for lst in record.listings]
    if record.source.key == CURATED_KEY:
        labels = [f"{label} [curated, cited]" for label in labels]
    text = "; ".join(dict.fromkeys(labels))
    if not text:
        return f"not listed ({record.source.title})"
    return text if record.active else f"no longer listed: {text}"


def _country_note(row_country: str | None, record: EntityRecord) -> tuple[bool, str]:
    """Whether the row's country disagrees with the entity's, and the words for the explanation."""
    if row_country is None:
        return False, ""
    listed = [c.upper() for c in record.countries]
    if not listed:
        return False, f"; the list gives no country to compare with {row_country.upper()}"
    if row_country in record.countries:
        return False, f"; country {row_country.upper()} agrees"
    return True, f"; country differs: row {row_country.upper()}, list {', '.join(listed)}"


def judge(
    key: str, hit: EntityHit, record: EntityRecord, row_country: str | None, thresholds: Thresholds
) -> Verdict:
    """The verdict for one candidate (`key`: the row's search key): its score against the thresholds, then
    the country check; the explanation is /entity's "why it matched" plus the country comparison."""
    matched = next((n for n in record.names if n.name_id == hit.name_id), None)
    differs, country = _country_note(row_country, record)
    if hit.score >= thresholds.match and not differs:
        verdict = "match"
    elif hit.score >= thresholds.possible:
        verdict = "possible"
    else:
        verdict = "none"
    # why_matched's own country check reads a record without countries as disagreeing: ours says so instead.
    why = why_matched(key, hit, [record]).removeprefix("Why: ").removesuffix(".")
    explanation = f"{record.schema} {record.name!r}, score {hit.score:.0f}/100: {why}{country}"
    if verdict == "none":
        return Verdict("none", hit.score, explanation=f"closest: {explanation}")
    name = matched.name if matched else record.name
    return Verdict(verdict, hit.score, name, list_label(record), record.entity_id, explanation)


def _row_country(value: str, ctx: Context, cache: dict[str, str | None]) -> str | None:
    text = value.strip()
    if not text:
        return None
    if text not in cache:
        country = ctx.lookups.country(text)
        cache[text] = country.iso2.lower() if country and country.iso2 else None
    return cache[text]


async def _search_all(
    ctx: Context,
    wanted: dict[str, int],
    keep: float,
    progress: Progress | None,
    done: int,
    total: int,
    pool: SearchPool | None,
) -> tuple[dict[str, list[EntityHit]], dict[int, EntityRecord]]:
    """The candidates of each distinct search key (`wanted`: key -> rows carrying it), searched once each,
    and the records of the candidates judged (`_kept` from `keep`).

    The same search as /entity (`search_key` on the loaded index), a batch of keys per worker-thread call:
    one index version check for the whole file instead of one per name, and progress between batches.
    Two batches run at a time in screening's threads, or, given a `pool` (`tradewatch screen`) and enough
    names to repay its start, one per worker process. The records of a finished batch are read while the
    next ones are searched.
    """
    index, _ = await get_index(ctx.session)
    if index.size == 0:
        raise NoData(
            "No sanctions lists or curated entities are loaded yet.",
            "Load one, e.g. `tradewatch import ofac PATH` (or csl, opensanctions, curated).",
        )
    keys = list(wanted)
    batches = [keys[start : start + SEARCH_BATCH] for start in range(0, len(keys), SEARCH_BATCH)]
    loop = asyncio.get_running_loop()
    running: list[asyncio.Future[list[list[EntityHit]]]]
    if pool is not None and pool.worth_it(len(keys)):
        running = [asyncio.ensure_future(pool.search(batch, CANDIDATES_PER_ROW)) for batch in batches]
    else:
        running = [loop.run_in_executor(_SCREEN_THREADS, _search_batch, index, batch) for batch in batches]
    found: dict[str, list[EntityHit]] = {}
    records: dict[int, EntityRecord] = {}
    try:
        for batch, searched in zip(batches, running, strict=True):
            hits = await searched
            found.update(zip(batch, hits, strict=True))
            ids = {h.entity_id for row in hits for h in _kept(row, keep)}.difference(records)
            records.update(await _records(ctx, ids))
            done += sum(wanted[key] for key in batch)
            if progress is not None:
                progress(done, total)
    finally:
        for pending in running:  # screening stopped (an error, a cancelled command): drop the queued batches
            pending.cancel()
    return found, records


def _search_batch(index: NameIndex, keys: list[str]) -> list[list[EntityHit]]:
    return [search_key(index, key, limit=CANDIDATES_PER_ROW) for key in keys]


async def _records(ctx: Context, ids: set[int]) -> dict[int, EntityRecord]:
    ordered, records = sorted(ids), {}
    for start in range(0, len(ordered), RECORDS_PER_READ):
        records.update(await load_records(ctx.session, ordered[start : start + RECORDS_PER_READ]))
    return records


def _name_problem(name: str) -> str | None:
    try:
        check_name(" ".join(name.split()))
    except CommandError as exc:
        return exc.message
    return None


async def screen_table(
    ctx: Context,
    table: Table,
    params: ScreenParams,
    progress: Progress | None = None,
    pool: SearchPool | None = None,
) -> Screened:
    """Screen every row of `table` (see the module docstring for the verdicts); `pool`: search processes.

    Raises:
        InvalidInput: a named column that is not in the table.
        NoData: no list is loaded.
    """
    name_option, country_option = _option_names(params.option_style)
    names_col = name_column(table, params.name_column, name_option)
    country_col = pick_column(table, params.country_column, DEFAULT_COUNTRY_COLUMN, country_option)
    names = table.frame[names_col].tolist()
    countries = table.frame[country_col].tolist() if country_col else [""] * len(names)
    problems = {n: _name_problem(n) for n in dict.fromkeys(names)}
    keys = {n: normalize_name(n) for n in problems if problems[n] is None}
    wanted: dict[str, int] = {}  # search key -> rows: spellings that normalise alike are searched once
    for name in names:
        if name in keys:
            wanted[keys[name]] = wanted.get(keys[name], 0) + 1
    thresholds = thresholds_from(params.match_score, params.possible_score)
    skipped = len(names) - sum(wanted.values())  # rows without a usable name count as done at once
    if progress is not None:
        progress(skipped, len(names))
    keep = thresholds.possible
    hits, records = await _search_all(ctx, wanted, keep, progress, skipped, len(names), pool)
    cache: dict[str, str | None] = {}
    verdicts = []
    for name, country_text in zip(names, countries, strict=True):
        problem = problems[name]
        if problem is not None:
            verdicts.append([Verdict("skipped", explanation=f"not screened: {problem}")])
            continue
        row_country = _row_country(country_text, ctx, cache)
        note = (
            f" (country {country_text.strip()!r} not recognised)"
            if country_text.strip() and row_country is None
            else ""
        )
        row = [
            _with_note(judge(keys[name], h, records[h.entity_id], row_country, thresholds), note)
            for h in _kept(hits[keys[name]], keep)
            if h.entity_id in records
        ]
        written = " ".join(name.split()).casefold()  # a tie goes to the name written as the row writes it
        row.sort(
            key=lambda v: (
                VERDICTS.index(v.verdict),
                -(v.score or 0),
                " ".join(v.matched_name.split()).casefold() != written,
            )
        )
        verdicts.append(
            _with_namesakes(row) or [Verdict("none", None, explanation="no similar name in the loaded lists")]
        )
    return Screened(table, names_col, country_col, verdicts, thresholds)


def _kept(found: list[EntityHit], keep: float) -> list[EntityHit]:
    """The hits judged: the best, and every other from `keep` up (a same-score namesake whose country
    agrees with the row's is the better answer)."""
    return found[:1] + [h for h in found[1:] if h.score >= keep]


def _with_note(verdict: Verdict, note: str) -> Verdict:
    return replace(verdict, explanation=verdict.explanation + note) if note else verdict


def _with_namesakes(row: list[Verdict]) -> list[Verdict]:
    """The best verdict told of other entities with the same verdict within /entity's AMBIGUITY_MARGIN
    (`nik llc`: NIK LLC and AO NIK, two listed firms, both 100): a namesake the row may mean instead."""
    if not row or row[0].verdict not in ("match", "possible"):
        return row
    best = row[0]
    close = [
        v
        for v in row[1:]
        if v.verdict == best.verdict and (v.score or 0) >= (best.score or 0) - AMBIGUITY_MARGIN
    ]
    if not close:
        return row
    named = ", ".join(f"{v.matched_name!r} (entity {v.entity_id}, {v.score:.0f})" for v in close[:2])
    more = f" and {len(close) - 2} more" if len(close) > 2 else ""
    note = f"; as close: {named}{more}"
    return [replace(_with_note(best, note), close=len(close)), *row[1:]]


def result_csv(screened: Screened, *, all_candidates: bool) -> bytes:
    """The input columns, then the verdict columns (and `candidate` rank with all_candidates)."""
    inputs = screened.table.columns
    taken = {c.casefold() for c in inputs}
    added = [f"screen_{c}" if c in taken else c for c in RESULT_COLUMNS]
    header = [*inputs, *added] + (["candidate"] if all_candidates else [])
    rows: list[list[object]] = []
    for values, verdicts in zip(screened.table.frame.itertuples(index=False), screened.verdicts, strict=True):
        for rank, verdict in enumerate(verdicts if all_candidates else verdicts[:1], start=1):
            rows.append([*values, *verdict.cells()] + ([rank] if all_candidates else []))
    return csv_bytes(header, rows)


def _row_line(number: int, name: str, verdict: Verdict) -> str:
    close = f" (+{verdict.close} as close)" if verdict.close else ""
    return f"• row {number}: {' '.join(name.split())[:60]} → {verdict.matched_name} ({verdict.lists}) {verdict.score:.0f}{close}"


async def run_screen(
    ctx: Context,
    params: ScreenParams,
    progress: Progress | None = None,
    pool: SearchPool | None = None,
) -> Reply:
    """Read the file, screen it, answer with a summary and the results as a CSV attachment.

    Args:
        ctx: the session and lookups.
        params: the file and the options.
        progress: called with (rows screened so far, rows in all) as the search advances (the CLI's
            progress bar).
        pool: worker processes to search in (`tradewatch screen`); None: this process's threads.
    Raises:
        InvalidInput: not a table, too many rows or columns, an unknown column.
        NoData: no list is loaded.
    """
    table = read_table(await params.read(), params.filename, max_rows=params.max_rows)
    screened = await screen_table(ctx, table, params, progress, pool)
    return build_reply(params, screened, await list_dates(ctx.session))


def _option_names(style: str) -> tuple[str, str]:
    if style.startswith("--"):
        return ("--name-column", "--country-column")
    return ("name_column:", "country_column:")


def build_reply(params: ScreenParams, screened: Screened, lists: Sequence[Any]) -> Reply:
    """Counts per verdict, the thresholds, each list's data date, the first matches and possibles, the CSV."""
    counts = screened.counts()
    rows = len(screened.verdicts)
    t = screened.thresholds
    summary = [
        f"{rows:,} rows screened by the column {screened.name_column!r}"
        + (f" (country from {screened.country_column!r})" if screened.country_column else "")
        + ": "
        + ", ".join(f"{counts[v]:,} {v}" for v in VERDICTS if counts[v] or v != "skipped"),
        f"match: score ≥ {t.match:g} and no country disagreement; possible: score ≥ {t.possible:g}. "
        "A possible match needs a human check.",
    ]
    as_of = "; ".join(d.text() for d in lists if d.key != CURATED_KEY)
    if as_of:
        summary.append(f"Lists as of: {as_of}.")
    fields = []
    names = screened.table.frame[screened.name_column].tolist()
    for verdict in ("match", "possible"):
        lines = [
            _row_line(i + 1, names[i], row[0])
            for i, row in enumerate(screened.verdicts)
            if row[0].verdict == verdict
        ]
        if lines:
            more = f"\n… and {len(lines) - SHOW_ROWS} more in the CSV" if len(lines) > SHOW_ROWS else ""
            fields.append(
                Field(f"{verdict.capitalize()} ({len(lines):,})", "\n".join(lines[:SHOW_ROWS]) + more)
            )
    stem = params.filename.rsplit(".", 1)[0] or "names"
    attachment = Attachment(
        f"screened-{stem}.csv",
        result_csv(screened, all_candidates=params.all_candidates),
        "Every row with its verdict, score, matched name, list, entity id and explanation",
    )
    return Reply(
        title=f"Screening of {params.filename}",
        summary=summary,
        fields=fields,
        attachments=[attachment],
        numbers={
            "rows": rows,
            "counts": counts,
            "thresholds": {"match": t.match, "possible": t.possible},
            "name_column": screened.name_column,
            "country_column": screened.country_column,
            "as_of": [{"source": d.key, "data_date": d.data_date} for d in lists],
        },
    )


def parse_screen(line: CommandLine, lookups: object) -> ScreenParams:
    """Typed as text (`tradewatch ask "/screen"`) there is no file to read: say where screening runs.

    Raises:
        InvalidInput: always, with the two ways to screen a file.
    """
    raise InvalidInput(
        "/screen needs a file, which a typed command cannot carry.",
        "In Discord attach a CSV or XLSX to /screen; here run `tradewatch screen FILE --out results.csv`.",
    )
