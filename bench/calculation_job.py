"""A calculation run of a plant-year from the database to stored results: the job ``calculations.run``.

The synthetic plant-year of ``bench.calculation`` (200 electricity meters at 15 minutes, two gas
meters, 6 lines, 20,000 batches with a precursor each, 4 products) is written into a scratch tenant
the way the platform stores it: meters and lines through their services, a year of interval days
per meter with ``store_days``, batches checked and stored as an MES import stores them. Supply: the
solar and the wind PPA come from a renewable developer's tenant (a plant and an accepted connection
each; the solar plant's 15-minute and the wind farm's hourly settlement CSVs stored by the
developer's import job) and are read through the contracts' grants; the own PV is an own-generation
contract on the generation meter.

Then a run of 2026 is started as the GraphQL mutation starts it, and the job function runs it in
this process: begin, load the inputs, the engine off the event loop (with the output digest),
write the results and footprint versions. Three runs one after another (each finishes before the
next starts); the time of the job and of its stages (wrapped around the job's own functions, which
run unchanged) is printed for the best, and then for one more run with Python's garbage collector
off, to show what collections cost while the job holds tens of thousands of ORM objects.
``python -m bench.calculation_job --profile`` also prints cProfile's view of the last run.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import inspect
import pstats
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bench.calculation import RESOLUTION_S, YEAR, ZONE, synthetic_inputs
from bench.common import burst_worker, owner_db, report, scratch_platform
from bench.figures import Timer

YEAR_START = datetime(YEAR, 1, 1, tzinfo=UTC)
# The published factors start on 2026-01-01 (CBAM's definitive period), and 2026 is not over: the
# run is started as on the first day of 2027 (start_run's and check_batches' ``now``). The PPA
# settlement data ends where the developer's import stops it: nothing after the real today.
AS_OF = datetime(YEAR + 1, 1, 1, 12, tzinfo=UTC)
TARGET_S = 3.0
RUNS = 3
GAS_DENSITY_T_PER_M3 = 0.00075  # the supplier's figure, given with the run
PROFILE = "--profile" in sys.argv[1:]  # the last run under cProfile: where the job's time goes


def _settlement_csv(kwh: np.ndarray, start_s: int, step_s: int) -> bytes:
    """A developer's generation CSV: one row per ``step_s`` interval (kWh to 3 decimals)."""
    lines = ["interval_start,interval_end,energy_kwh,quality"]
    for i, value in enumerate(kwh):
        a = datetime.fromtimestamp(start_s + i * step_s, UTC)
        b = datetime.fromtimestamp(start_s + (i + 1) * step_s, UTC)
        lines.append(f"{a.isoformat()},{b.isoformat()},{value:.3f},actual")
    return ("\n".join(lines) + "\n").encode()


