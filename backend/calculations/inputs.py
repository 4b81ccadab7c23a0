"""Everything a calculation reads, loaded from the database into the engine's inputs.

:func:`load_inputs` builds :class:`workers.engine.calculation.CalculationInputs` for one installation
and period, and a manifest naming a content hash of every input (interval data per meter, batches
with their precursors, contracts, settlement data, factor versions), so that a run can say exactly
what it was computed from:

- electricity meters (main, sub, generation, export; not check meters or virtual meters) with the
  line each serves, and their stored intervals on the installation's grid;
- fuel meters (natural gas) with NCV, EF and oxidation factor from the factor library (a missing
  factor fails with FACTOR_MISSING naming kind, subject and date); a meter with fuel sub-meters
  contributes what its sub-meters do not measure;
- the installation's lines; the batches overlapping the period with their precursors (a precursor
  without embedded emissions gets the factor library's default for its CN code, marked defaulted);
- the products those batches make, with whether indirect emissions count (the goods list) and
  their default values;
- supply sources from the PPA, direct-link and own-generation contracts active in the period: a
  PPA's settlement intervals from the developer's tenant through the contract grant, or its
  generator meter on site; a direct link or own generation from its generator meter; whether the
  definitive-period conditions are met from :func:`backend.supply.service.actual_factor_conditions`;
- the country's grid default factor for the installation's country.

UTC offsets per interval come from the installation's time zone (zoneinfo); the engine reads none.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calculations import repository
from backend.calculations.errors import CalculationFailed
from backend.developers.connections import connection_of_contract, effective_status
from backend.developers.models import ConnectionStatus
from backend.developers.reads import read_generator_data, read_period_intervals
from backend.developers.schemas import IntervalColumns
from backend.errors import DomainError
from backend.factors.errors import FactorMissing, FactorOutOfScope
from backend.factors.schemas import Selection
from backend.factors.service import (
    fuel_density,
    fuel_factors,
    goods_default,
    grid_default,
    own_generation_factor_for,
)
from backend.identity.principal import Principal
from backend.installations.models import Installation, ProductionLine
from backend.metering.arrays import IntervalMatrix, day_of, day_start_s
from backend.metering.models import Medium, Meter, MeterRole
from backend.metering.reports import interval_matrix
from backend.metering.service import data_points_of
from backend.offload import off_loop
from backend.production.goods import check_cn_code
from backend.production.models import Product
from backend.services import Services
from backend.supply.models import ContractDeliveryPoint, ContractKind, PlantTechnology, SupplyContract
from backend.supply.service import actual_factor_conditions
from workers.engine.calculation import (
    Batches,
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
)

ELECTRICITY_ROLES = {MeterRole.MAIN: "main", MeterRole.SUB: "sub", MeterRole.GENERATION: "generation"}
ELECTRICITY_ROLES[MeterRole.EXPORT] = "export"
# the fuel a meter's medium carries, as the factor library names it
FUEL_OF_MEDIUM = {Medium.NATURAL_GAS: "natural_gas"}
# a gas meter measures volume; [IR2547] gives NCVs per tonne only, so volume is converted with a density.
# Pure methane at 0 degC and 101.325 kPa: an assumption stated in every run's warnings, which a run's
# parameters replace with the supplier's figure (``fuel_density_t_per_m3``).
ASSUMED_DENSITY_T_PER_M3 = {"natural_gas": 0.000717}
MASS_TO_T = {"t": 1.0, "kg": 0.001}
VOLUME_UNITS = frozenset({"m3", "Nm3"})
ZERO_EMISSION_TECHNOLOGIES = frozenset(
    {
        PlantTechnology.SOLAR_PV,
        PlantTechnology.WIND_ONSHORE,
        PlantTechnology.WIND_OFFSHORE,
        PlantTechnology.HYDRO_RUN_OF_RIVER,
        PlantTechnology.HYDRO_RESERVOIR,
    }
)
SUPPLY_KINDS = {
    ContractKind.PPA: "ppa",
    ContractKind.DIRECT_LINK: "direct_link",
    ContractKind.OWN_GENERATION: "own_generation",
}
# evidence tiers of a supply source's matched volume, strongest first
TIER_HOURLY = "eligible_hourly"  # conditions met, data in periods of at most one hour
TIER_COARSE = "eligible_coarse"  # conditions met, data coarser than an hour
TIER_NOT_ELIGIBLE = "conditions_not_met"  # matched, but the grid default applies


@dataclass(frozen=True, slots=True)
class LoadedInputs:
    """The engine's inputs, the manifest of what they were built from, and what the loader noticed."""

    inputs: CalculationInputs
    parameters: CalculationParameters
    manifest: dict[str, Any]
    inputs_digest: str
    warnings: list[dict[str, str]] = field(default_factory=list)
    # ids the results refer to: batch id -> (product id, line id or None)
    batch_products: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def _sha256(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def _array_digest(*arrays: NDArray[Any]) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        data = np.ascontiguousarray(array).tobytes()
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def _meter_digests(matrix: IntervalMatrix) -> dict[str, str]:
    return {
        str(meter_id): _array_digest(matrix.energy_kwh[row], matrix.status[row])
        for row, meter_id in enumerate(matrix.meter_ids)
    }


def factor_ref(selection: Selection) -> str:
    """How a figure names the factor version it used: kind, subject, version and id."""
    f = selection.factor
    return f"{f.kind.value}:{f.subject}:v{f.version}:{f.id}"


def _factor_entry(selection: Selection) -> dict[str, Any]:
    f = selection.factor
    return {
        "ref": factor_ref(selection),
        "id": str(f.id),
        "kind": f.kind.value,
        "subject": f.subject,
        "version": f.version,
        "value": str(f.value),
        "unit": f.unit,
        "valid_from": f.valid_from.isoformat(),
        "source": f.provenance.document,
        "rule": selection.rule,
        "fallback": selection.fallback,
    }


def _offset_s(zone: ZoneInfo, ts_s: int) -> int:
    offset = datetime.fromtimestamp(ts_s, tz=UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def utc_offsets(zone: ZoneInfo, grid_start_s: int, resolution_s: int, n: int) -> NDArray[np.int64]:
    """The local offset (local minus UTC, seconds) at each interval start.

    Clock changes happen on whole UTC hours in the zones the product serves, so the offset is looked
    up once per hour; a zone with a fractional offset is looked up at every interval.
    """
    step = 3600 if resolution_s < 3600 and 3600 % resolution_s == 0 else resolution_s
    per = step // resolution_s
    offsets = np.array([_offset_s(zone, grid_start_s + i * step) for i in range(-(-n // per))], dtype=np.int64)
    if step != resolution_s and (offsets % 3600).any():
        return np.array([_offset_s(zone, grid_start_s + i * resolution_s) for i in range(n)], dtype=np.int64)
    return np.repeat(offsets, per)[:n]


def in_period(grid_start_s: int, resolution_s: int, n: int, start_s: int, end_s: int) -> NDArray[np.bool_]:
    starts = grid_start_s + np.arange(n, dtype=np.int64) * resolution_s
    return (starts >= start_s) & (starts < end_s)


def _uuid_bytes(values: Sequence[uuid.UUID | None]) -> bytes:
    return b"".join(v.bytes if v is not None else bytes(16) for v in values)


def _batches_digest(rows: list[Any], batches: Batches) -> str:
    digest = hashlib.sha256()
    digest.update(_uuid_bytes([r["id"] for r in rows]))
    digest.update("\n".join(r["batch_number"] for r in rows).encode())
    digest.update(_uuid_bytes([r["product_id"] for r in rows]))
    digest.update(_uuid_bytes([r["line_id"] for r in rows]))
    for array in (batches.start_s, batches.end_s, batches.net_mass_t):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _precursors_digest(rows: list[Any]) -> str:
    digest = hashlib.sha256()
    digest.update(_uuid_bytes([r["batch_id"] for r in rows]))
    digest.update(np.array([r["position"] for r in rows], dtype="<i8").tobytes())
    digest.update("\n".join(f"{r['cn_code'] or ''}\t{r['emissions_source'] or ''}" for r in rows).encode())
    digest.update(np.array([r["mass_t"] for r in rows], dtype="<f8").tobytes())
    embedded = [np.nan if r["embedded_tco2e_per_t"] is None else r["embedded_tco2e_per_t"] for r in rows]
    digest.update(np.array(embedded, dtype="<f8").tobytes())
    return digest.hexdigest()


def _check_factors_hold(selections: list[Selection], end_day: date) -> None:
    """Every factor chosen on the period's first day must hold to its end (``end_day``, exclusive).

    The engine applies one value per factor over the period. A version that ends inside it would give
    the later days the earlier value, so the run is refused, naming the day to split it at.
    """
    for selection in selections:
        ends = selection.factor.valid_to
        if ends is not None and ends < end_day:
            raise CalculationFailed(
                "FACTOR_CHANGES_IN_PERIOD",
                f"the {selection.kind.value} factor for {selection.requested_subject} valid from "
                f"{selection.factor.valid_from.isoformat()} ends on {ends.isoformat()}, inside the period: "
                f"calculate up to {ends.isoformat()} and from {ends.isoformat()} in two runs",
                field="end",
            )


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def settlement_on_grid(
    rows: IntervalColumns, grid_start_s: int, resolution_s: int, n: int
) -> tuple[NDArray[np.float64], int]:
    """Settlement intervals on the grid (kWh; NaN where none covers) and their coarsest resolution.

    An interval finer than the grid adds to the grid interval it starts in; one coarser than the grid is
    spread evenly over the grid intervals it covers (the native resolution says so to the engine), and the
    share of the cells outside the grid is left out. Each
    row's grid cells come from one ``np.repeat`` and are summed with ``np.bincount`` (in the rows' order,
    as a loop over them would add).
    """
    energy = np.full(n, np.nan, dtype=np.float64)
    if not len(rows):
        return energy, resolution_s
    start_s = np.array(rows.start_s, dtype=np.int64)
    end_s = np.array(rows.end_s, dtype=np.int64)
    wh = np.array(rows.energy_wh, dtype=np.float64)
    native = int(max(rows.resolution_s))
    first = (start_s - grid_start_s) // resolution_s
    last = -(-(end_s - grid_start_s) // resolution_s)
    # each grid cell an interval covers gets the same share; cells outside the grid are dropped with theirs
    share = (wh / 1000.0) / np.maximum(last - first, 1)
    first, last = np.maximum(first, 0), np.minimum(last, n)
    keep = last > first
    first, count, share = first[keep], (last - first)[keep], share[keep]
    if count.size:
        offsets = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
        cells = np.repeat(first, count) + offsets
        summed = np.bincount(cells, weights=np.repeat(share, count), minlength=n)
        covered = np.bincount(cells, minlength=n) > 0
        energy[covered] = summed[covered]
    return energy, native or resolution_s


def settlement_digest(rows: IntervalColumns) -> str:
    """sha256 of the settlement rows: start s, end s, resolution s, Wh and quality (int64 LE arrays one after
    another), then each row's upload id (16 bytes)."""
    digest = hashlib.sha256()
    for column in (rows.start_s, rows.end_s, rows.resolution_s, rows.energy_wh, rows.quality):
        digest.update(np.array(column, dtype="<i8").tobytes())
    digest.update(_uuid_bytes(rows.upload_id))
    return digest.hexdigest()


async def _installation_meters(db: AsyncSession, installation_id: uuid.UUID, start: datetime) -> list[Meter]:
    rows = await db.execute(
        select(Meter).where(Meter.installation_id == installation_id, Meter.is_virtual.is_(False)).order_by(Meter.code)
    )
    # a meter retired before the period measures nothing in it
    return [m for m in rows.scalars() if m.retired_at is None or m.retired_at > start]


async def load_inputs(
    services: Services,
    db: AsyncSession,
    principal: Principal,
    installation: Installation,
    start: datetime,
    end: datetime,
    parameters: CalculationParameters,
    *,
    fuel_density_t_per_m3: dict[str, float] | None = None,
) -> LoadedInputs:
    """The engine's inputs for ``installation`` over ``[start, end)`` (UTC, on local midnights).

    ``db`` is a unit of work of the installation's tenant; ``principal`` reads (the run's system actor
    or the person asking); PPA settlement data is read from the developer's tenant through the grant
    of the contract's connection. Raises :class:`FactorMissing` (kind, subject, date) or
    :class:`CalculationFailed` naming what is missing.
    """
    zone = ZoneInfo(installation.timezone)
    on = local_date(start, zone)
    res = int(installation.interval_resolution_s)
    start_day, end_day = day_of(int(start.timestamp())), day_of(int(end.timestamp()) - 1) + timedelta(days=1)
    grid_start_s = day_start_s(start_day)
    n = (end_day - start_day).days * (86_400 // res)
    grid = Grid(grid_start_s, res, utc_offsets(zone, grid_start_s, res, n))
    outside = ~in_period(grid_start_s, res, n, int(start.timestamp()), int(end.timestamp()))
    warnings: list[dict[str, str]] = []
    factors: dict[str, dict[str, Any]] = {}
    selections: list[Selection] = []

    def keep(selection: Selection) -> str:
        ref = factor_ref(selection)
        factors[ref] = _factor_entry(selection)
        selections.append(selection)
        return ref

    # --- lines and meters ----------------------------------------------------------------------------
    line_rows = list(
        (
            await db.execute(
                select(ProductionLine)
                .where(ProductionLine.installation_id == installation.id)
                .order_by(ProductionLine.code, ProductionLine.id)
            )
        ).scalars()
    )
    line_index = {line.id: i for i, line in enumerate(line_rows)}
    meters = await _installation_meters(db, installation.id, start)
    electric = [m for m in meters if m.medium == Medium.ELECTRICITY and m.role in ELECTRICITY_ROLES]
    fuel_meters = [m for m in meters if m.medium in FUEL_OF_MEDIUM and m.role != MeterRole.CHECK]
    contracts = await _active_contracts(db, installation.id, start, end)
    generator_ids = [c.generator_meter_id for c in contracts if c.generator_meter_id is not None]
    by_id = {m.id: m for m in meters}
    wanted = list(dict.fromkeys([*(m.id for m in electric), *(m.id for m in fuel_meters), *generator_ids]))
    matrix = await interval_matrix(db, principal, wanted, start_day=start_day, end_day=end_day, resolution_s=res)
    row_of = {meter_id: i for i, meter_id in enumerate(matrix.meter_ids)}
    # hashing a plant-year's arrays takes a while: off the event loop, like the engine's digest below
    meter_digests = await off_loop(_meter_digests, matrix)
    if not any(m.role == MeterRole.MAIN for m in electric) and not any(m.role == MeterRole.SUB for m in electric):
        raise CalculationFailed(
            "NO_MAIN_METER",
            f"installation '{installation.name}' has no electricity main meter or sub-meter to measure its consumption",
            field="installationId",
        )
    e_rows = [row_of[m.id] for m in electric]
    meters_in = ElectricityMeters(
        ids=tuple(str(m.id) for m in electric),
        codes=tuple(m.code for m in electric),
        role=tuple(ELECTRICITY_ROLES[m.role] for m in electric),
        line=np.array([line_index.get(m.line_id, -1) if m.line_id else -1 for m in electric], dtype=np.int64),
        energy_kwh=matrix.energy_kwh[e_rows] if e_rows else np.zeros((0, n)),
        status=matrix.status[e_rows] if e_rows else np.zeros((0, n), dtype=np.uint8),
    )

    used_densities: dict[str, dict[str, Any]] = {}
    fuels_in, fuel_units = await _fuels(
        db,
        principal,
        fuel_meters,
        matrix,
        row_of,
        line_index,
        on,
        keep,
        warnings,
        fuel_density_t_per_m3 or {},
        used_densities,
    )

    # --- batches, precursors and products ------------------------------------------------------------
    batch_rows = await repository.batch_rows(db, installation.id, start, end)
    if not batch_rows and not np.isfinite(meters_in.energy_kwh[:, ~outside]).any():
        raise CalculationFailed(
            "NO_DATA",
            f"no interval data and no production batches for '{installation.name}' from {start.isoformat()} "
            f"to {end.isoformat()}",
            field="period",
        )
    product_ids = list(dict.fromkeys(b["product_id"] for b in batch_rows))
    products = {p.id: p for p in (await db.execute(select(Product).where(Product.id.in_(product_ids)))).scalars()}
    product_index = {pid: i for i, pid in enumerate(product_ids)}
    precursor_rows = await repository.precursor_rows(db, installation.id, start, end) if batch_rows else []
    batch_index = {b["id"]: i for i, b in enumerate(batch_rows)}
    batches_in = Batches(
        ids=tuple(str(b["id"]) for b in batch_rows),
        numbers=tuple(b["batch_number"] for b in batch_rows),
        line=np.array([line_index.get(b["line_id"], -1) if b["line_id"] else -1 for b in batch_rows], dtype=np.int64),
        start_s=np.array([b["start_s"] for b in batch_rows], dtype=np.int64),
        end_s=np.array([b["end_s"] for b in batch_rows], dtype=np.int64),
        net_mass_t=np.array([b["net_mass_t"] for b in batch_rows], dtype=np.float64),
        product=np.array([product_index[b["product_id"]] for b in batch_rows], dtype=np.int64),
    )
    precursors_in = await _precursors(db, installation, precursor_rows, batch_index, batch_rows, on, keep)
    products_in = await _products(db, installation, [products[p] for p in product_ids], on, keep, warnings)

    # --- supply and the grid --------------------------------------------------------------------------
    supply_in, supply_manifest = await _supply(
        services,
        db,
        principal,
        installation,
        contracts,
        by_id,
        matrix,
        row_of,
        grid,
        line_index,
        start,
        end,
        on,
        keep,
        warnings,
    )
    try:
        grid_selection = await grid_default(db, installation.country, on)
    except FactorOutOfScope as refused:
        raise CalculationFailed("GRID_FACTOR_OUT_OF_SCOPE", refused.message, field="installationId") from None
    grid_factor = GridFactor(float(grid_selection.factor.value), keep(grid_selection))
    _check_factors_hold(selections, local_date(end, zone))

    # the grid runs from UTC midnight to UTC midnight, the period from local midnight to local midnight:
    # the engine counts only the grid's intervals inside the period (period_start_s, period_end_s)
    inputs = CalculationInputs(
        grid=grid,
        meters=meters_in,
        fuels=fuels_in,
        lines=Lines(tuple(str(line.id) for line in line_rows), tuple(line.code for line in line_rows)),
        batches=batches_in,
        precursors=precursors_in,
        products=products_in,
        supply=supply_in,
        grid_factor=grid_factor,
        period_start_s=int(start.timestamp()),
        period_end_s=int(end.timestamp()),
    )
    digest = await off_loop(inputs_digest, inputs, parameters)
    manifest: dict[str, Any] = {
        "methodology_version": parameters.methodology_version,
        "parameters": {
            "matching_resolution": parameters.matching_resolution,
            "certificate_price_eur_per_t": parameters.certificate_price_eur_per_t,
            "fuel_density_t_per_m3": dict(fuel_density_t_per_m3 or {}),
        },
        # per fuel metered by volume: the density used, where it came from (run_parameter, factor_library or
        # assumed) and its reference, as the direct figures' factor references name it
        "fuel_densities": used_densities,
        "installation": {
            "id": str(installation.id),
            "name": installation.name,
            "country": installation.country,
            "timezone": installation.timezone,
            "interval_resolution_s": res,
        },
        "period": {"start": start.isoformat(), "end": end.isoformat(), "grid_start_s": grid_start_s, "n": n},
        "interval_data": {
            "method": "sha256 of each meter's energy (float64 LE) and status (uint8) arrays on the grid",
            "meters": meter_digests,
            "units": fuel_units,
        },
        "batches": {
            "count": len(batch_rows),
            "method": "sha256 of the batches' ids, numbers, products, lines (16-byte ids, UTF-8 lines), "
            "start and end (int64 s) and net mass (float64); of the precursors' batch ids, positions, CN codes, "
            "masses, embedded emissions (NaN none) and sources",
            "digest": _batches_digest(batch_rows, batches_in),
            "precursors_digest": _precursors_digest(precursor_rows),
        },
        "products": {str(p): products[p].cn_code for p in product_ids},
        "contracts": supply_manifest,
        "factors": sorted(factors.values(), key=lambda f: f["ref"]),
        "inputs_digest": digest,
    }
    return LoadedInputs(
        inputs=inputs,
        parameters=parameters,
        manifest=manifest,
        inputs_digest=digest,
        warnings=warnings,
        batch_products={
            str(b["id"]): (str(b["product_id"]), str(b["line_id"]) if b["line_id"] else None) for b in batch_rows
        },
    )


# --- fuels ----------------------------------------------------------------------------------------------


async def _fuels(
    db: AsyncSession,
    principal: Principal,
    fuel_meters: list[Meter],
    matrix: IntervalMatrix,
    row_of: dict[uuid.UUID, int],
    line_index: dict[uuid.UUID, int],
    on: date,
    keep: Any,
    warnings: list[dict[str, str]],
    densities: dict[str, float],
    used_densities: dict[str, dict[str, Any]],
) -> tuple[FuelMeters, dict[str, str]]:
    """Fuel rows: each fuel meter without fuel sub-meters, and for a meter with sub-meters the part they
    do not measure (never below 0), so that no quantity counts twice."""
    n = matrix.n_intervals
    units: dict[str, str] = {}
    points = await data_points_of(db, [m.id for m in fuel_meters]) if fuel_meters else []
    unit_of = {p.meter_id: p.unit for p in points}
    children: dict[uuid.UUID, list[Meter]] = defaultdict(list)
    ids = {m.id for m in fuel_meters}
    for m in fuel_meters:
        if m.parent_id in ids:
            children[m.parent_id].append(m)
    rows: list[tuple[str, str, int, NDArray[np.float64], NDArray[np.uint8], Meter]] = []
    for m in fuel_meters:
        energy, status = matrix.energy_kwh[row_of[m.id]], matrix.status[row_of[m.id]]
        if children.get(m.id):
            rest = energy - sum(matrix.energy_kwh[row_of[c.id]] for c in children[m.id])
            if np.nanmin(rest, initial=0.0) < 0:
                warnings.append(
                    {
                        "code": "FUEL_SUBMETERS_EXCEED",
                        "message": f"fuel sub-meters of '{m.code}' measure more than it in some intervals; "
                        "its remainder there counts as 0",
                    }
                )
            rest = np.where(np.isnan(rest), np.nan, np.maximum(rest, 0.0))
            worst = np.maximum(status, np.max([matrix.status[row_of[c.id]] for c in children[m.id]], axis=0))
            rows.append((f"{m.id}:remainder", f"{m.code} (not sub-metered)", -1, rest, worst.astype(np.uint8), m))
        else:
            line = line_index.get(m.line_id, -1) if m.line_id else -1
            rows.append((str(m.id), m.code, line, energy, status, m))
    quantity = np.zeros((len(rows), n), dtype=np.float64)
    ncv = np.zeros(len(rows))
    ef = np.zeros(len(rows))
    of = np.zeros(len(rows))
    refs: list[str] = []
    for i, (_, code, _, energy, _, meter) in enumerate(rows):
        fuel = FUEL_OF_MEDIUM[meter.medium]
        ef_sel, ncv_sel, of_sel = await fuel_factors(db, fuel, on)
        unit = unit_of.get(meter.id, "m3")
        units[code] = unit
        density_ref = ""
        ncv_per_t = float(ncv_sel.factor.value)
        if unit in MASS_TO_T:
            quantity[i] = energy * MASS_TO_T[unit]
            ncv[i] = ncv_per_t
        elif unit in VOLUME_UNITS:
            density, density_ref = await _density(db, fuel, code, on, keep, warnings, densities, used_densities)
            quantity[i] = energy
            ncv[i] = ncv_per_t * density
        else:
            raise CalculationFailed(
                "FUEL_UNIT",
                f"meter '{code}' measures {fuel} in '{unit}', which cannot be converted to tonnes or cubic metres",
                field="meterId",
            )
        ef[i] = float(ef_sel.factor.value)
        of[i] = float(of_sel.factor.value)
        refs.append("|".join([*(keep(s) for s in (ncv_sel, ef_sel, of_sel)), *([density_ref] if density_ref else [])]))
    return (
        FuelMeters(
            ids=tuple(r[0] for r in rows),
            codes=tuple(r[1] for r in rows),
            line=np.array([r[2] for r in rows], dtype=np.int64),
            quantity=quantity,
            status=np.array([r[4] for r in rows], dtype=np.uint8).reshape(len(rows), n),
            ncv_tj_per_unit=ncv,
            ef_tco2_per_tj=ef,
            oxidation_factor=of,
            factor_refs=tuple(refs),
        ),
        units,
    )


async def _density(
    db: AsyncSession,
    fuel: str,
    code: str,
    on: date,
    keep: Any,
    warnings: list[dict[str, str]],
    given: dict[str, float],
    used: dict[str, dict[str, Any]],
) -> tuple[float, str]:
    """The density (t/m3) converting a volume-metered fuel to tonnes, and its reference: the run's parameter if
    given, else the organisation's factor library (its supplier's or measured figure), else, warned, the
    assumed density of methane at 0 degC and 101.325 kPa."""
    if fuel in given:
        density, source = float(given[fuel]), "run_parameter"
        ref = f"run_parameter:fuel_density:{fuel}:{density:g}"
    else:
        try:
            selection = await fuel_density(db, fuel, on)
        except FactorMissing:
            density, source = ASSUMED_DENSITY_T_PER_M3[fuel], "assumed"
            ref = f"assumed:fuel_density:{fuel}:{density:g}"
            warnings.append(
                {
                    "code": "FUEL_DENSITY_ASSUMED",
                    "message": f"meter '{code}' measures {fuel} by volume; converted to tonnes at "
                    f"{density * 1000:g} kg/m3 (methane at 0 degC, 101.325 kPa), as the factor library holds no "
                    f"density of {fuel} valid on {on.isoformat()}: add the supplier's density to the factor "
                    "library or give it in the run's parameters",
                }
            )
        else:
            density, source = float(selection.factor.value), "factor_library"
            ref = keep(selection)
    used[fuel] = {"value": density, "unit": "t/m3", "source": source, "ref": ref}
    return density, ref


# --- precursors and products ------------------------------------------------------------------------------


async def _precursors(
    db: AsyncSession,
    installation: Installation,
    rows: list[Any],
    batch_index: dict[uuid.UUID, int],
    batches: list[Any],
    on: date,
    keep: Any,
) -> Precursors:
    """Actual embedded emissions where the batch names them; otherwise the default of the precursor's CN code
    for the installation's country (the origin of a precursor without a figure is not recorded)."""
    defaults: dict[str, tuple[float, str]] = {}
    see = np.zeros(len(rows))
    defaulted = np.zeros(len(rows), dtype=bool)
    refs: list[str] = []
    for i, p in enumerate(rows):
        if p["embedded_tco2e_per_t"] is not None:
            see[i] = p["embedded_tco2e_per_t"]
            refs.append(f"precursor:{p['emissions_source']}")
            continue
        if not p["cn_code"]:
            batch = batches[batch_index[p["batch_id"]]]
            raise CalculationFailed(
                "PRECURSOR_UNKNOWN",
                f"precursor {p['position'] + 1} of batch '{batch['batch_number']}' has neither embedded emissions "
                "nor a CN code to take a default value for",
                field="precursors",
            )
        if p["cn_code"] not in defaults:
            try:
                selection = await goods_default(db, p["cn_code"], installation.country, on)
            except FactorOutOfScope:
                defaults[p["cn_code"]] = (0.0, f"out_of_scope:{p['cn_code']}|{installation.country}")
            else:
                defaults[p["cn_code"]] = (float(selection.factor.value), keep(selection))
        see[i], ref = defaults[p["cn_code"]]
        defaulted[i] = True
        refs.append(ref)
    return Precursors(
        batch=np.array([batch_index[p["batch_id"]] for p in rows], dtype=np.int64),
        mass_t=np.array([p["mass_t"] for p in rows], dtype=np.float64),
        see_direct=see,
        # the default values of aluminium list direct emissions only (indirect: N/A in [IR2621] Annex I)
        see_indirect=np.zeros(len(rows)),
        defaulted=defaulted,
        refs=tuple(refs),
    )


async def _products(
    db: AsyncSession,
    installation: Installation,
    rows: list[Product],
    on: date,
    keep: Any,
    warnings: list[dict[str, str]],
) -> Products:
    direct = np.full(len(rows), np.nan)
    indirect = np.full(len(rows), np.nan)
    refs: list[str] = []
    counts: list[bool] = []
    for i, p in enumerate(rows):
        entry = check_cn_code(p.cn_code).entry
        counts.append(bool(entry and entry.indirect_emissions_count))
        try:
            selection = await goods_default(db, p.cn_code, installation.country, on)
        except (FactorMissing, FactorOutOfScope) as missing:
            warnings.append(
                {"code": "NO_DEFAULT_VALUE", "message": f"product '{p.code}': {missing.message}; no default comparison"}
            )
            refs.append("")
            continue
        direct[i] = float(selection.factor.value)
        indirect[i] = float(selection.factor.parameters.get("indirect", 0) or 0)
        refs.append(keep(selection))
    return Products(
        ids=tuple(str(p.id) for p in rows),
        codes=tuple(p.code for p in rows),
        cn_codes=tuple(p.cn_code for p in rows),
        indirect_counts=np.array(counts, dtype=bool),
        default_see_direct=direct,
        default_see_indirect=indirect,
        default_refs=tuple(refs),
    )


# --- supply -----------------------------------------------------------------------------------------------


async def _active_contracts(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime
) -> list[SupplyContract]:
    rows = await db.execute(
        select(SupplyContract)
        .where(
            SupplyContract.installation_id == installation_id,
            SupplyContract.kind.in_(list(SUPPLY_KINDS)),
            SupplyContract.period_start < end,
            (SupplyContract.period_end.is_(None)) | (SupplyContract.period_end > start),
        )
        .order_by(SupplyContract.reference)
    )
    return list(rows.scalars())


async def _supply(
    services: Services,
    db: AsyncSession,
    principal: Principal,
    installation: Installation,
    contracts: list[SupplyContract],
    meters: dict[uuid.UUID, Meter],
    matrix: IntervalMatrix,
    row_of: dict[uuid.UUID, int],
    grid: Grid,
    line_index: dict[uuid.UUID, int],
    start: datetime,
    end: datetime,
    on: date,
    keep: Any,
    warnings: list[dict[str, str]],
) -> tuple[SupplySources, list[dict[str, Any]]]:
    n = grid.n
    energy = np.full((len(contracts), n), np.nan, dtype=np.float64)
    native = np.full(len(contracts), grid.resolution_s, dtype=np.int64)
    factor = np.zeros(len(contracts))
    eligible = np.zeros(len(contracts), dtype=bool)
    dedicated = np.full(len(contracts), -1, dtype=np.int64)
    tiers: list[str] = []
    refs: list[str] = []
    manifest: list[dict[str, Any]] = []
    points = (
        list(
            (
                await db.execute(
                    select(ContractDeliveryPoint).where(
                        ContractDeliveryPoint.contract_id.in_([c.id for c in contracts])
                    )
                )
            ).scalars()
        )
        if contracts
        else []
    )
    for i, contract in enumerate(contracts):
        entry: dict[str, Any] = {
            "id": str(contract.id),
            "kind": contract.kind.value,
            "reference": contract.reference,
            "updated_at": contract.updated_at.isoformat(),
        }
        generator_data = None
        source_of_data = "none"
        if contract.kind == ContractKind.PPA:
            rows, connection_id, generator_data = await _ppa_intervals(
                services, principal, contract, start, end, warnings
            )
            if rows is not None:
                energy[i], native[i] = settlement_on_grid(rows, grid.grid_start_s, grid.resolution_s, n)
                source_of_data = "developer_settlement"
                entry["settlement"] = {
                    "connection_id": str(connection_id),
                    "intervals": len(rows),
                    "digest": settlement_digest(rows),
                }
        if source_of_data == "none" and contract.generator_meter_id in row_of:
            energy[i] = matrix.energy_kwh[row_of[contract.generator_meter_id]]
            source_of_data = "generator_meter"
            entry["generator_meter_id"] = str(contract.generator_meter_id)
        if source_of_data == "none":
            warnings.append(
                {
                    "code": "SUPPLY_WITHOUT_DATA",
                    "message": f"supply contract '{contract.reference}' has no generator meter or settlement data "
                    "for the period: nothing of it is matched",
                }
            )
        entry["data"] = source_of_data
        # the actual factor: zero for wind, solar and hydro; otherwise the generator's own computed factor
        if contract.technology in ZERO_EMISSION_TECHNOLOGIES:
            refs.append(f"technology:{contract.technology.value}:0")
        else:
            selection = await own_generation_factor_for(db, contract.id, on)
            factor[i] = float(selection.factor.value)
            refs.append(keep(selection))
        conditions = await actual_factor_conditions(db, principal, contract, generator_data=generator_data)
        eligible[i] = conditions.eligible
        entry["conditions"] = {"eligible": conditions.eligible, "missing": conditions.missing}
        if not conditions.eligible:
            tiers.append(TIER_NOT_ELIGIBLE)
        else:
            tiers.append(TIER_HOURLY if native[i] <= 3600 else TIER_COARSE)
        if contract.kind == ContractKind.DIRECT_LINK and not contract.shared_link:
            lines = {
                meters[p.meter_id].line_id
                for p in points
                if p.contract_id == contract.id and p.meter_id in meters and meters[p.meter_id].role == MeterRole.SUB
            }
            if len(lines) == 1 and None not in lines:
                dedicated[i] = line_index.get(next(iter(lines)), -1)  # type: ignore[arg-type]
        entry["digest"] = _sha256(entry)
        manifest.append(entry)
    return (
        SupplySources(
            ids=tuple(str(c.id) for c in contracts),
            kinds=tuple(SUPPLY_KINDS[c.kind] for c in contracts),
            energy_kwh=energy,
            native_resolution_s=native,
            actual_factor=factor,
            eligible=eligible,
            tiers=tuple(tiers),
            dedicated_line=dedicated,
            factor_refs=tuple(refs),
        ),
        manifest,
    )


async def _ppa_intervals(
    services: Services,
    principal: Principal,
    contract: SupplyContract,
    start: datetime,
    end: datetime,
    warnings: list[dict[str, str]],
) -> tuple[IntervalColumns | None, uuid.UUID | None, Any]:
    """The developer's settlement intervals of a connected PPA, read through its grant; None when no live
    connection shares them (the contract's generator meter on site is used instead, if any)."""
    offtaker = principal.require_tenant()
    async with services.db.platform_session() as platform:
        connection = await connection_of_contract(platform, offtaker, contract.id)
    if connection is None:
        return None, None, None
    if effective_status(connection) != ConnectionStatus.ACTIVE:
        warnings.append(
            {
                "code": "PPA_NOT_SHARED",
                "message": f"the developer no longer shares PPA '{contract.reference}' "
                f"({effective_status(connection).value}): its settlement data is not read",
            }
        )
        return None, None, None
    try:
        _, rows = await read_period_intervals(services, principal, connection.id, start, end)
        generator_data = await read_generator_data(services, principal, contract.id, offtaker)
    except DomainError as refused:
        warnings.append(
            {
                "code": "PPA_NOT_SHARED",
                "message": f"PPA '{contract.reference}': the developer's data could not be read ({refused.message})",
            }
        )
        return None, None, None
    return rows, connection.id, generator_data


def finite_or_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


__all__ = ["LoadedInputs", "factor_ref", "finite_or_none", "load_inputs", "settlement_on_grid", "utc_offsets"]
