"""render(): every Discord limit holds for any Reply, text from lists shows literally, nothing is lost silently."""

from __future__ import annotations

import csv
import io
import re

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import FULL_ANSWER_FILE, LIMITS, cut, full_answer_csv, render, render_text, ulen
from commands.replies import Attachment, Citation, Field, Reply

# Text that stresses the limits: astral-plane emoji (2 UTF-16 units), backslashes, markdown, fences, mentions.
tokens = st.sampled_from(
    list("ab c\\*_~`|>#-@\n") + ["😀", "Ж", "中", "@everyone", "```", "<@123456789012345678>"]
)
nasty = st.lists(tokens, max_size=1200).map("".join)
fields = st.builds(
    Field, name=nasty, value=nasty | nasty.map(lambda t: f"```\n{t}\n```"), inline=st.booleans()
)
citations = st.builds(
    Citation,
    source=nasty,
    publisher=nasty,
    data_date=st.none() | nasty,
    url=st.none() | nasty,
    note=st.none() | nasty,
)
attachments = st.builds(
    Attachment,
    filename=st.sampled_from(["chart.png", "table.csv", "weird name?.png", "../../etc.csv", ""]),
    data=st.integers(0, 3000).map(lambda n: b"\x89PNG" + b"x" * n),
    description=nasty,
)
replies = st.builds(
    Reply,
    title=nasty,
    summary=st.lists(nasty, max_size=8),
    fields=st.lists(fields, max_size=40),
    citations=st.lists(citations, max_size=6),
    attachments=st.lists(attachments, max_size=14),
    ephemeral=st.booleans(),
)


def assert_within_limits(message: dict, size_limit: int) -> None:
    embeds: list[discord.Embed] = message["embeds"]
    assert 1 <= len(embeds) <= LIMITS.embeds
    total = 0
    for embed in embeds:
        data = embed.to_dict()
        assert 0 < ulen(data["title"]) <= LIMITS.title and data["title"].strip()
        assert ulen(data.get("description", "")) <= LIMITS.description
        assert len(data.get("fields", [])) <= LIMITS.fields
        for f in data.get("fields", []):
            assert 0 < ulen(f["name"]) <= LIMITS.field_name and f["name"].strip()
            assert 0 < ulen(f["value"]) <= LIMITS.field_value and f["value"].strip()
            total += ulen(f["name"]) + ulen(f["value"])
        footer = data.get("footer", {}).get("text", "")
        assert ulen(footer) <= LIMITS.footer
        total += ulen(data["title"]) + ulen(data.get("description", "")) + ulen(footer)
    assert total <= LIMITS.total
    files: list[discord.File] = message.get("files", [])
    assert len(files) <= LIMITS.files
    sizes = [len(f.fp.getvalue()) for f in files]
    assert all(size <= size_limit for size in sizes)
    assert len({f.filename for f in files}) == len(files)
    image = embeds[0].image.url
    if image:
        assert image.removeprefix("attachment://") in {f.filename for f in files}
    assert message["allowed_mentions"].to_dict()["parse"] == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(reply=replies, size_limit=st.sampled_from([1500, 2500, 10 * 1024 * 1024]))
def test_any_reply_fits_every_discord_limit(reply: Reply, size_limit: int) -> None:
    message = render(reply, attachment_size_limit=size_limit)
    assert_within_limits(message, size_limit)
    assert message["ephemeral"] == reply.ephemeral


@settings(max_examples=100, deadline=None)
@given(text=nasty, budget=st.integers(0, 300))
def test_cut_respects_budget_and_never_ends_in_an_escaping_backslash(text: str, budget: int) -> None:
    out = cut(text, budget)
    assert ulen(out) <= budget
    if out != text and out.endswith("…"):
        head = out[:-1]
        assert (len(head) - len(head.rstrip("\\"))) % 2 == 0


