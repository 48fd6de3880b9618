"""UN Comtrade API v1 records -> Flows: the record shape and the normalisation rules (see db.ingest.comtrade
for what is kept and what is skipped, and why).

Pure functions of the decoded records, used by the file importer (db.ingest.comtrade).
"""

from __future__ import annotations

from typing import Any, cast

import msgspec

from db.ingest.base import ImportFailed, IngestReport, progress
from db.ingest.trade_rows import TOTAL, FlowSet
from db.ingest.trade_write import Flow

UNSET = msgspec.UNSET
REQUIRED = ("freqCode", "period", "reporterCode", "partnerCode", "flowCode", "cmdCode", "primaryValue")
RE_FLOWS = {
    "RX": "re-exports (RX): already included in exports (X)",
    "RM": "re-imports (RM): already included in imports (M)",
}
BREAKDOWN = "breakdown by second partner, customs procedure or transport mode (only totals are kept)"


class Record(msgspec.Struct, gc=False):
    """The fields of a v1 record that matter here (the other ~30 are skipped while decoding, unparsed).

    Every field is `Any` so that `normalise` checks the types itself and says which field of which record is
    wrong; a required field absent from the record stays UNSET. `gc=False`: decoded JSON holds no reference
    cycles, so the garbage collector need not track (and re-scan) hundreds of thousands of records.

    The fields are declared in the order the API sends them: msgspec looks a key up starting after the
    field found last, so each one is found at the first try (a few % of the decoding time).
    """

    typeCode: Any = "C"
    freqCode: Any = msgspec.UNSET
    period: Any = msgspec.UNSET
    reporterCode: Any = msgspec.UNSET
    flowCode: Any = msgspec.UNSET
    partnerCode: Any = msgspec.UNSET
    partner2Code: Any = None
    classificationCode: Any = None
    cmdCode: Any = msgspec.UNSET
    customsCode: Any = None
    motCode: Any = None
    qtyUnitCode: Any = None
    qtyUnitAbbr: Any = None
    qty: Any = None
    netWgt: Any = None
    primaryValue: Any = msgspec.UNSET


class Response(msgspec.Struct):
    """A v1 response body (or our saved file of several): the records and what it says about itself."""

    data: list[Record]
    count: Any = None
    error: Any = None
    url: Any = None
    endpoint: Any = None
    request: Any = None
    queries: Any = None


class RecordError(ValueError):
    """One record is malformed; `parse` adds the file and record index and raises ImportFailed."""


def _int(value: Any, key: str) -> int:
    if type(value) is not int:  # fast path first: the API sends JSON integers
        if isinstance(value, bool) or not isinstance(value, str) or not value.strip().lstrip("-").isdigit():
            raise RecordError(f"{key} {value!r} is not a whole number")
        value = int(value)
    number: int = value
    if not 0 <= number <= 32767:
        raise RecordError(f"{key} {value!r} is not a UN Comtrade area code")
    return number


def _number(value: Any, key: str) -> float | None:
    if isinstance(value, float):
        if value - value != 0:  # inf or nan
            raise RecordError(f"{key} {value!r} is not a finite number")
        return value
    if type(value) is int:  # not bool
        return float(value)
    if value is None or value == "":
        return None
    raise RecordError(f"{key} {value!r} is not a number")


def parse_period(value: Any, freq: str) -> int:
    """Comtrade's period ("2022" annual, "202203" monthly) as the stored integer (202200, 202203)."""
    text = value.strip() if type(value) is str else str(value)
    if freq == "M" and len(text) == 6 and text.isdigit() and 1 <= int(text[4:]) <= 12:
        return int(text)
    if freq == "A" and len(text) == 4 and text.isdigit():
        return int(text) * 100
    raise RecordError(f"period {value!r} does not fit frequency {freq!r} (YYYY for A, YYYYMM for M)")


def _code_level(cmd: str) -> tuple[str, int] | None:
    if cmd == TOTAL:
        return TOTAL, 0
    if cmd.isdigit() and len(cmd) in (2, 4, 6):
        return cmd, len(cmd)
    return None


def _scope_reason(
    type_code: Any, classification: Any, flow: str, partner2: Any, customs: Any, mot: Any
) -> str | None:
    """Why records of this kind (goods or services, classification, flow, breakdown) are not stored."""
    if type_code != "C":
        return f"trade in services (typeCode {type_code}): only goods are stored"
    classification = classification or "H"
    if not str(classification).startswith("H"):
        return f"classification {classification} is not HS"
    if flow != "X" and flow != "M":
        return RE_FLOWS.get(flow) or f"flow {flow}: only total exports (X) and imports (M) are stored"
    if partner2 not in TOTAL_PARTNER2 or customs not in TOTAL_CUSTOMS or mot not in TOTAL_MOT:
        return BREAKDOWN
    return None


TOTAL_PARTNER2 = (0, None)
TOTAL_CUSTOMS = ("C00", None)
TOTAL_MOT = (0, None)
NOT_CACHED = ("", -1)  # a value no code maps to, of the cache's own type

# What a record's kind decides: its stored period and freq, its flow code, and why records of this kind are
# not stored (None: they are). The kind is its freq, period, type, classification, flow and breakdown codes.
Kind = tuple[int, str, str, str | None]


def _missing(rec: Record) -> None:
    """Raise if a required field is absent (checked before any other rule, as the first error to report)."""
    absent = [k for k in REQUIRED if getattr(rec, k) is UNSET]
    if absent:
        raise RecordError(f"missing field(s) {', '.join(absent)}")


