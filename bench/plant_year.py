"""Loading a plant-year of interval data into numpy: 200 meters x 365 days at 15 minutes.

Writes 73,000 ``interval_days`` rows (one per meter per UTC day, packed arrays) with the platform's
own ``store_days``, then times ``load_interval_matrix`` for the whole year (best of 3) and measures
its memory: the tracemalloc peak of one load, and the process's RSS growth (peak and retained).
The query alone (the same statement, each meter's packed days fetched but not unpacked) is timed
too, to show where the time goes, and so is the plain row-per-day SELECT the load used before
2026-12-02 (73,000 rows fetched), for comparison.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from datetime import date, timedelta

import numpy as np

from bench.common import bench_plant, scratch_platform
from bench.figures import Timer, peak_rss, report, reset_peak_rss, rss

N_METERS = 200
N_DAYS = 365
RESOLUTION_S = 900
PER_DAY = 86_400 // RESOLUTION_S
START = date(2025, 1, 1)
TARGET_S = 0.5


def _year_of(rng: np.random.Generator, base_kw: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = N_DAYS * PER_DAY
    hours = np.arange(n) * RESOLUTION_S / 3600.0
    shape = 0.6 + 0.4 * np.clip(np.sin((hours % 24 - 6) / 24 * 2 * np.pi), 0, None)
    energy = base_kw * shape * RESOLUTION_S / 3600.0 * rng.uniform(0.9, 1.1, n)
    status = np.zeros(n, dtype=np.uint8)
    flags = np.zeros(n, dtype=np.uint16)
    gaps = rng.integers(0, n, 50)  # a few missing intervals, as a real year has
    energy[gaps], status[gaps] = np.nan, 2
    return energy, status, flags


async def main() -> None:
    from sqlalchemy import text

    from backend.metering.arrays import day_start_s
    from backend.metering.repository import _LOAD_PACKED_SQL, load_interval_matrix, store_days

    async with scratch_platform("plant_year") as services:
        plant = await bench_plant(services, N_METERS)
        scope, meter_ids = plant.tenant.scope(), plant.meter_ids

        rng = np.random.default_rng(7)
        with Timer() as write:
            for m, meter_id in enumerate(meter_ids):
                energy, status, flags = _year_of(rng, 50.0 + 5 * m)
                async with services.db.tenant(scope) as db:
                    await store_days(
                        db,
                        meter_id,
                        grid_start_s=day_start_s(START),
                        resolution_s=RESOLUTION_S,
                        energy_kwh=energy,
                        status=status,
                        flags=flags,
                        unit="kWh",
                        methodology_version="bench",
                        inputs_digest="0" * 64,
                    )
        rows = N_METERS * N_DAYS
        report(
            f"write a plant-year with store_days ({rows:,} rows)",
            write.seconds,
            "s",
            f"{rows / write.seconds:,.0f} rows/s, one transaction per meter",
        )
        async with services.db.tenant(scope) as db:
            await db.execute(text(f'ANALYZE "{scope.schema}".interval_days'))
            size = await db.scalar(text(f"SELECT pg_total_relation_size('\"{scope.schema}\".interval_days')"))

        end = START + timedelta(days=N_DAYS)

        async def load() -> object:
            async with services.db.tenant(scope) as db:
                return await load_interval_matrix(
                    db, meter_ids, start_day=START, end_day=end, resolution_s=RESOLUTION_S
                )

        async def fetch_only() -> int:
            """The load's own statement, its packed values fetched and dropped (bytes only)."""
            async with services.db.tenant(scope) as db:
                raw = await (await db.connection()).get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                days = 0
                async for _, packed, _ in driver.cursor(
                    _LOAD_PACKED_SQL.format(schema=scope.quoted_schema),
                    meter_ids,
                    START,
                    end,
                    RESOLUTION_S,
                    PER_DAY * 8,
                    PER_DAY,
                    PER_DAY * 2,
                    prefetch=20,
                ):
                    days += len(packed) // (4 + PER_DAY * 11)
                return days

        async def fetch_rows() -> int:
            """One row per meter and day, as the load fetched them before 2026-12-02."""
            async with services.db.tenant(scope) as db:
                raw = await (await db.connection()).get_raw_connection()
                fetched = await raw.driver_connection.fetch(  # type: ignore[union-attr]
                    f"SELECT meter_id, day, energy, status, flags FROM {scope.quoted_schema}.interval_days "
                    "WHERE meter_id = ANY($1::uuid[]) AND day >= $2 AND day < $3 AND resolution_s = $4",
                    meter_ids,
                    START,
                    end,
                    RESOLUTION_S,
                )
                return len(fetched)

        # The first load measures RSS: later loads reuse memory the allocator kept from earlier ones.
        gc.collect()
        baseline = rss()
        can_reset = reset_peak_rss()
        matrix = await load()
        peak = peak_rss() if can_reset else None
        retained = rss() - baseline
        energy = matrix.energy_kwh  # type: ignore[attr-defined]
        assert energy.shape == (N_METERS, N_DAYS * PER_DAY), energy.shape
        assert int(np.isnan(energy).sum()) <= N_METERS * 50 and np.nanmax(energy) > 0
        array_bytes = sum(a.nbytes for a in (energy, matrix.status, matrix.flags))  # type: ignore[attr-defined]
        del matrix, energy
        gc.collect()

        samples = []
        for _ in range(3):
            with Timer() as t:
                result = await load()
            samples.append(t.seconds)
            del result
            gc.collect()
        fetch_samples, row_samples = [], []
        for _ in range(3):
            with Timer() as t:
                assert await fetch_only() == rows
            fetch_samples.append(t.seconds)
            gc.collect()
            with Timer() as t:
                assert await fetch_rows() == rows
            row_samples.append(t.seconds)
            gc.collect()

        best = min(samples)
        verdict = "meets" if best <= TARGET_S else "MISSES"
        report(
            f"load_interval_matrix, {N_METERS} meters x {N_DAYS} days, best of 3",
            best,
            "s",
            f"{verdict} the {TARGET_S:g} s target; runs {', '.join(f'{s:.3f}' for s in samples)}",
        )
        report(
            "  of which the query (same statement, fetched only)",
            min(fetch_samples),
            "s",
            f"{size / 2**20:.0f} MiB table",
        )
        report("  for comparison: one row per meter-day, fetched only", min(row_samples), "s", f"{rows:,} rows")

        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        result = await load()
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del result
        report("  load: tracemalloc peak", traced_peak / 2**20, "MiB", f"result arrays {array_bytes / 2**20:.0f} MiB")
        if peak is not None:
            report("  first load: peak RSS growth (VmHWM)", (peak - baseline) / 2**20, "MiB")
        report("  first load: RSS retained while the matrix is held", retained / 2**20, "MiB")


if __name__ == "__main__":
    asyncio.run(main())
