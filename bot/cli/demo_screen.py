"""The demo's batch screening: a small sheet built at run time, screened as `tradewatch screen` would.

The sheet is not a real shipping record: its listed rows are companies taken from the OFAC SDN list the demo
has just loaded (written in title case, as a consignee column would), and its other rows are well-known firms
on no list (the evaluation set's negatives). The demo says so above the summary.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commands.context import Context
from commands.replies import Reply
from db.lookups import Lookups
from db.models import Entity, Source

LISTED_ROWS = 8  # companies taken from the loaded SDN list, spread over it
UNLISTED = [  # (name, country): well-known firms on no sanctions list
    ("Siemens AG", "DE"),
    ("Toyota Motor Corporation", "JP"),
    ("A.P. Moller-Maersk", "DK"),
    ("Nestle S.A.", "CH"),
]
SHEET_NAME = "demo-consignees.csv"
ORGANISATIONS = ("Company", "Organization", "LegalEntity")


async def sdn_companies(session: AsyncSession, count: int = LISTED_ROWS) -> list[str]:
    """`count` company names of the loaded OFAC SDN list, evenly spread over it (the same on every run)."""
    rows = (
        await session.scalars(
            select(Entity.name)
            .join(Source, Source.id == Entity.source_id)
            .where(Source.key == "ofac_sdn", Entity.schema.in_(ORGANISATIONS), Entity.active.is_(True))
            .order_by(Entity.source_key)
        )
    ).all()
    if not rows:
        return []
    step = max(1, len(rows) // count)
    return list(rows[::step][:count])


def sheet_csv(listed: list[str]) -> bytes:
    """A consignee sheet: the listed names in title case (no country), then the unlisted firms."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["consignee", "country"])
    writer.writerows([name.title(), ""] for name in listed)
    writer.writerows(UNLISTED)
    return out.getvalue().encode("utf-8")


async def screen_demo_sheet(session: AsyncSession, lookups: Lookups, out_dir: Path) -> tuple[str, Reply]:
    """Build the sheet, save it to `out_dir`, screen it; returns the note on where the sheet came from and
    the reply (its CSV attachment is written by the caller like every other answer's)."""
    from commands.screen import run_screen
    from commands.screen_table import ScreenParams

    listed = await sdn_companies(session)
    data = sheet_csv(listed)
    (out_dir / SHEET_NAME).write_bytes(data)

    async def read() -> bytes:
        return data

    params = ScreenParams(SHEET_NAME, read, name_column="consignee", country_column="country")
    reply = await run_screen(Context(session=session, lookups=lookups), params)
    note = (
        f"(The sheet {SHEET_NAME} is built for the demo, not a real shipping record: {len(listed)} companies "
        f"taken from the loaded OFAC SDN list, in title case, and {len(UNLISTED)} well-known firms on no list.)"
    )
    return note, reply
