"""Reply -> Discord message (embed, files) within every Discord limit, by construction.

Contract with `commands/`: Reply text is plain text. Everything is escaped here (markdown and mentions),
so a sanctioned company called `**@everyone**` shows as exactly that. One exception: a field value
wrapped in ``` fences is a monospace table; it is kept as a code block (where markdown does not render)
and only stray fences inside it are neutralised.

Lengths are counted in UTF-16 code units, which is never less than the code points Discord counts, so a
rendered message fits however the server measures. When anything has to be cut (a long table, too many
fields, the 6000-character total), the full answer goes along as a CSV attachment and the embed says so.
Citations are never dropped: they go in the footer first.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.utils import escape_markdown, escape_mentions

from commands.replies import Attachment, Reply

EMBED_COLOUR = 0x2B6CB0
FULL_ANSWER_FILE = "full-answer.csv"
ELLIPSIS = "…"
ZWSP = "\u200b"


@dataclass(frozen=True)
class Limits:
    """Discord's message limits (docs: resources/message, interactions/receiving-and-responding)."""

    content: int = 2000
    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    total: int = 6000
    embeds: int = 10
    files: int = 10
    file_size: int = 10 * 1024 * 1024  # default per-file limit; interactions carry their own
    request_size: int = 25 * 1024 * 1024
    file_description: int = 1024


LIMITS = Limits()
# Space kept back from the 6000 total for the closing "cut" note and for multipart overhead.
_NOTE_RESERVE = 200
_REQUEST_MARGIN = 512 * 1024


