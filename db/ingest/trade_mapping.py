"""Column mappings for the generic monthly trade CSV importer (`tradewatch import trade-csv`).

A mapping is a YAML file (shipped ones live in db/ingest/lookups/mappings/, referred to by name) and/or
command-line options, which override the file. Format:

    source:                      # what answers cite
      key: china_customs_derived #   a registry key (db/sources), or a new key (then title and publisher are required)
      title: ...                 #   only for new keys
      publisher: ...
      url: ...
      notes: ...
      data_date: null            #   default: the last period in the file
    columns:                     # CSV header names
      period: period_dt          #   YYYY-MM-DD, YYYY-MM, YYYYMM or YYYY/MM (YYYY when freq is A)
      partner: partner_name      #   country name, ISO2/ISO3 or Comtrade code (resolved by db.lookups)
      hs_code: hs6               #   2/4/6 digits; 8/10-digit national lines roll up to HS-6
      value: val
      qty: qty                   #   optional
      weight: net_kg             #   optional, kilograms after weight_scale
      reporter: ...              #   optional: a column, or the constant `reporter` below
      flow: ...                  #   optional: a column (X/M, export/import), or the constant `flow`
    reporter: CN                 # constant reporter when there is no reporter column
    flow: X                      # constant flow when there is no flow column
    freq: M                      # M (monthly, the default) or A
    value_scale: 1               # multiply values by this to get US dollars (1000 for "thousand USD")
    weight_scale: 1              # multiply weights by this to get kilograms
    qty_unit: null               # the unit of the qty column, when the file says it
    qty_zero_is_missing: false   # a 0 quantity next to a positive value means "not reported"
    hs_zero_pad: false           # left-pad odd-length codes with a 0 (a lost leading zero: 10121 -> 010121)
    replace: false               # the file is the whole table for its reporters: drop rows it no longer has
    encoding: utf-8
    delimiter: ","
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from db.ingest.base import ImportFailed

MAPPINGS_DIR = Path(__file__).parent / "lookups" / "mappings"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceMapping(_Strict):
    key: str = Field(min_length=1, max_length=80)
    title: str | None = None
    publisher: str | None = None
    url: str | None = None
    notes: str | None = None
    data_date: str | None = None


class ColumnMapping(_Strict):
    period: str
    partner: str
    hs_code: str
    value: str
    qty: str | None = None
    weight: str | None = None
    reporter: str | None = None
    flow: str | None = None


class TradeCsvMapping(_Strict):
    """A validated column mapping."""

    source: SourceMapping
    columns: ColumnMapping
    reporter: str | None = None
    flow: str | None = None
    freq: Literal["M", "A"] = "M"
    value_scale: float = Field(default=1.0, gt=0)
    weight_scale: float = Field(default=1.0, gt=0)
    qty_unit: str | None = Field(default=None, max_length=20)
    qty_zero_is_missing: bool = False
    hs_zero_pad: bool = False
    replace: bool = False
    encoding: str = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _one_reporter_and_flow(self) -> TradeCsvMapping:
        for what in ("reporter", "flow"):
            column, constant = getattr(self.columns, what), getattr(self, what)
            if (column is None) == (constant is None):
                raise ValueError(
                    f"give the {what} either as a column (columns.{what}) or as a constant ({what}: ...), exactly one"
                )
        return self


# CLI option -> (section, key) in the mapping; None section = top level.
OVERRIDES: dict[str, tuple[str | None, str]] = {
    "period_col": ("columns", "period"),
    "partner_col": ("columns", "partner"),
    "hs_col": ("columns", "hs_code"),
    "value_col": ("columns", "value"),
    "qty_col": ("columns", "qty"),
    "weight_col": ("columns", "weight"),
    "reporter_col": ("columns", "reporter"),
    "flow_col": ("columns", "flow"),
    "reporter": (None, "reporter"),
    "flow": (None, "flow"),
    "freq": (None, "freq"),
    "value_scale": (None, "value_scale"),
    "weight_scale": (None, "weight_scale"),
    "qty_unit": (None, "qty_unit"),
    "replace": (None, "replace"),
    "source_key": ("source", "key"),
    "source_title": ("source", "title"),
    "publisher": ("source", "publisher"),
    "source_url": ("source", "url"),
    "data_date": ("source", "data_date"),
}


def mapping_path(name_or_path: str | Path) -> Path:
    """A mapping file: an existing path, or the name of a shipped mapping (`china_exports_hs6_monthly`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = MAPPINGS_DIR / f"{Path(str(name_or_path)).stem}.yml"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in MAPPINGS_DIR.glob("*.yml"))
    raise ImportFailed(
        f"no mapping file {str(name_or_path)!r}; shipped mappings: {', '.join(names) or 'none'}"
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"cannot read mapping {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ImportFailed(f"mapping {path.name} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ImportFailed(f"mapping {path.name}: expected keys such as source:, columns: at the top level")
    return data


def _describe(error: ValidationError, name: str) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "mapping"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (see the mapping format in db/ingest/trade_mapping.py)"
        elif item["type"] == "missing":
            message = "required"
        parts.append(f"{where}: {message}")
    return f"mapping {name}: " + "; ".join(parts)


def build_mapping(mapping: str | Path | None = None, **options: Any) -> TradeCsvMapping:
    """Load a mapping file (if given), apply command-line overrides, validate.

    Raises:
        ImportFailed: unknown option, unreadable or invalid mapping; the message names the key.
    """
    data: dict[str, Any] = {}
    name = "from the command line"
    if mapping:
        path = mapping_path(mapping)
        data, name = _read_yaml(path), path.name
    for option, value in options.items():
        if option not in OVERRIDES:
            raise ImportFailed(f"unknown option {option!r} for trade-csv; known: {', '.join(OVERRIDES)}")
        if value is None:
            continue
        section, key = OVERRIDES[option]
        target = data if section is None else data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ImportFailed(f"mapping {name}: {section} must be a table of keys")
        target[key] = value
    try:
        return TradeCsvMapping.model_validate(data)
    except ValidationError as exc:
        raise ImportFailed(_describe(exc, name)) from None