def _kind(rec: Record) -> Kind:
    _missing(rec)
    freq = rec.freqCode
    if freq != "M" and freq != "A":
        raise RecordError(f"freqCode {freq!r} is not A or M")
    period, flow = parse_period(rec.period, freq), str(rec.flowCode)
    reason = _scope_reason(
        rec.typeCode, rec.classificationCode, flow, rec.partner2Code, rec.customsCode, rec.motCode
    )
    return period, freq, flow, reason


def _area(rec: Record, key: str) -> int:
    _missing(rec)
    return _int(getattr(rec, key), key)


def _amount(rec: Record, key: str) -> float | None:
    _missing(rec)
    return _number(getattr(rec, key), key)


class Normaliser:
    """API records -> Flows, or None (counted in `report` with the reason); `parse` calls it per record.

    A response of 250,000 records holds a few dozen periods, a few thousand commodity codes and a handful of
    record kinds (type, classification, flow and breakdown codes), so what depends on those alone is worked
    out once per distinct value and looked up after: one lookup for the kind, one for the code. Only string
    values are cached where the result could differ between values Python considers equal (202201 ==
    202201.0, but only the int is a valid period; True == 1, but the messages differ); anything else is
    worked out every time, exactly as for the first occurrence. The common case (JSON integers, finite
    numbers) is checked inline; anything else goes to the helpers that name the wrong field.
    """

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        self.kinds: dict[tuple[Any, ...], Kind] = {}
        self.codes: dict[str, tuple[str, int] | None] = {}

    def kind(self, rec: Record, key: tuple[Any, ...] | None) -> Kind:
        kind = _kind(rec)
        if (
            key is not None
            and type(key[0]) is str  # freqCode
            and type(key[1]) is str  # period
            and type(key[2]) is str  # typeCode
            and type(key[4]) is str  # flowCode
            and (key[3] is None or type(key[3]) is str)  # classificationCode
        ):
            self.kinds[key] = kind
        return kind

    def code(self, rec: Record) -> tuple[str, int] | None:
        cmd = rec.cmdCode
        if type(cmd) is not str:
            _missing(rec)
            return _code_level(str(cmd).strip())
        found = self.codes[cmd] = _code_level(cmd.strip())
        return found

    def __call__(self, rec: Record) -> Flow | None:
        """One API record -> a Flow, or None (counted in the report with the reason).

        Raises:
            RecordError: a required field is missing or has the wrong type.
        """
        key = (
            rec.freqCode,
            rec.period,
            rec.typeCode,
            rec.classificationCode,
            rec.flowCode,
            rec.partner2Code,
            rec.customsCode,
            rec.motCode,
        )
        try:
            kind = self.kinds[key]
        except KeyError:
            kind = self.kind(rec, key)
        except TypeError:  # a list or object where a code belongs: not hashable, never cached
            kind = self.kind(rec, None)
        period, freq, flow, reason = kind
        reporter, partner, value = rec.reporterCode, rec.partnerCode, rec.primaryValue
        if type(reporter) is not int or not 0 <= reporter <= 32767:
            reporter = _area(rec, "reporterCode")
        if type(partner) is not int or not 0 <= partner <= 32767:
            partner = _area(rec, "partnerCode")
        if type(value) is not float or value - value != 0:  # finite JSON floats pass; inf - inf is nan
            value = _amount(rec, "primaryValue")
        cmd = rec.cmdCode
        code = self.codes.get(cmd, NOT_CACHED) if type(cmd) is str else NOT_CACHED
        if code is NOT_CACHED:
            code = self.code(rec)
        if reason is None:
            if partner == 0:
                reason = "partner World (0): the sum of all partners"
            elif code is None:
                reason = f"commodity code {cmd!r} is not an HS code or TOTAL"
            elif value is None:  # null or ""
                reason = "no trade value (primaryValue empty)"
        if reason:
            self.report.skip(reason)
            return None
        assert code is not None  # a missing code always gave a reason above
        if value is not None and value < 0:
            raise RecordError(f"primaryValue {value} is negative")
        net, qty = rec.netWgt, rec.qty
        if type(net) is not float or net - net != 0:
            net = _number(net, "netWgt")
        if type(qty) is not float or qty - qty != 0:
            qty = _number(qty, "qty")
        unit = rec.qtyUnitAbbr
        if not qty or rec.qtyUnitCode in (-1, None) or unit in (None, "", "N/A"):
            qty, unit = None, None
        hs_code, level = code
        # A plain tuple in Flow's field order, not a Flow: the garbage collector stops tracking a tuple of plain
        # values, never a namedtuple, and 250,000 tracked flows made its passes a quarter of an import's time.
        return cast(
            Flow, (reporter, partner, flow, hs_code, period, freq, level, value, net or None, qty, unit)
        )


def normalise(rec: Record, report: IngestReport) -> Flow | None:
    """One API record -> a Flow, or None (counted in `report` with the reason); see `Normaliser`."""
    return Normaliser(report)(rec)


def normalise_all(records: list[Record], name: str, report: IngestReport) -> FlowSet:
    flows, normalise_one = FlowSet(), Normaliser(report)
    rows = flows.rows
    with progress(len(records), f"reading {name}") as bar:
        for i, rec in enumerate(records):
            try:
                flow = normalise_one(rec)
            except RecordError as exc:
                raise ImportFailed(f"{name} data[{i}]: {exc}") from None
            if flow is not None and rows.setdefault(flow[:6], flow) is not flow:  # a key seen before
                flows.add(flow, where=f"{name} data[{i}]", report=report)
            if i % 10_000 == 9_999:
                bar.update(10_000)
    return flows
