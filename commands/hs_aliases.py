"""`/hs aliases`: every commodity word the trade commands understand, with the exact codes each one sums:
the aliases of commodities.yml, `total` (the all-goods rows) and the CHPL tiers."""

from __future__ import annotations

from commands.replies import Attachment, Field, Reply
from commands.resolve import TOTAL_WORDS
from commands.tables import csv_bytes
from db.lookups import Lookups
from db.text import fold

LIST_WORDS = frozenset({"aliases", "alias", "list aliases", "commodities", "all aliases"})
FIELD_CHARS = 1000  # under Discord's 1,024 per field


def wants_alias_list(query: str) -> bool:
    return " ".join(fold(query).split()) in LIST_WORDS


def _fields(title: str, lines: list[str]) -> list[Field]:
    """Lines packed into as few fields as fit, each under the field limit."""
    fields: list[Field] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > FIELD_CHARS:
            fields.append(Field(title if not fields else f"{title} (cont.)", "\n".join(chunk)))
            chunk = []
        chunk.append(line[:FIELD_CHARS])
    if chunk:
        fields.append(Field(title if not fields else f"{title} (cont.)", "\n".join(chunk)))
    return fields


def alias_list_reply(lookups: Lookups) -> Reply:
    """The aliases with their codes, `total` and the CHPL tiers, as fields and as a CSV."""
    rows: list[list[str]] = []
    lines = []
    for c in sorted(lookups.commodities, key=lambda c: c.key):
        words = [a for a in c.aliases if fold(a) != fold(c.key)]
        lines.append(
            f"**{c.key}** → {' + '.join(c.codes)}" + (f" (also: {', '.join(words[:5])})" if words else "")
        )
        rows.append([c.key, "; ".join(words), " ".join(c.codes), c.label, c.note or ""])
    chpl = lookups.chpl
    tiers = [f"**CHPL tier {t.tier}** ({t.title}) → {' + '.join(t.codes)}" for t in chpl.tiers]
    for t in chpl.tiers:
        rows.append([f"CHPL tier {t.tier}", "", " ".join(t.codes), t.title, f"{chpl.name} {chpl.version}"])
    total_words = ", ".join(sorted(TOTAL_WORDS))
    rows.append(["total", total_words, "TOTAL", "all goods", "the source's all-goods rows"])
    return Reply(
        title="Commodity words and the HS codes they sum",
        summary=[
            f"{len(lookups.commodities)} aliases, the {len(chpl.tiers)} CHPL tiers and `total`. Each sums exactly "
            "the codes listed; an answer also names the codes of the family its source does not hold.",
            f"`total` (also: {total_words}) is all goods: the source's TOTAL rows, never a sum of some codes.",
        ],
        fields=[
            *_fields("Aliases", lines),
            *_fields(f"CHPL {chpl.version} (`CHPL tier 1`, `chpl 3A`, `chpl`)", tiers),
        ],
        attachments=[
            Attachment(
                "commodity-aliases.csv",
                csv_bytes(["alias", "also", "codes", "label", "note"], rows),
                "Every alias with its codes",
            )
        ],
        numbers={
            "aliases": {c.key: list(c.codes) for c in lookups.commodities},
            "chpl": {t.tier: list(t.codes) for t in chpl.tiers},
            "total": ["TOTAL"],
        },
    )
