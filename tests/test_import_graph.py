"""Layering guard: no import circle among bot/, commands/ and db/, and commands/ stays above db's machinery.

Every import statement counts, also one inside a function or under `if TYPE_CHECKING:`: a circle hidden by a
late import is still a circle. A package importing its own modules (or a module its own package) is not a
circle of files. commands/ may use db.queries, db.models, db.engine, db.lookups, db.search, db.sources ...
but not the importers (db.ingest) or the sync (db.sync): what it needs from them belongs in db.queries.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands", "db")
FORBIDDEN_FOR_COMMANDS = ("db.ingest", "db.sync")


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for the product's packages (migrations are run by alembic, not imported)."""
    out = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            rel = path.relative_to(root)
            if "migrations" in rel.parts:
                continue
            name = ".".join(rel.with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    """Every dotted name an import statement anywhere in the tree may refer to (relative ones resolved)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: None if is_package else -1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(files: Mapping[str, Path], sources: Mapping[str, str] | None = None) -> dict[str, set[str]]:
    """Module -> the product modules it imports (`sources` gives the text instead of reading the files)."""
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        text = sources[module] if sources is not None else path.read_text(encoding="utf-8")
        is_package = path.name == "__init__.py"
        targets = set()
        for name in imported_names(ast.parse(text), module, is_package):
            while name and name not in files:
                name = name.rpartition(".")[0]
            own_package = name.startswith(module + ".") and is_package
            if name and name != module and not own_package and not module.startswith(name + "."):
                targets.add(name)
        graph[module] = targets
    return graph


def find_circle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle (as a path that ends where it starts), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_checker_sees_circles_hidden_in_functions_and_type_checking() -> None:
    files = {name: Path(name.replace(".", "/") + ".py") for name in ("db.a", "db.b", "db.c", "commands.x")}
    hidden = {
        "db.a": "def late():\n    from db.b import thing\n",
        "db.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from db.c import Other\n",
        "db.c": "from . import a\n",
        "commands.x": "import db.a\n",
    }
    graph = import_graph(files, hidden)
    assert graph == {"db.a": {"db.b"}, "db.b": {"db.c"}, "db.c": {"db.a"}, "commands.x": {"db.a"}}
    circle = find_circle(graph)
    assert circle is not None and set(circle) == {"db.a", "db.b", "db.c"}
    assert find_circle({**graph, "db.c": set()}) is None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(module_files(REPO))


def test_no_import_circles(graph: dict[str, set[str]]) -> None:
    assert graph["bot.cli.imports"] >= {"bot.cli.import_run", "db.sources"}  # the graph is really read
    assert find_circle(graph) is None


def test_commands_do_not_import_the_importers_or_the_sync(graph: dict[str, set[str]]) -> None:
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.startswith("commands")
        for target in targets
        if target.startswith(FORBIDDEN_FOR_COMMANDS)
    )
    assert offenders == []
