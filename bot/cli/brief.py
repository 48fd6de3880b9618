"""`tradewatch brief [--since 30d] [--out DIR] [--json]`: the /brief answer for meeting notes.

With --out, writes brief.md (Markdown ready to paste), brief_movers.png and brief.csv into DIR.
"""

from __future__ import annotations

import click

from bot.cli.output import echo_reply, write_attachments
from bot.config import Config
from bot.runtime import open_app
from commands.brief import BriefParams, run_brief
from commands.context import Context
from commands.replies import Reply


def markdown(reply: Reply) -> str:
    """The reply as Markdown: title, summary, one section per field, sources, attachments linked."""
    lines = [f"# {reply.title}", ""]
    lines += [f"- {line}" for line in reply.summary]
    for field in reply.fields:
        lines += ["", f"## {field.name}", ""]
        lines += [line if line.startswith(("· ", "- ")) else f"- {line}" for line in field.value.splitlines()]
    for attachment in reply.attachments:
        if attachment.filename.endswith(".png"):
            lines += ["", f"![{attachment.description}]({attachment.filename})"]
    if reply.citations:
        lines += ["", "## Sources", ""]
        lines += [f"- {c.text()}" + (f" <{c.url}>" if c.url else "") for c in reply.citations]
    csvs = [a.filename for a in reply.attachments if a.filename.endswith(".csv")]
    if csvs:
        lines += ["", "Everything in the brief: " + ", ".join(f"[{name}]({name})" for name in csvs)]
    return "\n".join(lines).replace("\n· ", "\n- ") + "\n"


async def brief_reply(config: Config, since: str | None) -> Reply:
    async with open_app(config) as app, app.sessions() as session:
        ctx = Context(
            session=session, lookups=app.lookups, sync_settings=config.sync.sources(), focus=config.focus
        )
        return await run_brief(ctx, BriefParams(since))


@click.command("brief")
@click.option("--since", help="List changes since: 7d (days back, the default) or YYYY-MM-DD.")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), help="Write brief.md, the chart and the CSV here."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def brief(config: Config, since: str | None, out_dir: str | None, as_json: bool) -> None:
    """The editorial meeting brief: list changes, trade movers, stale or failing sources (config [focus])."""
    reply = echo_reply(lambda: brief_reply(config, since), as_json=as_json)
    if out_dir:
        folder = write_attachments(reply, out_dir)
        (folder / "brief.md").write_text(markdown(reply), encoding="utf-8")
        if not as_json:
            click.echo(f"wrote brief.md and {len(reply.attachments)} file(s) to {folder}")
