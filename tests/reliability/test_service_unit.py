"""deploy/tradewatch.service: systemd restarts serve after any exit it did not ask for, except a config error."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.serve import EXIT_CONFIG

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "tradewatch.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT, encoding="utf-8")
    return parser


def test_the_unit_restarts_serve_after_any_crash_but_not_after_a_config_error() -> None:
    service = unit()["Service"]
    assert "/tradewatch serve" in service["ExecStart"]
    assert service["Restart"] == "always" and float(service["RestartSec"]) <= 10
    assert service["RestartPreventExitStatus"].split() == [str(EXIT_CONFIG)]
    assert unit()["Unit"]["StartLimitIntervalSec"] == "0"  # never stops retrying
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) <= 60
    # Secrets come from the environment file, never from the unit itself (world-readable).
    settings = [line for line in UNIT.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert service["EnvironmentFile"] and not [line for line in settings if "TOKEN" in line or "KEY" in line]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit() -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, timeout=60, check=False
    )
    # The only complaint allowed is the install path, which does not exist on a test machine.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "/opt/tradewatch" not in line
    ]
    assert not problems, problems
