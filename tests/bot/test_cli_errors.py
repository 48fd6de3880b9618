"""The command line with a database it cannot use: one line saying what is wrong, never a traceback.

PostgreSQL down (nothing listens on the port) for `tradewatch ask` and `tradewatch import`; a SQLite path whose
folder does not exist for `ask` (nothing is created there). Run as the real entry point, in a subprocess.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again on return: nothing listens there


def tradewatch(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TRADEWATCH_DATABASE_URL": url, "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "args",
    [
        ("ask", "/entity poly technologies"),
        ("import", "ofac", str(SHARED / "ofac" / "nonsdn_consolidated_2025-04")),
    ],
    ids=["ask", "import"],
)
def test_an_unreachable_postgresql_is_one_line(args: tuple[str, ...], tmp_path: Path) -> None:
    url = f"postgresql://tw:s3cret-pw@127.0.0.1:{closed_port()}/tradewatch"
    done = tradewatch(url, *args, cwd=tmp_path)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: cannot reach the database postgresql://tw:***@127.0.0.1:")
    assert "s3cret-pw" not in lines[0] and "Traceback" not in lines[0]


def test_a_sqlite_path_in_a_missing_folder_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "tradewatch.sqlite3"
    done = tradewatch(f"sqlite:///{target}", "ask", "/entity poly technologies", cwd=tmp_path)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, lines
    assert f"no database at {target}" in lines[0]
    assert not target.parent.exists()
