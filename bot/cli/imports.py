"""`tradewatch import NAME PATH [options]`: one command per importer of the source registry (db/sources).

The commands are built from the registry when click asks for them: the path argument, the options (passed
to the importer's `run_import` as keyword arguments) and the help text are all declared there. Only an
importer whose command line does more than pass options through has a command of its own, listed in
`DEDICATED` (comtrade: `--api` fetches from UN Comtrade instead of reading a file).
"""

from __future__ import annotations

from typing import Any

import click

from bot.cli.import_comtrade import import_comtrade
from bot.cli.import_run import click_option, import_and_report, iso_date
from bot.config import Config
from db.sources import IMPORTERS, Importer, importer_spec

DEDICATED: dict[str, click.Command] = {"comtrade": import_comtrade}


def import_command(spec: Importer) -> click.Command:
    """`tradewatch import NAME PATH [options]` for one importer, as the registry declares it."""
    argument = spec.path.metavar.lower()
    path_type = click.Path(exists=spec.path.exists, dir_okay=spec.path.dir_okay)
    params: list[click.Parameter] = [
        click.Argument([argument], type=path_type, required=spec.path.config_default is None),
        *(click_option(o) for o in spec.options),
    ]
    kinds = {o.name: o.kind for o in spec.options}

    @click.pass_obj
    def run(config: Config, /, **values: Any) -> None:
        path = values.pop(argument)
        if path is None and spec.path.config_default:
            path = str(getattr(config, spec.path.config_default))
        given = {k: v for k, v in values.items() if v is not None and v is not False}
        if spec.requires_options and not any(kinds[k] != "flag" for k in given):
            raise click.UsageError(spec.requires_options)
        for name, value in given.items():
            if kinds[name] == "date":
                given[name] = iso_date(value)
        for name in spec.config_paths:
            given[name] = str(getattr(config, name))
        import_and_report(config, spec.name, path, **given)

    return click.Command(spec.name, params=params, callback=run, help=spec.help)


class ImportGroup(click.Group):
    """The `import` group: its subcommands are the registry's importers, built on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(IMPORTERS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in IMPORTERS:
            return None
        return DEDICATED.get(cmd_name) or import_command(importer_spec(cmd_name))


@click.group("import", cls=ImportGroup)
def import_group() -> None:
    """Load a source file (or folder) into the database. Re-importing the same file changes nothing."""
