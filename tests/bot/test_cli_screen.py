"""`tradewatch screen`: a sheet in, the results CSV out, a progress bar, and plain errors with exit code 2."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from tests.bot.test_cli_import_trade import REPO, tradewatch


async def test_screen_a_sheet_from_the_command_line(tmp_path: Path) -> None:
    code, _, err = await tradewatch(tmp_path, "import", "curated", str(REPO / "db" / "curated"))
    assert code == 0, err
    sheet = tmp_path / "suppliers.xlsx"
    pd.DataFrame(
        {
            "Supplier": ["Poly Technologies", "Acme Widgets", "World Jetta (H.K.) Logistics"],
            "Land": ["CN", "", ""],
        }
    ).to_excel(sheet, index=False)
    out = tmp_path / "out" / "results.csv"
    code, stdout, err = await tradewatch(
        tmp_path,
        "screen",
        str(sheet),
        "--name-column",
        "supplier",
        "--country-column",
        "Land",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "screening" in err and "3/3" in err  # tqdm's bar on stderr
    assert "3 rows screened by the column 'Supplier'" in stdout and f"wrote {out}" in stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["Supplier"], r["verdict"]) for r in rows] == [
        ("Poly Technologies", "match"),
        ("Acme Widgets", "none"),
        ("World Jetta (H.K.) Logistics", "match"),
    ]
    assert rows[0]["list"] == "SDN List [curated, cited]" and "country CN agrees" in rows[0]["explanation"]

    code, _, err = await tradewatch(tmp_path, "screen", str(sheet), "--out", str(out), "--no-progress")
    assert code == 2 and "error: There is no column 'name' of names to screen." in err
    assert "'Supplier', 'Land'" in err and "--name-column" in err and "Traceback" not in err
    code, _, err = await tradewatch(tmp_path, "screen", str(sheet), "--out", str(sheet / "results.csv"))
    assert code == 2 and f"error: cannot write the results to {sheet / 'results.csv'}" in err
    assert "Choose another --out" in err and "Traceback" not in err and "database" not in err
    text = tmp_path / "notes.txt"
    text.write_bytes(b"\x00\x01binary")
    code, _, err = await tradewatch(tmp_path, "screen", str(text), "--out", str(out))
    assert code == 2 and "is not a table I can read: it is a binary file" in err
