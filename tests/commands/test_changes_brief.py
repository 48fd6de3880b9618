"""/changes and /brief from the real files, on both backends: the SDN snapshots of 2024-04-26 and 2024-05-01
(the additions and the entries tied to China or Hong Kong, counted from the files themselves) and the China
HS-6 monthly table (the movers recomputed with pandas from the file)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.anomalies import MIN_BASE_USD_PER_MONTH, SPAN_MONTHS
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.focus import Focus
from commands.registry import run_text
from commands.replies import Reply
from db.lookups import Lookups
from db.sources import load_importer
from tests.commands.trade_seed import DERIVED, NOW, derived_frame

SNAPSHOTS = Path("ofac/sdn_snapshots")


def sdn_rows(shared_data: Path, date: str) -> dict[str, list[str]]:
    path = shared_data / SNAPSHOTS / date / "sdn.csv"
    with path.open(encoding="latin-1", newline="") as handle:
        return {r[0]: r for r in csv.reader(handle) if r and r[0].strip().isdigit()}


@pytest.fixture
async def loaded(sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups) -> None:
    for date in ("2024-04-26", "2024-05-01"):
        await load_importer("ofac")(sessions, shared_data / SNAPSHOTS / date, now=NOW, data_date=date)
    await load_importer("trade-csv")(
        sessions, shared_data / DERIVED, now=NOW, mapping="china_exports_hs6_monthly", lookups=lookups
    )


async def ask(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str, focus: Focus | None = None
) -> Reply:
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW, focus=focus), text)


@pytest.mark.usefixtures("loaded")
async def test_changes_counts_and_focus_entries_match_the_files(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    before, after = sdn_rows(shared_data, "2024-04-26"), sdn_rows(shared_data, "2024-05-01")
    added = set(after) - set(before)
    china_or_hk = {after[i][1] for i in added if re.search(r"\((China|Hong Kong)\)", after[i][-1])}
    assert len(added) == 298 and len(china_or_hk) == 22  # what the issue states, read from the files

    reply = await ask(sessions, lookups, "/changes since=2024-04-27")
    n = reply.numbers
    assert n["counts"] == {"ofac_sdn": {"added": 298}} and n["total"] == 298
    assert n["focus_by_country"]["CN"] + n["focus_by_country"]["HK"] == 22
    tied = {e["name"] for e in n["focus_entries"] if {"CN", "HK"} & set(e["countries"])}
    assert tied == china_or_hk
    # Focus entries first, China and Hong Kong (the first focus countries) at the top.
    assert {e["name"] for e in n["focus_entries"][:22]} == china_or_hk
    assert reply.summary[1] == "ofac_sdn: 298 added"
    assert "tied to CN 12, HK 10" in reply.summary[2] and "Focus (config [focus])" in reply.summary[3]
    first = n["focus_entries"][0]
    assert first["data_date"] == "2024-05-01" and first["official_link"].startswith("https://")
    assert first["programs"] == ["RUSSIA-EO14024"]
    rows = list(csv.DictReader(reply.attachments[0].data.decode().splitlines()))
    assert len(rows) == 298 and [r["focus"] for r in rows[:22]] == ["yes"] * 22

    hk = await ask(sessions, lookups, '/changes ofac_sdn since=2024-04-27 country="Hong Kong" change=added')
    assert hk.numbers["total"] == 10 and all("HK" in e["countries"] for e in hk.numbers["focus_entries"])
    npwmd = await ask(sessions, lookups, "/changes since=2024-04-27 program=npwmd")
    assert npwmd.numbers["total"] == sum(1 for i in added if "NPWMD" in after[i][3])
    # A focus of only Turkey puts Turkey's entries first.
    turkey = await ask(sessions, lookups, "/changes since=2024-04-27", Focus(countries=("TR",), programs=()))
    assert turkey.numbers["focus_by_country"] == {"TR": turkey.numbers["focus_total"]} and turkey.numbers[
        "focus_total"
    ] == sum(1 for i in added if re.search(r"\(Turkey\)|Turkey\b", after[i][-1]))


@pytest.mark.usefixtures("loaded")
async def test_changes_refuses_bad_filters_and_says_when_nothing_matches(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    with pytest.raises(InvalidInput, match="since"):
        await ask(sessions, lookups, "/changes since=last-week")
    with pytest.raises(InvalidInput, match="change="):
        await ask(sessions, lookups, "/changes change=deleted")
    with pytest.raises(InvalidInput, match="country"):
        await ask(sessions, lookups, "/changes country=Atlantis")
    with pytest.raises(
        NoData, match="No list changes recorded for since=2024-04-27, change=removed"
    ) as caught:
        await ask(sessions, lookups, "/changes since=2024-04-27 change=removed")
    assert "baseline" in caught.value.user_text()
    with pytest.raises(NoData):
        await ask(sessions, lookups, "/changes since=2024-05-02")


@pytest.mark.usefixtures("loaded")
async def test_brief_movers_match_the_file(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    reply = await ask(sessions, lookups, "/brief since=2024-04-27")
    n = reply.numbers
    assert n["changes"]["total"] == 298 and n["movers"]["latest_period"] == "2024-12"
    assert n["focus"]["countries"][:3] == ["CN", "HK", "RU"]
    frame = derived_frame(shared_data, lookups)
    movers = n["movers"]["rises"] + n["movers"]["falls"]
    assert movers, "the table holds graphite and gallium exports to focus partners"
    span = [202400 + m for m in range(13 - SPAN_MONTHS, 13)]
    trailing = [202300 + m for m in range(13 - SPAN_MONTHS, 13)] + [
        202400 + m for m in range(1, 13 - SPAN_MONTHS)
    ]
    for mover in movers:
        rows = frame[
            (frame.partner == mover["partner_code"]) & frame.hs6.str.startswith(tuple(mover["hs_prefixes"]))
        ]
        by_month = rows.groupby("period").val.sum()
        now = [by_month[p] for p in span if p in by_month.index]
        before = [by_month[p] for p in trailing if p in by_month.index]
        assert mover["average_month_usd"] == pytest.approx(sum(now) / len(now))
        assert mover["trailing_average_usd"] == pytest.approx(sum(before) / len(before))
        assert mover["trailing_average_usd"] >= MIN_BASE_USD_PER_MONTH
        assert mover["multiple_of_trailing_average"] == pytest.approx(
            (sum(now) / len(now)) / (sum(before) / len(before))
        )
    rises = [m["multiple_of_trailing_average"] for m in n["movers"]["rises"]]
    assert rises == sorted(rises, reverse=True) and all(r > 1 for r in rises)
    gallium_hk = next(m for m in n["movers"]["rises"] if m["partner"] == "Hong Kong")
    assert gallium_hk["base_year"] == 2021 and gallium_hk["multiple_of_base_year"] > 10
    fields = {f.name: f.value for f in reply.fields}
    assert "ofac_sdn: 298 added" in fields["List changes"]
    assert "data 2024-12" in fields["Biggest rises"]  # every mover cited with its source's data date
    assert "china_customs_derived: stale" in fields["Sources stale, failing or held"]
    assert [a.filename for a in reply.attachments] == ["brief_movers.png", "brief.csv"]
    assert reply.attachments[0].data[:4] == b"\x89PNG"
    sections = [r["section"] for r in csv.DictReader(reply.attachments[1].data.decode().splitlines())]
    assert sections.count("list_change") == 298 and "trade_mover" in sections and "source" in sections


async def test_brief_without_data_says_what_is_missing(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    reply = await ask(sessions, lookups, "/brief")
    assert reply.numbers["since"] == "2026-11-22" and reply.numbers["changes"]["total"] == 0
    assert any(
        "No monthly trade data" in line and "tradewatch import comtrade" in line for line in reply.summary
    )
    with pytest.raises(InvalidInput):
        await ask(sessions, lookups, "/brief since=soon")
