"""Small builders of calculation inputs for the engine tests (ids are readable strings, not UUIDs)."""

from dataclasses import replace
from typing import Any

import numpy as np

from workers.engine.calculation import (
    Batches,
    CalculationInputs,
    ElectricityMeters,
    FuelMeters,
    Grid,
    GridFactor,
    Lines,
    Precursors,
    Products,
    SupplySources,
)

DAY = 86_400
T0 = 20_454 * DAY  # 2026-01-01 00:00 UTC


def meters(energy: Any, roles: list[str], lines: list[int], status: Any = None) -> ElectricityMeters:
    energy = np.asarray(energy, dtype=np.float64).reshape(len(roles), -1)
    m = len(roles)
    return ElectricityMeters(
        ids=tuple(f"meter-{k}" for k in range(m)),
        codes=tuple(f"M{k}" for k in range(m)),
        role=tuple(roles),
        line=np.array(lines, dtype=np.int64),
        energy_kwh=energy,
        status=np.zeros(energy.shape, np.uint8) if status is None else np.asarray(status, np.uint8),
    )


def no_fuels(n: int) -> FuelMeters:
    return FuelMeters(
        ids=(),
        codes=(),
        line=np.zeros(0, np.int64),
        quantity=np.zeros((0, n)),
        status=np.zeros((0, n), np.uint8),
        ncv_tj_per_unit=np.zeros(0),
        ef_tco2_per_tj=np.zeros(0),
        oxidation_factor=np.zeros(0),
        factor_refs=(),
    )


def fuels(
    quantity: Any,
    lines: list[int],
    ncv: list[float],
    ef: list[float],
    of: list[float] | None = None,
    refs: list[str] | None = None,
) -> FuelMeters:
    quantity = np.asarray(quantity, dtype=np.float64).reshape(len(lines), -1)
    k = len(lines)
    return FuelMeters(
        ids=tuple(f"fuel-{i}" for i in range(k)),
        codes=tuple(f"F{i}" for i in range(k)),
        line=np.array(lines, np.int64),
        quantity=quantity,
        status=np.zeros(quantity.shape, np.uint8),
        ncv_tj_per_unit=np.array(ncv, float),
        ef_tco2_per_tj=np.array(ef, float),
        oxidation_factor=np.ones(k) if of is None else np.array(of, float),
        factor_refs=tuple(refs or [f"fuel-factor-{i}" for i in range(k)]),
    )


def batches(
    spans: list[tuple[int, int]], lines: list[int], mass: list[float], product: list[int] | None = None
) -> Batches:
    b = len(spans)
    return Batches(
        ids=tuple(f"batch-{i}" for i in range(b)),
        numbers=tuple(f"B{i}" for i in range(b)),
        line=np.array(lines, np.int64),
        start_s=np.array([s for s, _ in spans], np.int64),
        end_s=np.array([e for _, e in spans], np.int64),
        net_mass_t=np.array(mass, float),
        product=np.zeros(b, np.int64) if product is None else np.array(product, np.int64),
    )


def no_precursors() -> Precursors:
    return Precursors(
        batch=np.zeros(0, np.int64),
        mass_t=np.zeros(0),
        see_direct=np.zeros(0),
        see_indirect=np.zeros(0),
        defaulted=np.zeros(0, bool),
        refs=(),
    )


def products(
    q: int = 1,
    indirect_counts: list[bool] | None = None,
    default_direct: list[float] | None = None,
    default_indirect: list[float] | None = None,
) -> Products:
    return Products(
        ids=tuple(f"product-{i}" for i in range(q)),
        codes=tuple(f"P{i}" for i in range(q)),
        cn_codes=tuple("7604 29 90" for _ in range(q)),
        indirect_counts=np.array(indirect_counts or [False] * q, bool),
        default_see_direct=np.array(default_direct or [np.nan] * q, float),
        default_see_indirect=np.array(default_indirect or [np.nan] * q, float),
        default_refs=tuple(f"default-{i}" for i in range(q)),
    )


def supply(
    energy: Any,
    *,
    native: list[int] | None = None,
    factor: list[float] | None = None,
    eligible: list[bool] | None = None,
    dedicated: list[int] | None = None,
    tiers: list[str] | None = None,
    kinds: list[str] | None = None,
) -> SupplySources:
    energy = np.asarray(energy, dtype=np.float64)
    if energy.ndim == 1:
        energy = energy[None, :]
    s = energy.shape[0]
    return SupplySources(
        ids=tuple(f"source-{i}" for i in range(s)),
        kinds=tuple(kinds or ["ppa"] * s),
        energy_kwh=energy,
        native_resolution_s=np.array(native or [900] * s, np.int64),
        actual_factor=np.array(factor or [0.0] * s, float),
        eligible=np.array(eligible if eligible is not None else [True] * s, bool),
        tiers=tuple(tiers or ["A"] * s),
        dedicated_line=np.array(dedicated or [-1] * s, np.int64),
        factor_refs=tuple(f"source-factor-{i}" for i in range(s)),
    )


def no_supply(n: int) -> SupplySources:
    return supply(np.zeros((0, n)))


def inputs(
    *,
    n: int,
    resolution_s: int = 900,
    offsets: Any = None,
    meter_set: ElectricityMeters,
    batch_set: Batches,
    n_lines: int = 1,
    fuel_set: FuelMeters | None = None,
    precursor_set: Precursors | None = None,
    product_set: Products | None = None,
    supply_set: SupplySources | None = None,
    grid_factor: float = 0.729,
    grid_start_s: int = T0,
) -> CalculationInputs:
    offs = np.zeros(n, np.int64) if offsets is None else np.asarray(offsets, np.int64)
    return CalculationInputs(
        grid=Grid(grid_start_s, resolution_s, offs),
        meters=meter_set,
        fuels=fuel_set if fuel_set is not None else no_fuels(n),
        lines=Lines(tuple(f"line-{i}" for i in range(n_lines)), tuple(f"L{i}" for i in range(n_lines))),
        batches=batch_set,
        precursors=precursor_set if precursor_set is not None else no_precursors(),
        products=product_set if product_set is not None else products(),
        supply=supply_set if supply_set is not None else no_supply(n),
        grid_factor=GridFactor(grid_factor, "grid-RS"),
        period_start_s=grid_start_s,
        period_end_s=grid_start_s + n * resolution_s,
    )


__all__ = [
    "DAY",
    "T0",
    "batches",
    "fuels",
    "inputs",
    "meters",
    "no_fuels",
    "no_supply",
    "products",
    "replace",
    "supply",
]