class Stages:
    """Seconds spent in each wrapped function, per run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap_async(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


async def main() -> None:
    from backend.calculations import inputs as calculation_inputs
    from backend.calculations import repository as calculation_repository
    from backend.calculations import service as calculations
    from backend.calculations.models import CalculationRun, RunStatus
    from backend.calculations.schemas import RunRequest
    from backend.developers import flows
    from backend.developers.models import SettlementUpload, UploadStatus
    from backend.developers.schemas import PlantData, Terms
    from backend.developers.service import create_plant
    from backend.developers.settlement import submit_generation
    from backend.identity.principal import Principal
    from backend.installations.schemas import InstallationData, LineData, ProcessData
    from backend.installations.service import create_installation, create_line, create_process
    from backend.metering.models import Medium, MeterRole, Quantity
    from backend.metering.repository import store_days
    from backend.metering.schemas import DataPointData, MeterData
    from backend.metering.service import create_meter
    from backend.production import service as production
    from backend.production.models import BatchSource, ProductionRoute
    from backend.production.schemas import BatchRow, PrecursorData, ProductData
    from backend.supply.models import (
        BalancingResponsibility,
        ContractKind,
        DeliveryShape,
        PlantTechnology,
        PpaSettlement,
    )
    from backend.supply.schemas import ContractData, PlantFields
    from backend.supply.service import create_contract
    from backend.tenants.models import TenantKind
    from demo.supply import SOLAR
    from tenancy.provisioning import NewTenant, create_tenant
    from workers.jobs import calculations as job
    from workers.jobs.generation import import_generation

    with Timer() as built:
        plant = synthetic_inputs()
    m, n = plant.meters.energy_kwh.shape
    start_s, end_s = plant.period_start_s, plant.period_end_s
    year_end = datetime.fromtimestamp(end_s, UTC)
    # a run covers whole local days: the year in the installation's zone (its first hour precedes the
    # synthetic data's UTC grid and counts as missing)
    zone = ZoneInfo(ZONE)
    period_start = datetime(YEAR, 1, 1, tzinfo=zone).astimezone(UTC)
    period_end = datetime(YEAR + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    today_s = int(datetime.now(UTC).timestamp()) // 86_400 * 86_400

    async with scratch_platform("calculation_job") as services:
        tenants = {}
        for kind in (TenantKind.EXPORTER, TenantKind.RENEWABLE_DEVELOPER):
            tenants[kind] = await create_tenant(
                owner_db(),
                NewTenant(name=f"Bench {kind.value}", slug=f"bench-{uuid.uuid4().hex[:8]}", kind=kind),
                actor=Principal.system("bench"),
            )
        exporter, developer = tenants[TenantKind.EXPORTER], tenants[TenantKind.RENEWABLE_DEVELOPER]
        ex_actor, dev_actor = Principal.system("bench", exporter.id), Principal.system("bench", developer.id)
        scope = exporter.scope()

        # --- the site: installation, lines, meters ---------------------------------------------------
        with Timer() as site_time:
            async with services.db.tenant(scope) as db:
                site = await create_installation(
                    db,
                    ex_actor,
                    InstallationData(
                        name="Bench plant", country="RS", timezone=ZONE, interval_resolution_s=RESOLUTION_S
                    ),
                )
                process = await create_process(db, ex_actor, ProcessData(site.id, "P1", "Extrusion"))
                line_ids = []
                for code in plant.lines.codes:
                    line = await create_line(db, ex_actor, LineData(process.id, code, f"Press {code}"))
                    line_ids.append(line.id)
                meter_ids: list[uuid.UUID] = []
                roles = {"main": MeterRole.MAIN, "generation": MeterRole.GENERATION, "sub": MeterRole.SUB}
                for k in range(m):
                    role = roles[plant.meters.role[k]]
                    line_index = int(plant.meters.line[k])
                    meter = await create_meter(
                        db,
                        ex_actor,
                        MeterData(
                            installation_id=site.id,
                            code=plant.meters.codes[k],
                            name=f"Meter {plant.meters.codes[k]}",
                            medium=Medium.ELECTRICITY,
                            role=role,
                            parent_id=meter_ids[0] if role == MeterRole.SUB else None,
                            data_points=[DataPointData(Quantity.ACTIVE_ENERGY_IMPORT, "kWh")],
                            line_id=line_ids[line_index] if line_index >= 0 else None,
                        ),
                    )
                    meter_ids.append(meter.id)
                gas_ids = []
                for k, code in enumerate(plant.fuels.codes):
                    line_index = int(plant.fuels.line[k])
                    gas = await create_meter(
                        db,
                        ex_actor,
                        MeterData(
                            installation_id=site.id,
                            code=code,
                            name=f"Gas {code}",
                            medium=Medium.NATURAL_GAS,
                            role=MeterRole.SUB if k else MeterRole.MAIN,
                            data_points=[DataPointData(Quantity.GAS_VOLUME, "m3")],
                            line_id=line_ids[line_index] if line_index >= 0 else None,
                        ),
                    )
                    gas_ids.append(gas.id)

        # --- a year of interval days per meter ------------------------------------------------------
        with Timer() as intervals_time:
            series = [(meter_ids[k], plant.meters.energy_kwh[k], plant.meters.status[k], "kWh") for k in range(m)]
            series += [
                (gas_ids[k], plant.fuels.quantity[k] / GAS_DENSITY_T_PER_M3, plant.fuels.status[k], "m3")
                for k in range(len(gas_ids))
            ]
            for meter_id, values, status, unit in series:
                async with services.db.tenant(scope) as db:
                    await store_days(
                        db,
                        meter_id,
                        grid_start_s=start_s,
                        resolution_s=RESOLUTION_S,
                        energy_kwh=values,
                        status=status,
                        flags=np.zeros(n, dtype=np.uint16),
                        unit=unit,
                        methodology_version="bench",
                        inputs_digest="0" * 64,
                    )

        # --- products and 20,000 batches with a precursor each ---------------------------------------
        with Timer() as batches_time:
            b = plant.batches
            async with services.db.tenant(scope) as db:
                for q, code in enumerate(plant.products.codes):
                    await production.create_product(
                        db,
                        ex_actor,
                        ProductData(
                            code=code,
                            name=f"Aluminium {code.lower()}",
                            cn_code=plant.products.cn_codes[q],
                            production_route=ProductionRoute.ALL_ROUTES,
                        ),
                    )
                pr = plant.precursors
                rows = [
                    (
                        i + 1,
                        BatchRow(
                            batch_number=b.numbers[i],
                            product=plant.products.codes[int(b.product[i])],
                            started_at=datetime.fromtimestamp(int(b.start_s[i]), UTC),
                            ended_at=datetime.fromtimestamp(int(b.end_s[i]), UTC),
                            net_mass_t=round(float(b.net_mass_t[i]), 3),
                            line=plant.lines.codes[int(b.line[i])],
                            precursors=(
                                PrecursorData(
                                    mass_t=round(float(pr.mass_t[i]), 3),
                                    cn_code="7601 20 20",
                                    description="Billets",
                                    # a defaulted precursor names no figure: the run takes the CN code's default
                                    embedded_tco2e_per_t=None if pr.defaulted[i] else round(float(pr.see_direct[i]), 4),
                                    emissions_source="" if pr.defaulted[i] else "supplier",
                                ),
                            ),
                        ),
                    )
                    for i in range(len(b.ids))
                ]
                checked = await production.check_batches(
                    db, site, rows, now=AS_OF, source=BatchSource.FILE, source_ref="bench"
                )
                await production.store_checked(db, checked)
            # a worker process holds none of this: left alive, 20,000 rows of Python objects would
            # make every garbage collection during the job slower
            del rows, checked

        # --- two PPAs from a developer's tenant, the own PV on its meter -----------------------------
        with Timer() as supply_time:
            worker = burst_worker(services, import_generation, "developers.import_generation")
            contract_end = year_end + timedelta(days=365)
            wind = PlantFields(
                name="Wind Kovačica 6 MW",
                technology=PlantTechnology.WIND_ONSHORE,
                capacity_kw=6_000.0,
                commissioning_date=SOLAR.commissioning_date.replace(year=2019),
                latitude=45.11,
                longitude=20.62,
                country="RS",
                bidding_zone="RS",
            )
            solar = PlantFields(
                name="Solar 10 MWp",
                technology=PlantTechnology.SOLAR_PV,
                capacity_kw=10_000.0,
                commissioning_date=SOLAR.commissioning_date.replace(year=2020),
                latitude=SOLAR.latitude,
                longitude=SOLAR.longitude,
                country="RS",
                bidding_zone="RS",
            )
            hourly_wind = plant.supply.energy_kwh[1].reshape(-1, 3600 // RESOLUTION_S).sum(axis=1)
            for reference, fields, kwh, step in (
                ("BENCH-PPA-SOLAR", solar, plant.supply.energy_kwh[0], RESOLUTION_S),
                ("BENCH-PPA-WIND", wind, hourly_wind, 3600),
            ):
                async with services.db.tenant(scope) as db:
                    contract = await create_contract(
                        db,
                        ex_actor,
                        ContractData(
                            installation_id=site.id,
                            kind=ContractKind.PPA,
                            reference=reference,
                            title=f"PPA {fields.name}",
                            period_start=YEAR_START,
                            period_end=contract_end,
                            counterparty="Bench developer",
                            settlement=PpaSettlement.PHYSICAL,
                            delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
                            balancing_responsibility=BalancingResponsibility.SUPPLIER,
                            plant=fields,
                        ),
                    )
                async with services.db.tenant(developer.scope()) as db:
                    generator = await create_plant(db, dev_actor, PlantData(fields))
                invited, _ = await flows.invite_offtaker(
                    services.db,
                    dev_actor,
                    offtaker_id=exporter.id,
                    plant_id=generator.id,
                    terms=Terms(
                        reference,
                        f"PPA {fields.name}",
                        YEAR_START,
                        contract_end,
                        PpaSettlement.PHYSICAL,
                        DeliveryShape.PAY_AS_PRODUCED,
                    ),
                )
                connection, _ = await flows.accept(
                    services.db, ex_actor, connection_id=invited.id, contract_id=contract.id
                )
                async with services.db.tenant(developer.scope()) as db:
                    upload = await submit_generation(
                        db,
                        services.store,
                        dev_actor,
                        connection,
                        data=_settlement_csv(kwh[: max(0, today_s - start_s) // step], start_s, step),
                        filename=f"{reference.lower()}-{YEAR}.csv",
                        max_bytes=50_000_000,
                    )
                    upload_id = upload.id
                await worker.main()
                async with services.db.tenant(developer.scope()) as db:
                    done = await db.get(SettlementUpload, upload_id)
                assert done is not None and done.status == UploadStatus.COMPLETED, done and done.errors[:3]
            await worker.close()
            async with services.db.tenant(scope) as db:
                await create_contract(
                    db,
                    ex_actor,
                    ContractData(
                        installation_id=site.id,
                        kind=ContractKind.OWN_GENERATION,
                        reference="BENCH-OWN-PV",
                        title="Roof PV 2 MWp",
                        period_start=YEAR_START,
                        plant=PlantFields(
                            name="Roof PV",
                            technology=PlantTechnology.SOLAR_PV,
                            capacity_kw=2_000.0,
                            commissioning_date=SOLAR.commissioning_date.replace(year=2021),
                            latitude=SOLAR.latitude,
                            longitude=SOLAR.longitude,
                            country="RS",
                            bidding_zone="RS",
                        ),
                        generator_meter_id=meter_ids[1],
                        same_legal_entity=True,
                    ),
                )

        report(
            "plant-year written (not part of the figures)",
            built.seconds + site_time.seconds + intervals_time.seconds + batches_time.seconds + supply_time.seconds,
            "s",
            f"site {site_time.seconds:.1f} s, {m + len(gas_ids)} meters' intervals {intervals_time.seconds:.1f} s, "
            f"{len(plant.batches.ids):,} batches {batches_time.seconds:.1f} s, PPAs {supply_time.seconds:.1f} s",
        )

        # --- the job, stage by stage ----------------------------------------------------------------
        stages = Stages()
        job.load_inputs = stages.wrap_async("load inputs", job.load_inputs)  # type: ignore[assignment]
        calculation_inputs.interval_matrix = stages.wrap_async(  # type: ignore[assignment]
            "  of which interval data", calculation_inputs.interval_matrix
        )
        calculation_inputs.inputs_digest = stages.wrap(  # type: ignore[assignment]
            "  of which inputs digest", calculation_inputs.inputs_digest
        )
        job._calculate = stages.wrap("engine and output digest", job._calculate)  # type: ignore[assignment]
        calculations.finish_run = stages.wrap_async(  # type: ignore[assignment]
            "write results and footprints", calculations.finish_run
        )
        # finer stages, where the profile found the time (the functions named exist in the loader and
        # the repository of the calculations domain; a missing one is left out)
        for module, name, label in (
            (calculation_inputs, "_supply", "  of which supply (PPA reads through the grants)"),
            (calculation_inputs, "_sha256", "  of which the manifest's hashes"),
            (calculation_repository, "insert_rows", "  of which inserting product results and checks"),
            (calculation_repository, "copy_batch_results", "  of which inserting batch results (COPY)"),
        ):
            function = getattr(module, name, None)
            if function is not None:
                wrap = stages.wrap_async if inspect.iscoroutinefunction(function) else stages.wrap
                setattr(module, name, wrap(label, function))
        ctx = {"services": services}

        async def one_run(profile: bool = False) -> tuple[float, dict[str, float], dict[str, Any], dict[str, Any]]:
            async with services.db.tenant(scope) as db:
                run, created = await calculations.start_run(
                    db,
                    ex_actor,
                    TenantKind.EXPORTER,
                    RunRequest(
                        installation_id=site.id,
                        start=period_start,
                        end=period_end,
                        fuel_density_t_per_m3={"natural_gas": GAS_DENSITY_T_PER_M3},
                    ),
                    now=AS_OF,
                )
                assert created
                run_id = run.id
            gc.collect()
            stages.seconds.clear()
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()
            with Timer() as whole:
                outcome = await job.run_calculation(ctx, str(exporter.id), str(run_id))
            if profiler is not None:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"backend|workers|sqlalchemy/orm", 45)
            async with services.db.tenant(scope) as db:
                done_run = await db.get(CalculationRun, run_id)
                assert done_run is not None
                assert done_run.status == RunStatus.SUCCEEDED, (outcome, done_run.error_code, done_run.error_message)
                summary = dict(done_run.summary)
            return whole.seconds, dict(stages.seconds), outcome, summary

        def print_stages(total: float, seconds: dict[str, float]) -> None:
            accounted = sum(v for k, v in seconds.items() if not k.startswith(" "))
            for name, value in seconds.items():
                report(f"  {name}", value, "s")
            report("  the rest (begin, checkpoints, commits)", total - accounted, "s")

        runs = [await one_run(profile=PROFILE and i == RUNS - 1) for i in range(RUNS)]
        best_total, best_stages, outcome, summary = min(runs, key=lambda r: r[0])
        verdict = "meets" if best_total <= TARGET_S else "MISSES"
        report(
            f"calculations.run, {m} meters x {n:,} intervals, best of {RUNS}",
            best_total,
            "s",
            f"{verdict} the {TARGET_S:g} s target; runs {', '.join(f'{r[0]:.2f}' for r in runs)}",
        )
        print_stages(best_total, best_stages)
        report(
            "  consumption of the run",
            float(summary.get("consumption_kwh") or 0) / 1e6,
            "GWh",
            f"{outcome.get('footprints')} footprint versions",
        )
        # the same run with Python's garbage collector off: the difference is what collections of
        # the job's own objects (ORM rows of batches, precursors, settlement intervals) cost
        gc.disable()
        try:
            off_total, off_stages, _, _ = await one_run()
        finally:
            gc.enable()
        report("the same run with the garbage collector off", off_total, "s", "one run, for comparison")
        print_stages(off_total, off_stages)


if __name__ == "__main__":
    asyncio.run(main())
