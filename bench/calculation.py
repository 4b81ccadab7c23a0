"""The calculation engine alone on a synthetic plant-year: 200 meters at 15 minutes, 20,000 batches.

The inputs are built in memory as :class:`workers.engine.calculation.CalculationInputs`, as the
calculation job hands them to the engine: one main meter, one generation meter (own PV), sub-meters
spread over 6 lines plus auxiliaries, two natural-gas meters, 20,000 batches on the 6 lines (each
line's batches follow one another with short changeovers and some longer stops), a precursor per
batch, 4 products and 3 supply sources (a solar PPA at 15 minutes, a wind PPA with hourly data,
the own PV). The year is 2026 in Europe/Belgrade (UTC offsets from zoneinfo, as the caller computes
them), matched per local hour.

Prints the time of ``calculate`` (best of 5), its memory (tracemalloc peak, peak RSS growth), and
how the time grows with the number of meters (1 to 200, a year) and the length of the period (1 to
12 months, 200 meters). No database: ``python -m bench.calculation`` runs it alone too.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from bench.figures import Timer, peak_rss, report, reset_peak_rss, rss, stats
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
    calculate,
    inputs_digest,
    validate_inputs,
)

N_METERS = 200
N_LINES = 6
N_BATCHES = 20_000  # in a year; a shorter period gets its share
RESOLUTION_S = 900
YEAR = 2026  # the first year of the published factors (CBAM's definitive period)
ZONE = "Europe/Belgrade"
TARGET_S = 0.25
MEMORY_BUDGET_B = 2**30
AUX_SHARE = 0.1  # of the sub-meters: compressors, lighting, HVAC (serving no line)
SEED = 2025

FloatArray = NDArray[np.float64]


def _id(kind: str, i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{kind}:{i}"))


def period(months: int) -> tuple[int, int]:
    """[start, end) of the first ``months`` months of YEAR, UTC midnights [s]."""
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    end = datetime(YEAR + months // 12, months % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()), int(end.timestamp())


def utc_offsets(start_s: int, n: int, resolution_s: int) -> NDArray[np.int64]:
    """The installation's UTC offset at each interval start, as the caller computes it with zoneinfo."""
    zone = ZoneInfo(ZONE)
    hours = np.array(
        [
            int(datetime.fromtimestamp(start_s + h * 3600, zone).utcoffset().total_seconds())  # type: ignore[union-attr]
            for h in range((n * resolution_s + 3599) // 3600)
        ],
        dtype=np.int64,
    )
    per_hour = 3600 // resolution_s
    return np.repeat(hours, per_hour)[:n]


def batch_plan(rng: np.random.Generator, start_s: int, end_s: int, n_batches: int) -> Batches:
    """Non-overlapping batches per line: 1.5-3 h each, changeovers of up to 15 min, and about one in
    seven followed by a stop of 0.5-4 h; each line's sequence is stretched to fill the period."""
    per_line = np.full(N_LINES, n_batches // N_LINES)
    per_line[: n_batches % N_LINES] += 1
    lines, starts, ends, mass, product = [], [], [], [], []
    for line, count in enumerate(per_line):
        length_h = rng.uniform(1.5, 3.0, count)
        gap_h = np.where(rng.random(count) < 0.85, rng.uniform(0.0, 0.25, count), rng.uniform(0.5, 4.0, count))
        stretch = (end_s - start_s - 3600) / (3600 * (length_h.sum() + gap_h.sum()))
        length_s = np.maximum(np.round(length_h * stretch * 3600), 600).astype(np.int64)
        gap_s = np.round(gap_h * stretch * 3600).astype(np.int64)
        first = start_s + int(rng.integers(0, 1800))
        begin = first + np.concatenate([[0], np.cumsum(length_s + gap_s)[:-1]])
        lines.append(np.full(count, line))
        starts.append(begin)
        ends.append(begin + length_s)
        rate_t_per_h = rng.uniform(3.0, 6.0)
        mass.append(rate_t_per_h * length_s / 3600 * rng.uniform(0.9, 1.1, count))
        # each line makes mostly one product, sometimes another
        product.append(np.where(rng.random(count) < 0.8, line % 4, rng.integers(0, 4, count)))
    order = np.argsort(np.concatenate(starts), kind="stable")
    b = int(per_line.sum())
    return Batches(
        ids=tuple(_id("batch", i) for i in range(b)),
        numbers=tuple(f"B{YEAR}-{i:06d}" for i in range(b)),
        line=np.concatenate(lines).astype(np.int64)[order],
        start_s=np.concatenate(starts)[order],
        end_s=np.concatenate(ends)[order],
        net_mass_t=np.concatenate(mass)[order],
        product=np.concatenate(product).astype(np.int64)[order],
    )


def line_activity(batches: Batches, grid_start_s: int, n: int, resolution_s: int) -> FloatArray:
    """Share of each interval during which each line ran a batch, shape (lines, n)."""
    active = np.zeros((N_LINES, n + 1))
    full = np.zeros((N_LINES, n + 2))
    s = (batches.start_s - grid_start_s) / resolution_s
    e = (batches.end_s - grid_start_s) / resolution_s
    si, ei = np.floor(s).astype(np.int64), np.floor(e).astype(np.int64)
    same = si == ei
    np.add.at(active, (batches.line[same], si[same]), (e - s)[same])
    cut = ~same
    np.add.at(active, (batches.line[cut], si[cut]), (si + 1 - s)[cut])
    np.add.at(active, (batches.line[cut], np.minimum(ei[cut], n)), (e - ei)[cut])
    np.add.at(full, (batches.line[cut], si[cut] + 1), 1.0)
    np.add.at(full, (batches.line[cut], np.minimum(ei[cut], n + 1)), -1.0)
    return np.clip(active[:, :n] + np.cumsum(full, axis=1)[:, :n], 0.0, 1.0)


def solar_profile(rng: np.random.Generator, start_s: int, offsets: NDArray[np.int64], resolution_s: int) -> FloatArray:
    """kWh per interval of 1 kWp: a clear-sky day shape by season, times a daily cloud factor."""
    n = offsets.shape[0]
    local = start_s + np.arange(n) * resolution_s + offsets
    hour = (local % 86_400) / 3600 + resolution_s / 7200
    day = (local // 86_400) - (start_s // 86_400)
    season = np.cos(2 * np.pi * (day - 172) / 365)  # 1 at midsummer
    half = 6.0 + 2.5 * season  # half the day length [h]
    shape = np.clip(np.cos(np.pi * (hour - 12.5) / (2 * half)), 0.0, None) ** 1.3
    clouds = rng.uniform(0.25, 1.0, int(day.max()) + 1)[day]
    kwh: FloatArray = 0.85 * shape * clouds * resolution_s / 3600
    return kwh


def wind_profile(rng: np.random.Generator, n: int, resolution_s: int) -> FloatArray:
    """kWh per interval of 1 kW, hourly data (equal within the hour): a smoothed random walk."""
    hours = (n * resolution_s + 3599) // 3600
    noise = rng.normal(0.0, 0.18, hours)
    level = np.empty(hours)
    x = 0.3
    for h in range(hours):  # AR(1): a few hours of memory
        x = 0.92 * x + 0.08 * 0.35 + noise[h] * 0.25
        level[h] = x
    capacity = np.clip(level, 0.0, 1.0)
    return np.repeat(capacity, 3600 // resolution_s)[:n] * resolution_s / 3600


def _missing(rng: np.random.Generator, energy: FloatArray, status: NDArray[np.uint8], share: float) -> None:
    """Mark a share of intervals of every row missing (NaN, status 2) and 1 % estimated (status 1)."""
    m, n = energy.shape
    gone = rng.random((m, n)) < share
    estimated = ~gone & (rng.random((m, n)) < 0.01)
    status[estimated] = 1
    status[gone] = 2
    energy[gone] = np.nan


def synthetic_inputs(n_meters: int = N_METERS, months: int = 12, seed: int = SEED) -> CalculationInputs:
    """A plant of ``n_meters`` electricity meters over the first ``months`` months of YEAR.

    Meter 0 is the main meter (grid import), meter 1 the own PV's generation meter (from 2 meters
    on), the rest sub-meters: 90 % on the 6 lines in turn, 10 % auxiliaries. Sub-meters draw a base
    load and, while their line runs a batch, their full load; the main meter reads the sub-meters
    plus 3 % unmetered, less the own PV. 0.1 % of the intervals are missing (and one 2-hour gap of
    the main meter a month), 1 % estimated.
    """
    rng = np.random.default_rng(seed)
    start_s, end_s = period(months)
    n = (end_s - start_s) // RESOLUTION_S
    offsets = utc_offsets(start_s, n, RESOLUTION_S)
    batches = batch_plan(rng, start_s, end_s, round(N_BATCHES * months / 12))
    activity = line_activity(batches, start_s, n, RESOLUTION_S)
    hours = RESOLUTION_S / 3600

    n_subs = max(n_meters - 2, 0)
    n_aux = round(n_subs * AUX_SHARE)
    sub_line = np.concatenate([np.arange(n_subs - n_aux) % N_LINES, np.full(n_aux, -1)]).astype(np.int64)
    subs = np.empty((n_subs, n))
    full_kw = rng.uniform(50.0, 400.0, n_subs)
    base_kw = full_kw * rng.uniform(0.05, 0.15, n_subs)
    local_hour = ((start_s + np.arange(n) * RESOLUTION_S + offsets) % 86_400) / 3600
    daily = 0.85 + 0.15 * np.sin(2 * np.pi * (local_hour - 9) / 24)
    for k in range(n_subs):
        line = sub_line[k]
        load = base_kw[k] + (full_kw[k] - base_kw[k]) * activity[line] if line >= 0 else full_kw[k] * 0.3 * daily
        subs[k] = load * hours * rng.uniform(0.95, 1.05, n)
    pv = 2_000.0 * solar_profile(rng, start_s, offsets, RESOLUTION_S)  # 2 MWp on the roof
    consumption = subs.sum(axis=0) * 1.03 if n_subs else 8_000.0 * hours * daily * rng.uniform(0.9, 1.1, n)
    main = np.clip(consumption - (pv if n_meters >= 2 else 0.0), 0.0, None)

    rows = [main] + ([pv] if n_meters >= 2 else []) + list(subs)
    energy = np.vstack(rows)[:n_meters]
    status = np.zeros(energy.shape, dtype=np.uint8)
    _missing(rng, energy[1:], status[1:], 0.001)
    for month_start in range(0, n, n // months):  # one 2-hour gap of the main meter a month
        gap = month_start + int(rng.integers(0, max(n // months - 8, 1)))
        energy[0, gap : gap + 8], status[0, gap : gap + 8] = np.nan, 2
    roles = ("main",) + (("generation",) if n_meters >= 2 else ()) + ("sub",) * n_subs
    meters = ElectricityMeters(
        ids=tuple(_id("meter", i) for i in range(n_meters)),
        codes=tuple(f"M{i:03d}" for i in range(n_meters)),
        role=roles[:n_meters],
        line=np.concatenate([np.full(min(n_meters, 2), -1), sub_line]).astype(np.int64),
        energy_kwh=energy,
        status=status,
    )

    # natural gas in t: the billet furnace of line 0 while it runs, a boiler for the halls
    gas = np.vstack([0.25 * hours * activity[0], 0.04 * hours * daily]) * rng.uniform(0.95, 1.05, (2, n))
    gas_status = np.zeros(gas.shape, dtype=np.uint8)
    fuels = FuelMeters(
        ids=(_id("fuel", 0), _id("fuel", 1)),
        codes=("G-FURNACE", "G-BOILER"),
        line=np.array([0, -1], dtype=np.int64),
        quantity=gas,
        status=gas_status,
        ncv_tj_per_unit=np.array([0.0480, 0.0480]),
        ef_tco2_per_tj=np.array([56.1, 56.1]),
        oxidation_factor=np.array([1.0, 1.0]),
        factor_refs=(f"factor:natural-gas:{YEAR}",) * 2,
    )

    b = len(batches.ids)
    defaulted = rng.random(b) < 0.1
    precursors = Precursors(
        batch=np.arange(b, dtype=np.int64),
        mass_t=batches.net_mass_t * rng.uniform(1.03, 1.08, b),
        see_direct=np.where(defaulted, 2.1, rng.uniform(1.4, 1.9, b)),
        see_indirect=np.where(defaulted, 7.5, rng.uniform(4.0, 7.0, b)),
        defaulted=defaulted,
        refs=tuple("default:aluminium:unwrought" if d else f"supplier:billets:{YEAR}" for d in defaulted),
    )
    products = Products(
        ids=tuple(_id("product", i) for i in range(4)),
        codes=("BAR", "PROFILE", "TUBE", "WIRE"),
        cn_codes=("7604 10 10", "7604 29 10", "7608 20 81", "7605 11 00"),
        indirect_counts=np.zeros(4, dtype=bool),
        default_see_direct=np.array([1.95, 1.95, 2.02, np.nan]),
        default_see_indirect=np.array([6.9, 6.9, 7.1, np.nan]),
        default_refs=("default:7604", "default:7604", "default:7608", ""),
    )
    wind = wind_profile(rng, n, RESOLUTION_S)
    supply = SupplySources(
        ids=(_id("supply", 0), _id("supply", 1), _id("supply", 2)),
        kinds=("ppa", "ppa", "own_generation"),
        energy_kwh=np.vstack([10_000.0 * solar_profile(rng, start_s, offsets, RESOLUTION_S), 6_000.0 * wind, pv]),
        native_resolution_s=np.array([900, 3600, 900], dtype=np.int64),
        actual_factor=np.zeros(3),
        eligible=np.ones(3, dtype=bool),
        tiers=("eligible_hourly",) * 3,
        dedicated_line=np.full(3, -1, dtype=np.int64),
        factor_refs=("ppa:solar", "ppa:wind", "own:pv"),
    )
    return CalculationInputs(
        grid=Grid(grid_start_s=start_s, resolution_s=RESOLUTION_S, utc_offsets_s=offsets),
        meters=meters,
        fuels=fuels,
        lines=Lines(tuple(_id("line", i) for i in range(N_LINES)), tuple(f"L{i + 1}" for i in range(N_LINES))),
        batches=batches,
        precursors=precursors,
        products=products,
        supply=supply,
        grid_factor=GridFactor(value=0.7, ref=f"grid:RS:{YEAR}"),
        period_start_s=start_s,
        period_end_s=end_s,
    )


def best_of(inputs: CalculationInputs, parameters: CalculationParameters, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        calculate(inputs, parameters)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parameters = CalculationParameters()
    with Timer() as built:
        inputs = synthetic_inputs()
    m, n = inputs.meters.energy_kwh.shape
    input_bytes = sum(
        a.nbytes
        for a in (inputs.meters.energy_kwh, inputs.meters.status, inputs.fuels.quantity, inputs.supply.energy_kwh)
    )
    report(
        "synthetic plant-year built (not part of the figures)",
        built.seconds,
        "s",
        f"{m} meters x {n:,} intervals, {len(inputs.batches.ids):,} batches, {input_bytes / 2**20:.0f} MiB of arrays",
    )

    # memory first, in a fresh process: later runs reuse memory the allocator kept
    gc.collect()
    baseline = rss()
    can_reset = reset_peak_rss()
    with Timer() as first:
        result = calculate(inputs, parameters)
    peak = peak_rss() if can_reset else None
    installation = result.installation
    report(
        "  consumption / hourly matched share / unallocated",
        installation.consumption_kwh / 1e6,
        "GWh",
        f"hour score {installation.scores.hour:.3f}, unallocated {installation.unallocated_kwh / 1e3:,.0f} MWh, "
        f"{len(result.warnings)} warnings",
    )
    del result, installation
    gc.collect()

    samples = best_of(inputs, parameters, 5)
    best = min(samples)
    verdict = "meets" if best <= TARGET_S else "MISSES"
    report(
        f"calculate, {m} meters x {n:,} intervals, best of 5",
        best,
        "s",
        f"{verdict} the {TARGET_S:g} s target; {stats(samples)}; first run {first.seconds:.3f}",
    )
    with Timer() as checked:
        validate_inputs(inputs, parameters)
    report("  of which validate_inputs", checked.seconds, "s")
    with Timer() as hashed:
        inputs_digest(inputs, parameters)
    report("  inputs_digest (not part of calculate)", hashed.seconds, "s")
    result = calculate(inputs, parameters)
    with Timer() as digest:
        result.output_digest()
    report("  output_digest (not part of calculate)", digest.seconds, "s")
    del result

    gc.collect()
    tracemalloc.start()
    calculate(inputs, parameters)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    verdict = "within" if traced_peak <= MEMORY_BUDGET_B else "OVER"
    report("calculate: tracemalloc peak", traced_peak / 2**20, "MiB", f"{verdict} the 1 GiB budget")
    if peak is not None:
        report("calculate, first run: peak RSS growth (VmHWM)", (peak - baseline) / 2**20, "MiB")
    del inputs
    gc.collect()

    print("time against the number of meters (a year, best of 5):", flush=True)
    for meters in (1, 10, 50, 100, 200):
        scaled = synthetic_inputs(n_meters=meters)
        report(f"  {meters:>3} meters", min(best_of(scaled, parameters, 5)), "s")
        del scaled
    print("time against the length of the period (200 meters, best of 5):", flush=True)
    for months in (1, 3, 6, 12):
        scaled = synthetic_inputs(months=months)
        report(f"  {months:>2} months ({len(scaled.batches.ids):,} batches)", min(best_of(scaled, parameters, 5)), "s")
        del scaled


if __name__ == "__main__":
    main()
