"""Calculation bundles: every input of one calculation in a zip, readable without the database.

A bundle lets anyone (a verifier, an importer, the exporter's own auditor) recompute a result with
``cbamx recompute BUNDLE`` and compare the output digest with the one recorded. The format is
documented field by field in ``docs/calculation-bundle.md``; keep the two in step.

Floats are written with ``repr`` (the shortest text that reads back to the same double), so a
bundle round-trips exactly and gives the same inputs digest as the data it was written from.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, Final

import numpy as np

from workers.engine.calculation import (
    CALCULATION_METHODOLOGY_VERSION,
    Batches,
    CalculationInputError,
    CalculationInputs,
    CalculationParameters,
    ElectricityMeters,
    FuelMeters,
    Grid,
    GridFactor,
    Lines,
    Precursors,
    Products,
    SupplySources,
    inputs_digest,
    validate_inputs,
)

__all__ = ["BUNDLE_FORMAT", "BUNDLE_FORMAT_VERSION", "BundleError", "read_bundle", "write_bundle"]

BUNDLE_FORMAT: Final[str] = "cbamx-calculation-bundle"
BUNDLE_FORMAT_VERSION: Final[int] = 1
MISSING_STATUS: Final[int] = 2
MANIFEST: Final[str] = "manifest.json"
DATA_FILES: Final[tuple[str, ...]] = (
    "grid.json",
    "lines.csv",
    "meters.csv",
    "intervals.csv",
    "fuels.csv",
    "fuel_intervals.csv",
    "products.csv",
    "batches.csv",
    "precursors.csv",
    "supply.csv",
    "supply_intervals.csv",
)
_RESERVED: Final[frozenset[str]] = frozenset(
    {"format", "format_version", "methodology_version", "parameters", "files", "inputs_digest", "written_at"}
)
_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "lines.csv": ("id", "code"),
    "meters.csv": ("id", "code", "role", "line_id"),
    "intervals.csv": ("meter_id", "interval_start", "value", "status"),
    "fuels.csv": ("id", "code", "line_id", "ncv_tj_per_unit", "ef_tco2_per_tj", "oxidation_factor", "factor_ref"),
    "fuel_intervals.csv": ("fuel_id", "interval_start", "value", "status"),
    "products.csv": (
        "id",
        "code",
        "cn_code",
        "indirect_counts",
        "default_see_direct",
        "default_see_indirect",
        "default_ref",
    ),
    "batches.csv": ("id", "number", "line_id", "start", "end", "net_mass_t", "product_id"),
    "precursors.csv": ("batch_id", "mass_t", "see_direct", "see_indirect", "defaulted", "ref"),
    "supply.csv": (
        "id",
        "kind",
        "native_resolution_s",
        "actual_factor",
        "eligible",
        "tier",
        "dedicated_line_id",
        "factor_ref",
    ),
    "supply_intervals.csv": ("source_id", "interval_start", "value"),
}


class BundleError(ValueError):
    """A bundle that cannot be read: ``file`` names the member, the message says why."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


# ------------------------------------------------------------------------------------------ writing


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float) -> str:
    return "" if value != value else repr(float(value))


def _bool(value: Any) -> str:
    return "true" if bool(value) else "false"