@pytest.mark.parametrize(
    ("name", "forbidden", "expected"),
    [
        ("**Evil Corp**", r"(?<!\\)\*\*Evil", r"\*\*Evil Corp\*\*"),
        ("@everyone LLC", "@everyone", "@\u200beveryone LLC"),
        ("@here Trading", "@here", "@\u200bhere Trading"),
        ("__Under__ ~~strike~~", r"(?<!\\)__Under", r"\_\_Under\_\_ \~\~strike\~\~"),
        ("[click](https://evil.example)", r"(?<!\\)\[click\]\(", r"\[click](https://evil.example)"),
        ("`tick` > quote", r"(?<!\\)`tick", r"\`tick\`"),
    ],
)
def test_names_from_lists_show_as_text(name: str, forbidden: str, expected: str) -> None:
    reply = Reply(
        title=name,
        summary=[f"Best match: {name}"],
        fields=[Field("Aliases", name)],
        citations=[Citation("OFAC SDN", "U.S. Treasury", "2026-06-01")],
    )
    embed = render(reply)["embeds"][0]
    for text in (embed.title, embed.description, embed.fields[0].value):
        assert not re.search(forbidden, text)
        assert expected in text


def test_code_block_tables_stay_monospace_and_fences_inside_are_neutralised() -> None:
    table = "```\nmonth  value\n2022-01  ```x```\n```"
    embed = render(Reply(title="t", fields=[Field("Monthly", table)]))["embeds"][0]
    value = embed.fields[0].value
    assert value.startswith("```\n") and value.endswith("\n```")
    assert value.count("```") == 2
    assert "2022-01" in value


def test_long_table_is_cut_on_a_line_with_the_full_table_attached_as_csv() -> None:
    rows = [
        f"{month:>3} {value:>12,}"
        for month, value in zip(range(400), range(0, 4_000_000, 10_000), strict=True)
    ]
    reply = Reply(
        title="Exports of chips to Russia",
        summary=["Total 2022: $1.2bn"],
        fields=[Field("Monthly", "```\n" + "\n".join(rows) + "\n```")],
        citations=[Citation("UN Comtrade", "UNSD", "2024-12", "https://comtradeplus.un.org/")],
    )
    message = render(reply)
    assert_within_limits(message, LIMITS.file_size)
    value = message["embeds"][0].fields[0].value
    assert value.endswith("\n```") and f"more line(s) in {FULL_ANSWER_FILE}" in value
    files = {f.filename: f.fp.getvalue() for f in message["files"]}
    table = list(csv.reader(io.StringIO(files[FULL_ANSWER_FILE].decode("utf-8-sig"))))
    assert [row[1] for row in table if row[0] == "Monthly"] == rows
    assert message["embeds"][0].fields[-1].name == "Shortened"


def test_too_many_fields_keep_citations_and_note_the_rest() -> None:
    reply = Reply(
        title="t",
        fields=[Field(f"f{i}", "v" * 900) for i in range(40)],
        citations=[
            Citation("OFAC SDN", "U.S. Treasury", "2026-06-01", "https://sanctionslist.ofac.treas.gov/")
        ],
    )
    message = render(reply)
    assert_within_limits(message, LIMITS.file_size)
    embed = message["embeds"][0]
    assert embed.footer.text.startswith("Source: OFAC SDN (U.S. Treasury), data 2026-06-01")
    assert FULL_ANSWER_FILE in {f.filename for f in message["files"]}


def test_short_reply_is_not_cut_and_has_no_csv() -> None:
    reply = Reply(
        title="HS 8542",
        summary=["Electronic integrated circuits"],
        fields=[Field("CHPL", "Tier 1")],
        attachments=[Attachment("chart.png", b"\x89PNG....")],
    )
    message = render(reply)
    assert [f.filename for f in message["files"]] == ["chart.png"]
    assert message["embeds"][0].image.url == "attachment://chart.png"
    assert [f.name for f in message["embeds"][0].fields] == ["CHPL"]


def test_oversized_and_surplus_files_are_left_out_with_a_note() -> None:
    big = Attachment("chart.png", b"x" * 5000)
    many = [Attachment(f"t{i}.csv", b"a,b\n") for i in range(12)]
    message = render(Reply(title="t", attachments=[big, *many]), attachment_size_limit=4000)
    names = [f.filename for f in message["files"]]
    assert "chart.png" not in names and len(names) <= LIMITS.files
    assert "chart.png not attached" in message["embeds"][0].description
    assert message["embeds"][0].image.url is None


def test_full_answer_csv_neutralises_spreadsheet_formulas() -> None:
    data = full_answer_csv(Reply(title='=HYPERLINK("http://x")', summary=["@SUM(A1)"]))
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM" in text


def test_render_text_is_escaped_short_and_ephemeral() -> None:
    message = render_text("@everyone " + "x" * 5000)
    assert ulen(message["content"]) <= LIMITS.content
    assert "@everyone" not in message["content"]
    assert message["ephemeral"] is True