def ulen(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript's `.length` counts; never less than code points)."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, budget: int, marker: str = ELLIPSIS) -> str:
    """`text` shortened to at most `budget` UTF-16 units, ending in `marker` when shortened.

    The cut never leaves a lone escaping backslash at the end (it would swallow the marker) and never
    splits a surrogate pair.
    """
    if ulen(text) <= budget:
        return text
    room = max(budget - ulen(marker), 0)
    out = []
    used = 0
    for ch in text:
        size = ulen(ch)
        if used + size > room:
            break
        out.append(ch)
        used += size
    head = "".join(out)
    trailing = len(head) - len(head.rstrip("\\"))
    if trailing % 2:
        head = head[:-1]
    return head + marker if ulen(head + marker) <= budget else head


def plain(text: str) -> str:
    """Escape markdown and mentions so user-visible text from sources shows literally."""
    return escape_mentions(escape_markdown(text or ""))


_FENCE = re.compile(r"^```[\w+-]*\n(.*?)\n?```$", re.S)


def _code_block(value: str) -> tuple[str, list[str]] | None:
    """The opening fence and inner lines if `value` is a fenced code block; None otherwise."""
    match = _FENCE.match(value.strip())
    if not match:
        return None
    opening = value.strip().split("\n", 1)[0]
    inner = match.group(1).replace("```", "`" + ZWSP + "``")
    return opening, inner.split("\n")


def _fit_lines(lines: list[str], budget: int, prefix: str = "", suffix: str = "") -> tuple[str, bool]:
    """Join whole lines within `budget` (with prefix/suffix); when cut, end with a "N more lines" note."""
    text = prefix + "\n".join(lines) + suffix
    if ulen(text) <= budget:
        return text, False

    def note(left: int) -> str:
        if left == 0:
            return f"{ELLIPSIS} (full text in {FULL_ANSWER_FILE})"
        return f"{ELLIPSIS} {left} more line(s) in {FULL_ANSWER_FILE}"

    kept: list[str] = []
    for line in lines:
        candidate = "\n".join([*kept, line, note(len(lines) - len(kept) - 1)])
        if ulen(prefix + candidate + suffix) > budget:
            break
        kept.append(line)
    if not kept:
        # One long first line (a paragraph): show as much of it as fits rather than nothing.
        room = budget - ulen(prefix + suffix + "\n" + note(len(lines) - 1))
        if room >= 40:
            kept = [cut(lines[0], room)]
    body = "\n".join([*kept, note(len(lines) - len(kept))])
    if ulen(prefix + body + suffix) <= budget:
        return prefix + body + suffix, True
    return cut(note(len(lines)), budget), True


def format_value(value: str, budget: int) -> tuple[str, bool]:
    """A field value or description, escaped and fitted within `budget`; returns (text, was_cut)."""
    block = _code_block(value)
    if block is not None:
        opening, inner = block
        if budget < ulen(opening) + 8 + 40:
            return _fit_lines([plain(line) for line in inner], budget)
        text, was_cut = _fit_lines(inner, budget, prefix=opening + "\n", suffix="\n```")
        if ulen(text) <= budget:
            return text, was_cut
        return cut(text, budget), True
    lines = [plain(line) for line in (value or "").split("\n")]
    text, was_cut = _fit_lines(lines, budget)
    return (text if ulen(text) <= budget else cut(text, budget)), was_cut


def safe_filename(name: str, fallback: str = "file") -> str:
    """A file name that works in `attachment://` URLs: letters, digits, dot, dash and underscore."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or fallback
    return stem[-100:]


def _csv_cell(text: str) -> str:
    # A cell starting with = + - @ opens as a formula in spreadsheets: names come from public lists.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def full_answer_csv(reply: Reply) -> bytes:
    """The whole answer, one line per row (section, text): nothing the embed had to cut is lost."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "text"])
    writer.writerow(["title", _csv_cell(reply.title)])
    for line in reply.summary:
        writer.writerow(["summary", _csv_cell(line)])
    for f in reply.fields:
        block = _code_block(f.value)
        for line in block[1] if block else f.value.split("\n"):
            writer.writerow([_csv_cell(f.name), _csv_cell(line)])
    for citation in reply.citations:
        writer.writerow(
            ["source", _csv_cell(citation.text() + (f" <{citation.url}>" if citation.url else ""))]
        )
    return buffer.getvalue().encode("utf-8-sig")


def footer_text(reply: Reply, budget: int = LIMITS.footer) -> str:
    """Every citation, one per line, shortened evenly if together they exceed `budget`."""
    lines = []
    for citation in reply.citations:
        line = "Source: " + citation.text()
        if citation.url:
            line += f" · {citation.url}"
        lines.append(escape_mentions(line))
    if not lines:
        return ""
    text = "\n".join(lines)
    if ulen(text) <= budget:
        return text
    share = max((budget - len(lines)) // len(lines), 1)
    return cut("\n".join(cut(line, share) for line in lines), budget)


@dataclass
class _Files:
    kept: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _choose_files(attachments: list[Attachment], size_limit: int, reserve_slot: bool) -> _Files:
    """Keep attachments within the count, per-file and per-request limits; note what was left out."""
    chosen = _Files()
    slots = LIMITS.files - (1 if reserve_slot else 0)
    total = 0
    names: set[str] = set()
    for attachment in attachments:
        size = len(attachment.data)
        name = safe_filename(attachment.filename)
        while name in names:
            name = "_" + name
        if len(chosen.kept) >= slots:
            chosen.notes.append(f"{name} not attached (at most {LIMITS.files} files per message)")
        elif size > size_limit or total + size > LIMITS.request_size - _REQUEST_MARGIN:
            chosen.notes.append(f"{name} not attached ({size / 1048576:.1f} MB is over Discord's size limit)")
        else:
            chosen.kept.append(Attachment(name, attachment.data, attachment.description))
            names.add(name)
            total += size
    return chosen


def _to_file(attachment: Attachment) -> discord.File:
    description = cut(attachment.description, LIMITS.file_description) if attachment.description else None
    return discord.File(io.BytesIO(attachment.data), filename=attachment.filename, description=description)


@dataclass
class _Budget:
    left: int

    def take(self, text: str) -> str:
        self.left -= ulen(text)
        return text


def _non_blank(text: str, fallback: str = ZWSP) -> str:
    # Discord refuses titles, field names and values that are empty or only whitespace.
    return text if text.strip() else fallback


def _build_embed(reply: Reply, notes: list[str]) -> tuple[discord.Embed, bool]:
    """The embed within every per-part and total limit; returns (embed, whether anything was cut)."""
    budget = _Budget(LIMITS.total - _NOTE_RESERVE)
    title = budget.take(_non_blank(cut(plain(reply.title), LIMITS.title), "Tradewatch"))
    footer = budget.take(footer_text(reply))
    summary = list(reply.summary) + [f"Note: {n}" for n in notes]
    description, was_cut = format_value("\n".join(summary), min(LIMITS.description, budget.left))
    budget.take(description)
    embed = discord.Embed(
        title=title, description=description if description.strip() else None, colour=EMBED_COLOUR
    )
    fields = list(reply.fields)
    room_for_fields = LIMITS.fields - 1  # one slot kept for the "more in the CSV" note
    for index, f in enumerate(fields):
        name = _non_blank(cut(plain(f.name), LIMITS.field_name))
        value_budget = min(LIMITS.field_value, budget.left - ulen(name))
        if index >= room_for_fields or value_budget < 60:
            was_cut = True
            break
        value, value_cut = format_value(f.value, value_budget)
        was_cut |= value_cut
        embed.add_field(name=budget.take(name), value=budget.take(_non_blank(value)), inline=f.inline)
    if footer:
        embed.set_footer(text=footer)
    return embed, was_cut


def render(reply: Reply, *, attachment_size_limit: int | None = None) -> dict[str, Any]:
    """Turn a Reply into keyword arguments for `followup.send` / `response.send_message`.

    Args:
        reply: the command's answer.
        attachment_size_limit: the interaction's per-file limit in bytes (`interaction.attachment_size_limit`).
    Returns:
        `embeds`, `files` (when any), `allowed_mentions` (none) and `ephemeral`. Fresh `discord.File`
        objects each call: a File can be sent only once.
    """
    size_limit = min(attachment_size_limit or LIMITS.file_size, LIMITS.request_size - _REQUEST_MARGIN)
    files = _choose_files(list(reply.attachments), size_limit, reserve_slot=True)
    embed, was_cut = _build_embed(reply, files.notes)
    kept = files.kept
    if was_cut:
        full = Attachment(FULL_ANSWER_FILE, full_answer_csv(reply), "The whole answer, one line per row")
        if len(full.data) <= size_limit:
            kept = [*kept, full]
        embed.add_field(
            name="Shortened",
            value=f"The answer was too long for Discord; the full text is in {FULL_ANSWER_FILE}."
            if full in kept
            else "The answer was too long for Discord and has been shortened.",
        )
    image = next((a.filename for a in kept if a.filename.lower().endswith(".png")), None)
    if image:
        embed.set_image(url=f"attachment://{image}")
    out: dict[str, Any] = {
        "embeds": [embed],
        "allowed_mentions": discord.AllowedMentions.none(),
        "ephemeral": reply.ephemeral,
    }
    if kept:
        out["files"] = [_to_file(a) for a in kept]
    return out


def render_text(text: str, *, ephemeral: bool = True) -> dict[str, Any]:
    """A short plain message (errors, refusals) as message content, escaped and within 2000 characters."""
    return {
        "content": _non_blank(cut(plain(text), LIMITS.content)),
        "allowed_mentions": discord.AllowedMentions.none(),
        "ephemeral": ephemeral,
    }
