"""bot.alerts pieces: alerts and digests rendered within Discord's limits with their reference; the SQLite lock."""

from __future__ import annotations

import datetime as dt

from bot.alerts import MARKER_PREFIX, add_marker
from bot.render import LIMITS, render
from commands.alerts import build_alert, build_digest
from db.queries.alerts import ChangeView, Enrichment

NOW = dt.datetime(2022, 9, 30, 19, 0, tzinfo=dt.UTC)
LONG = "*_`|~> " * 40  # markdown characters that escaping doubles, in invented names
# An invented name in the shape of long Russian company names on the lists.
REALISTIC = 'OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU "NAUCHNO-PROIZVODSTVENNOE PREDPRIYATIE (TEST-{i})"'


def view(i: int, **kw: object) -> ChangeView:
    base: dict[str, object] = dict(
        change_id=i,
        change="added",
        entity_key=str(40000 + i),
        name=f"TEST {i} {LONG}",
        detected_at=NOW,
        source_key="ofac_sdn",
        source_title="OFAC SDN List",
        publisher="U.S. Treasury, OFAC",
        source_url="https://sanctionslist.ofac.treas.gov/",
        data_date="2022-09-30",
        previous_data_date="2022-09-29",
        countries=["RU", "HK"],
        programs=["RUSSIA-EO14024"],
    )
    base.update(kw)
    return ChangeView(**base)  # type: ignore[arg-type]


def test_a_digest_of_long_names_keeps_one_file_and_fits() -> None:
    message = render(build_digest([view(i, name=REALISTIC.format(i=i)) for i in range(300)]))
    [embed] = message["embeds"]
    assert [f.filename for f in message["files"]] == ["changes-ofac_sdn-2022-09-30.csv"]
    assert all(field.name != "Shortened" for field in embed.fields)
    assert len(embed) <= LIMITS.total and all(len(f.value) <= LIMITS.field_value for f in embed.fields)
    add_marker(message, "twd123")
    assert embed.footer.text.endswith(MARKER_PREFIX + "twd123") and len(embed) <= LIMITS.total


def test_a_digest_of_pathological_names_still_fits() -> None:
    message = render(build_digest([view(i) for i in range(300)]))
    [embed] = message["embeds"]
    assert message["files"][0].filename == "changes-ofac_sdn-2022-09-30.csv"
    assert len(embed) <= LIMITS.total and all(len(f.value) <= LIMITS.field_value for f in embed.fields)


def test_a_huge_single_alert_fits() -> None:
    big = view(
        1,
        aliases=[f"ALIAS {i} {LONG}" for i in range(80)],
        properties={"remarks": LONG * 20, "addresses": [{"full": LONG}] * 10},
    )
    message = render(build_alert(big, Enrichment()))
    [embed] = message["embeds"]
    assert len(embed) <= LIMITS.total and len(embed.title or "") <= LIMITS.title
    add_marker(message, "tw1")
    assert len(embed) <= LIMITS.total


def test_one_delivering_process_per_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.alerts import SqliteDeliveryLock

    first, second = (
        SqliteDeliveryLock(str(tmp_path / "db.sqlite3")),
        SqliteDeliveryLock(str(tmp_path / "db.sqlite3")),
    )
    assert first.acquire() and first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