def _csv(name: str, rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS[name])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _quote(text: str) -> str:
    """One CSV field, quoted only where it must be."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _interval_chunks(
    ids: Sequence[str], values: np.ndarray, status: np.ndarray | None, starts: list[str]
) -> Iterator[bytes]:
    """Long rows ``id, interval_start, value[, status]`` one meter at a time.

    A cell without value whose status is missing (or, without status, any cell without value)
    is left out: absent rows read back as exactly that.
    """
    for k, identifier in enumerate(ids):
        row = values[k]
        keep = ~np.isnan(row)
        if status is not None:
            keep |= status[k] != MISSING_STATUS
        where = np.flatnonzero(keep).tolist()
        texts = ["" if v != v else repr(v) for v in row[where].tolist()]
        name = _quote(identifier)
        if status is not None:
            codes = status[k][where].tolist()
            chunk = "".join([f"{name},{starts[t]},{v},{c}\n" for t, v, c in zip(where, texts, codes, strict=True)])
        else:
            chunk = "".join([f"{name},{starts[t]},{v}\n" for t, v in zip(where, texts, strict=True)])
        yield chunk.encode("utf-8")


def _runs(offsets: np.ndarray) -> list[list[int]]:
    """Run-length encoding ``[[offset_s, count], ...]``."""
    if offsets.size == 0:
        return []
    change = np.flatnonzero(np.diff(offsets)) + 1
    starts = np.concatenate([[0], change])
    counts = np.diff(np.concatenate([starts, [offsets.size]]))
    return [[int(offsets[s]), int(c)] for s, c in zip(starts.tolist(), counts.tolist(), strict=True)]


def _parameters_json(parameters: CalculationParameters) -> dict[str, Any]:
    data = asdict(parameters)
    data["only_batches"] = list(parameters.only_batches) if parameters.only_batches is not None else None
    return data


def _ref(ids: Sequence[str], index: int) -> str:
    return ids[index] if index >= 0 else ""


def write_bundle(
    path: str | Path,
    inputs: CalculationInputs,
    parameters: CalculationParameters,
    manifest_extra: dict[str, Any],
    *,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """Write a calculation bundle (zip) and return its manifest.

    Parameters
    ----------
    path : str or Path
        Zip file to create (overwritten).
    inputs, parameters
        What the calculation reads.
    manifest_extra : dict
        More manifest entries (JSON values), e.g. ``output_digest`` (the expected result digest),
        the run id, installation, who wrote it. Names of the format's own entries are refused.
    time_zone : str, optional
        The installation's time zone name, recorded in ``grid.json`` for people (the offsets rule).

    Returns
    -------
    dict
        The manifest written.

    Raises
    ------
    CalculationInputError
        Inputs that the engine would refuse (nothing is written).
    ValueError
        ``manifest_extra`` uses a reserved name.
    """
    clash = _RESERVED & set(manifest_extra)
    if clash:
        raise ValueError(f"manifest_extra may not set {sorted(clash)}: the bundle writes them")
    validate_inputs(inputs, parameters)
    g = inputs.grid
    n = g.n
    starts = [_iso(int(g.grid_start_s) + i * int(g.resolution_s)) for i in range(n)]
    lines = inputs.lines
    m = inputs.meters
    f = inputs.fuels
    q = inputs.products
    b = inputs.batches
    p = inputs.precursors
    s = inputs.supply
    files: dict[str, bytes] = {}
    grid_json = {
        "grid_start": _iso(int(g.grid_start_s)),
        "grid_start_s": int(g.grid_start_s),
        "resolution_s": int(g.resolution_s),
        "intervals": n,
        "time_zone": time_zone,
        "utc_offsets": _runs(np.asarray(g.utc_offsets_s)),
        "period_start": _iso(inputs.period_start_s),
        "period_start_s": int(inputs.period_start_s),
        "period_end": _iso(inputs.period_end_s),
        "period_end_s": int(inputs.period_end_s),
        "grid_factor": {"value_tco2_per_mwh": float(inputs.grid_factor.value), "ref": inputs.grid_factor.ref},
    }
    files["grid.json"] = (json.dumps(grid_json, indent=2) + "\n").encode("utf-8")
    files["lines.csv"] = _csv("lines.csv", zip(lines.ids, lines.codes, strict=True))
    files["meters.csv"] = _csv(
        "meters.csv",
        ((m.ids[k], m.codes[k], m.role[k], _ref(lines.ids, int(m.line[k]))) for k in range(len(m.ids))),
    )
    streams: dict[str, Iterable[bytes]] = {
        "intervals.csv": _interval_chunks(m.ids, m.energy_kwh, m.status, starts),
        "fuel_intervals.csv": _interval_chunks(f.ids, f.quantity, f.status, starts),
        "supply_intervals.csv": _interval_chunks(s.ids, s.energy_kwh, None, starts),
    }
    files["fuels.csv"] = _csv(
        "fuels.csv",
        (
            (
                f.ids[k],
                f.codes[k],
                _ref(lines.ids, int(f.line[k])),
                _num(f.ncv_tj_per_unit[k]),
                _num(f.ef_tco2_per_tj[k]),
                _num(f.oxidation_factor[k]),
                f.factor_refs[k],
            )
            for k in range(len(f.ids))
        ),
    )
    files["products.csv"] = _csv(
        "products.csv",
        (
            (
                q.ids[k],
                q.codes[k],
                q.cn_codes[k],
                _bool(q.indirect_counts[k]),
                _num(q.default_see_direct[k]),
                _num(q.default_see_indirect[k]),
                q.default_refs[k],
            )
            for k in range(len(q.ids))
        ),
    )
    files["batches.csv"] = _csv(
        "batches.csv",
        (
            (
                b.ids[k],
                b.numbers[k],
                _ref(lines.ids, int(b.line[k])),
                _iso(int(b.start_s[k])),
                _iso(int(b.end_s[k])),
                _num(b.net_mass_t[k]),
                q.ids[int(b.product[k])],
            )
            for k in range(len(b.ids))
        ),
    )
    files["precursors.csv"] = _csv(
        "precursors.csv",
        (
            (
                b.ids[int(p.batch[k])],
                _num(p.mass_t[k]),
                _num(p.see_direct[k]),
                _num(p.see_indirect[k]),
                _bool(p.defaulted[k]),
                p.refs[k],
            )
            for k in range(int(p.batch.shape[0]))
        ),
    )
    files["supply.csv"] = _csv(
        "supply.csv",
        (
            (
                s.ids[k],
                s.kinds[k],
                str(int(s.native_resolution_s[k])),
                _num(s.actual_factor[k]),
                _bool(s.eligible[k]),
                s.tiers[k],
                _ref(lines.ids, int(s.dedicated_line[k])),
                s.factor_refs[k],
            )
            for k in range(len(s.ids))
        ),
    )
    digests: dict[str, str] = {}
    # level 1: a plant-year of 15-minute data is a few hundred MB of text; speed matters more than size
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in DATA_FILES:
            hasher = hashlib.sha256()
            with archive.open(name, "w", force_zip64=True) as member:
                chunks = [files[name]] if name in files else chain([_csv(name, [])], streams[name])
                for chunk in chunks:
                    hasher.update(chunk)
                    member.write(chunk)
            digests[name] = hasher.hexdigest()
        manifest: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_FORMAT_VERSION,
            "methodology_version": CALCULATION_METHODOLOGY_VERSION,
            "parameters": _parameters_json(parameters),
            "inputs_digest": inputs_digest(inputs, parameters),
            "files": digests,
            **manifest_extra,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


# ------------------------------------------------------------------------------------------ reading


def _rows(name: str, data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(name, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in _COLUMNS[name] if c not in header]
    if missing:
        raise BundleError(name, f"lacks the column(s) {', '.join(missing)}")
    return list(reader)


def _float(name: str, row: int, column: str, text: str, *, allow_empty: bool = False) -> float:
    if text == "" and allow_empty:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise BundleError(name, f"row {row}: {column}={text!r} is not a number") from None


def _flag(name: str, row: int, column: str, text: str) -> bool:
    if text not in ("true", "false"):
        raise BundleError(name, f"row {row}: {column}={text!r} must be true or false")
    return text == "true"


def _seconds(name: str, row: int, column: str, text: str) -> int:
    if not (text.endswith("Z") or text.endswith("+00:00")):
        raise BundleError(name, f"row {row}: {column}={text!r} must be UTC (end with Z)")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BundleError(name, f"row {row}: {column}={text!r} is not an ISO 8601 time") from None
    return int(moment.timestamp())


def _lookup(name: str, row: int, column: str, index: dict[str, int], text: str, *, optional: bool = False) -> int:
    if text == "" and optional:
        return -1
    try:
        return index[text]
    except KeyError:
        raise BundleError(name, f"row {row}: {column}={text!r} names no known record") from None


def _unique_index(name: str, ids: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, value in enumerate(ids):
        if value in index:
            raise BundleError(name, f"row {i + 2}: id {value!r} appears twice")
        index[value] = i
    return index


INTERVAL_FILES: Final[frozenset[str]] = frozenset({"intervals.csv", "fuel_intervals.csv", "supply_intervals.csv"})


def _matrix(
    name: str,
    lines: Iterable[str],
    ids: dict[str, int],
    grid: Grid,
    *,
    with_status: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill an (ids x intervals) matrix from long rows; absent cells stay NaN with status missing.

    Rows are read one by one (a plant-year has millions); a row with quotes goes through the
    csv module, the others are split on commas.
    """
    columns = _COLUMNS[name]
    iterator = iter(lines)
    header_line = next(iterator, "")
    header = next(csv.reader([header_line]), [])
    missing = [c for c in columns if c not in header]
    if missing:
        raise BundleError(name, f"lacks the column(s) {', '.join(missing)}")
    position = [header.index(c) for c in columns]
    width = len(header)
    n = grid.n
    start = int(grid.grid_start_s)
    res = int(grid.resolution_s)
    slot = {_iso(start + i * res): i for i in range(n)}
    cells = array("q")
    values = array("d")
    codes = array("B")
    nan = float("nan")
    for r, line in enumerate(iterator, start=2):
        text = line.rstrip("\r\n")
        if not text:
            continue
        parts = text.split(",") if '"' not in text else next(csv.reader([text]))
        if len(parts) != width:
            raise BundleError(name, f"row {r}: {len(parts)} fields where the header has {width}")
        identifier, moment, value = parts[position[0]], parts[position[1]], parts[position[2]]
        k = ids.get(identifier)
        if k is None:
            raise BundleError(name, f"row {r}: {columns[0]}={identifier!r} names no known record")
        t = slot.get(moment)
        if t is None:
            seconds = _seconds(name, r, "interval_start", moment)
            offset = seconds - start
            if offset % res or not 0 <= offset // res < n:
                raise BundleError(name, f"row {r}: interval_start={moment!r} is not an interval start of the grid")
            t = offset // res
        cells.append(k * n + t)
        if value == "":
            values.append(nan)
        else:
            try:
                values.append(float(value))
            except ValueError:
                raise BundleError(name, f"row {r}: {columns[2]}={value!r} is not a number") from None
        if with_status:
            code = parts[position[3]]
            if code not in ("0", "1", "2", "3"):
                raise BundleError(name, f"row {r}: status={code!r} must be 0, 1, 2 or 3")
            codes.append(int(code))
    flat = np.frombuffer(cells, dtype=np.int64) if len(cells) else np.zeros(0, dtype=np.int64)
    counts = np.bincount(flat, minlength=len(ids) * n) if flat.size else np.zeros(0, dtype=np.int64)
    if counts.size and counts.max() > 1:
        cell = int(np.flatnonzero(counts > 1)[0])
        who = next(i for i, k in ids.items() if k == cell // n)
        raise BundleError(name, f"two values for {who!r} at {_iso(start + (cell % n) * res)}")
    matrix = np.full(len(ids) * n, np.nan)
    status = np.full(len(ids) * n, MISSING_STATUS, dtype=np.uint8)
    if flat.size:
        matrix[flat] = np.frombuffer(values, dtype=np.float64)
        if with_status:
            status[flat] = np.frombuffer(codes, dtype=np.uint8)
    return matrix.reshape(len(ids), n), status.reshape(len(ids), n)


def _text_lines(archive: zipfile.ZipFile, name: str) -> Iterator[str]:
    with archive.open(name) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        try:
            yield from text
        except UnicodeDecodeError as exc:
            raise BundleError(name, f"is not UTF-8 text ({exc.reason})") from exc


def read_bundle(path: str | Path) -> tuple[CalculationInputs, CalculationParameters, dict[str, Any]]:
    """Read a calculation bundle written by :func:`write_bundle` (or by hand, see the docs).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    inputs : CalculationInputs
    parameters : CalculationParameters
    manifest : dict

    Raises
    ------
    BundleError
        Not a zip, a file missing, a file whose SHA-256 differs from the manifest's, or content
        that cannot be read; ``file`` names the member.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(str(path), f"is not a readable zip file ({exc})") from exc
    with archive:
        names = set(archive.namelist())
        if MANIFEST not in names:
            raise BundleError(MANIFEST, "is missing from the bundle")
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except json.JSONDecodeError as exc:
            raise BundleError(MANIFEST, f"is not JSON ({exc.msg} at line {exc.lineno})") from exc
        if manifest.get("format") != BUNDLE_FORMAT or manifest.get("format_version") != BUNDLE_FORMAT_VERSION:
            raise BundleError(
                MANIFEST,
                f"format {manifest.get('format')!r} version {manifest.get('format_version')!r} is not "
                f"{BUNDLE_FORMAT!r} version {BUNDLE_FORMAT_VERSION}",
            )
        recorded = manifest.get("files")
        if not isinstance(recorded, dict):
            raise BundleError(MANIFEST, "has no 'files' table of SHA-256 digests")
        data: dict[str, bytes] = {}
        for name in DATA_FILES:
            if name not in names:
                raise BundleError(name, "is missing from the bundle")
            hasher = hashlib.sha256()
            kept = bytearray()
            with archive.open(name) as member:
                while chunk := member.read(1 << 20):
                    hasher.update(chunk)
                    if name not in INTERVAL_FILES:
                        kept += chunk
            expected = recorded.get(name)
            actual = hasher.hexdigest()
            if expected != actual:
                raise BundleError(
                    name, f"SHA-256 {actual} differs from the manifest's {expected}: the file was changed"
                )
            data[name] = bytes(kept)
        inputs, parameters = _parse(data, manifest, lambda name: _text_lines(archive, name))
    return inputs, parameters, manifest


def _parse(
    data: dict[str, bytes], manifest: dict[str, Any], stream: Callable[[str], Iterable[str]]
) -> tuple[CalculationInputs, CalculationParameters]:
    try:
        grid_json = json.loads(data["grid.json"])
        runs = grid_json["utc_offsets"]
        offsets = (
            np.concatenate([np.full(int(c), int(o), dtype=np.int64) for o, c in runs])
            if runs
            else np.zeros(0, dtype=np.int64)
        )
        grid = Grid(int(grid_json["grid_start_s"]), int(grid_json["resolution_s"]), offsets)
        if grid.n != int(grid_json["intervals"]):
            raise BundleError("grid.json", f"utc_offsets cover {grid.n} intervals, not {grid_json['intervals']}")
        grid_factor = GridFactor(float(grid_json["grid_factor"]["value_tco2_per_mwh"]), grid_json["grid_factor"]["ref"])
        period = (int(grid_json["period_start_s"]), int(grid_json["period_end_s"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError("grid.json", f"cannot be read ({type(exc).__name__}: {exc})") from exc

    line_rows = _rows("lines.csv", data["lines.csv"])
    line_index = _unique_index("lines.csv", [r["id"] for r in line_rows])
    lines = Lines(tuple(r["id"] for r in line_rows), tuple(r["code"] for r in line_rows))

    name = "meters.csv"
    meter_rows = _rows(name, data[name])
    meter_index = _unique_index(name, [r["id"] for r in meter_rows])
    energy, status = _matrix("intervals.csv", stream("intervals.csv"), meter_index, grid, with_status=True)
    meters = ElectricityMeters(
        ids=tuple(r["id"] for r in meter_rows),
        codes=tuple(r["code"] for r in meter_rows),
        role=tuple(r["role"] for r in meter_rows),
        line=np.array(
            [
                _lookup(name, i + 2, "line_id", line_index, r["line_id"], optional=True)
                for i, r in enumerate(meter_rows)
            ],
            dtype=np.int64,
        ),
        energy_kwh=energy,
        status=status,
    )

    name = "fuels.csv"
    fuel_rows = _rows(name, data[name])
    fuel_index = _unique_index(name, [r["id"] for r in fuel_rows])
    quantity, fuel_status = _matrix(
        "fuel_intervals.csv", stream("fuel_intervals.csv"), fuel_index, grid, with_status=True
    )

    def column(rows: list[dict[str, str]], file: str, key: str, *, allow_empty: bool = False) -> np.ndarray:
        return np.array(
            [_float(file, i + 2, key, r[key], allow_empty=allow_empty) for i, r in enumerate(rows)], dtype=np.float64
        )

    fuels = FuelMeters(
        ids=tuple(r["id"] for r in fuel_rows),
        codes=tuple(r["code"] for r in fuel_rows),
        line=np.array(
            [_lookup(name, i + 2, "line_id", line_index, r["line_id"], optional=True) for i, r in enumerate(fuel_rows)],
            dtype=np.int64,
        ),
        quantity=quantity,
        status=fuel_status,
        ncv_tj_per_unit=column(fuel_rows, name, "ncv_tj_per_unit"),
        ef_tco2_per_tj=column(fuel_rows, name, "ef_tco2_per_tj"),
        oxidation_factor=column(fuel_rows, name, "oxidation_factor"),
        factor_refs=tuple(r["factor_ref"] for r in fuel_rows),
    )

    name = "products.csv"
    product_rows = _rows(name, data[name])
    product_index = _unique_index(name, [r["id"] for r in product_rows])
    products = Products(
        ids=tuple(r["id"] for r in product_rows),
        codes=tuple(r["code"] for r in product_rows),
        cn_codes=tuple(r["cn_code"] for r in product_rows),
        indirect_counts=np.array(
            [_flag(name, i + 2, "indirect_counts", r["indirect_counts"]) for i, r in enumerate(product_rows)],
            dtype=bool,
        ),
        default_see_direct=column(product_rows, name, "default_see_direct", allow_empty=True),
        default_see_indirect=column(product_rows, name, "default_see_indirect", allow_empty=True),
        default_refs=tuple(r["default_ref"] for r in product_rows),
    )

    name = "batches.csv"
    batch_rows = _rows(name, data[name])
    batch_index = _unique_index(name, [r["id"] for r in batch_rows])
    batches = Batches(
        ids=tuple(r["id"] for r in batch_rows),
        numbers=tuple(r["number"] for r in batch_rows),
        line=np.array(
            [
                _lookup(name, i + 2, "line_id", line_index, r["line_id"], optional=True)
                for i, r in enumerate(batch_rows)
            ],
            dtype=np.int64,
        ),
        start_s=np.array([_seconds(name, i + 2, "start", r["start"]) for i, r in enumerate(batch_rows)], np.int64),
        end_s=np.array([_seconds(name, i + 2, "end", r["end"]) for i, r in enumerate(batch_rows)], np.int64),
        net_mass_t=column(batch_rows, name, "net_mass_t"),
        product=np.array(
            [_lookup(name, i + 2, "product_id", product_index, r["product_id"]) for i, r in enumerate(batch_rows)],
            dtype=np.int64,
        ),
    )

    name = "precursors.csv"
    precursor_rows = _rows(name, data[name])
    precursors = Precursors(
        batch=np.array(
            [_lookup(name, i + 2, "batch_id", batch_index, r["batch_id"]) for i, r in enumerate(precursor_rows)],
            dtype=np.int64,
        ),
        mass_t=column(precursor_rows, name, "mass_t"),
        see_direct=column(precursor_rows, name, "see_direct"),
        see_indirect=column(precursor_rows, name, "see_indirect"),
        defaulted=np.array(
            [_flag(name, i + 2, "defaulted", r["defaulted"]) for i, r in enumerate(precursor_rows)], dtype=bool
        ),
        refs=tuple(r["ref"] for r in precursor_rows),
    )

    name = "supply.csv"
    supply_rows = _rows(name, data[name])
    supply_index = _unique_index(name, [r["id"] for r in supply_rows])
    supply_kwh, _ = _matrix(
        "supply_intervals.csv", stream("supply_intervals.csv"), supply_index, grid, with_status=False
    )
    native = []
    for i, r in enumerate(supply_rows):
        text = r["native_resolution_s"]
        if not text.isdigit():
            raise BundleError(name, f"row {i + 2}: native_resolution_s={text!r} must be whole seconds")
        native.append(int(text))
    supply = SupplySources(
        ids=tuple(r["id"] for r in supply_rows),
        kinds=tuple(r["kind"] for r in supply_rows),
        energy_kwh=supply_kwh,
        native_resolution_s=np.array(native, dtype=np.int64),
        actual_factor=column(supply_rows, name, "actual_factor"),
        eligible=np.array([_flag(name, i + 2, "eligible", r["eligible"]) for i, r in enumerate(supply_rows)], bool),
        tiers=tuple(r["tier"] for r in supply_rows),
        dedicated_line=np.array(
            [
                _lookup(name, i + 2, "dedicated_line_id", line_index, r["dedicated_line_id"], optional=True)
                for i, r in enumerate(supply_rows)
            ],
            dtype=np.int64,
        ),
        factor_refs=tuple(r["factor_ref"] for r in supply_rows),
    )

    inputs = CalculationInputs(
        grid=grid,
        meters=meters,
        fuels=fuels,
        lines=lines,
        batches=batches,
        precursors=precursors,
        products=products,
        supply=supply,
        grid_factor=grid_factor,
        period_start_s=period[0],
        period_end_s=period[1],
    )
    raw = manifest.get("parameters")
    if not isinstance(raw, dict):
        raise BundleError(MANIFEST, "has no 'parameters' object")
    try:
        only = raw.get("only_batches")
        parameters = CalculationParameters(
            matching_resolution=str(raw["matching_resolution"]),
            certificate_price_eur_per_t=float(raw["certificate_price_eur_per_t"]),
            methodology_version=str(raw["methodology_version"]),
            only_batches=tuple(str(x) for x in only) if only is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(MANIFEST, f"parameters cannot be read ({type(exc).__name__}: {exc})") from exc
    try:
        validate_inputs(inputs, parameters)
    except CalculationInputError as exc:
        raise BundleError("bundle", f"the inputs are not valid: {exc.message}") from exc
    return inputs, parameters
