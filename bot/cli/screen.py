"""`tradewatch screen FILE.csv|FILE.xlsx --out results.csv`: every name of a sheet against the loaded lists."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import NoReturn

import click

from bot.config import Config
from bot.runtime import open_app
from commands.context import Context
from commands.errors import CommandError
from commands.replies import Reply
from commands.screen import run_screen
from commands.screen_table import CLI_MAX_ROWS, ScreenParams, check_size
from db.search.cache import INDEX_FOLDER
from db.search.pool import open_pool

CLI_MAX_FILE_BYTES = 200 * 1024 * 1024


async def screen_file(config: Config, params: ScreenParams, show_progress: bool) -> Reply:
    """Open the database, screen the file with a progress bar on stderr (a large sheet in worker processes,
    db.search.pool), close."""
    from tqdm import tqdm

    bar: tqdm[NoReturn] | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not show_progress:
            return
        if bar is None:
            bar = tqdm(total=total, unit="row", desc="screening")
        bar.update(done - bar.n)

    pool = None
    try:
        async with open_app(config) as app:
            # the index saved by the last import, else built and saved: the search workers map that copy
            pool = await open_pool(app.sessions, config.cache_dir / INDEX_FOLDER, config.screen.workers)
            async with app.sessions() as session:
                ctx = Context(session=session, lookups=app.lookups)
                return await run_screen(ctx, params, progress, pool)
    finally:
        if pool is not None:
            pool.close()
        if bar is not None:
            bar.close()


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name-column", default=None, help="Column of names to screen (default: name).")
@click.option(
    "--country-column", default=None, help="Column of countries, compared with the lists' (default: country)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the results CSV (the input columns plus verdict, score, matched_name, ...).",
)
@click.option(
    "--all-candidates",
    is_flag=True,
    help="One output row per candidate at or above the possible score, not only the best.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@click.pass_obj
def screen(
    config: Config,
    file: Path,
    name_column: str | None,
    country_column: str | None,
    out: Path,
    all_candidates: bool,
    no_progress: bool,
) -> None:
    """Screen every name of FILE (CSV or XLSX) against the loaded lists; write the verdicts to --out."""
    try:
        _ensure_folder(out)  # before the screening, not after it
        check_size(file.stat().st_size, file.name, CLI_MAX_FILE_BYTES)

        async def read() -> bytes:
            return file.read_bytes()

        params = ScreenParams(
            file.name,
            read,
            name_column,
            country_column,
            all_candidates,
            config.screen.match_score,
            config.screen.possible_score,
            CLI_MAX_ROWS,
            option_style="--name-column",
        )
        reply = asyncio.run(screen_file(config, params, not no_progress))
    except CommandError as exc:
        click.echo(f"error: {exc.user_text()}".replace("\n", " "), err=True)
        raise SystemExit(2) from None
    [results] = reply.attachments
    _write(out, results.data)
    click.echo("\n".join(reply.summary))
    for field in reply.fields:
        click.echo(f"\n{field.name}:\n{field.value}")
    click.echo(f"\nwrote {out}")


def _refuse(out: Path, exc: OSError) -> NoReturn:
    click.echo(
        f"error: cannot write the results to {out}: {exc.strerror or exc}. Choose another --out.", err=True
    )
    raise SystemExit(2) from None


def _ensure_folder(out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _refuse(out, exc)


def _write(out: Path, data: bytes) -> None:
    """Whole or not at all: a temporary file beside `out`, renamed over it."""
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        _refuse(out, exc)
