"""A run counts only its period: the grid of whole UTC days around the local days carries data outside the
period, which the engine ignores; a batch across the period's end counts with its part inside."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from backend.metering.arrays import day_start_s
from backend.metering.repository import store_days
from tests.factories.calculations import FIRST_DAY, local, period, small_plant, store_intervals
from tests.factories.jobs import work_off_queue
from tests.factories.production import record
from tests.factories.tenants import login, make_tenant
from tests.integration.calculations.test_calculation_runs import read_run, start
from tests.operations import operation


async def test_a_batch_across_the_period_end_counts_its_part_inside_and_data_outside_counts_nowhere(services, http):
    # given: the small plant's first local day (23:00 UTC the day before to 23:00 UTC); the main meter's
    # last UTC hour of that day (local 00:00-01:00 of the next day, outside the period) is estimated and
    # reads 1000 kWh a quarter hour; batch B-X runs from 22:00 to 02:00 local (half of it in the period)
    owner = await make_tenant(services)
    plant = await small_plant(services, owner, with_data=False)
    first = FIRST_DAY
    utc_first = first - timedelta(days=1)
    for code, kwh in (("MAIN", 100.0), ("SUB1", 50.0), ("SUB2", 47.0)):
        await store_intervals(services, owner, plant.plant.meters[code], utc_first, 1, kwh)
        await store_intervals(services, owner, plant.plant.meters[code], first + timedelta(days=1), 1, kwh)
    main = np.full(96, 100.0)
    main[-4:] = 1000.0
    status = np.zeros(96, dtype=np.uint8)
    status[-4:] = 1  # estimated
    async with services.db.tenant(owner.tenant.scope()) as db:
        for code, values, flags in (
            ("MAIN", main, status),
            ("SUB1", np.full(96, 50.0), np.zeros(96, np.uint8)),
            ("SUB2", np.full(96, 47.0), np.zeros(96, np.uint8)),
        ):
            await store_days(
                db,
                plant.plant.meters[code],
                grid_start_s=day_start_s(first),
                resolution_s=900,
                energy_kwh=values,
                status=flags,
                flags=np.zeros(96, dtype=np.uint16),
                unit="kWh",
                methodology_version="1",
                inputs_digest="test",
            )
    await record(
        services,
        owner,
        plant.plant,
        "B-X",
        local(first, 22),
        local(first + timedelta(days=1), 2),
        product="PRF-2990",
        mass=4.0,
    )
    session = await login(http, owner.email)
    period_start, period_end = period(first, 1)

    # when
    started = await start(session, plant, period_start, period_end)
    await work_off_queue(services)

    # then: one local day of 100 kWh a quarter hour; nothing of the hour after the period
    run = await read_run(session, started["run"]["id"])
    assert run["status"] == "SUCCEEDED", run
    assert run["summary"]["consumption_kwh"] == pytest.approx(100.0 * 96)
    report = {(c["code"], c["subject"]): c for c in run["validationReport"]}
    assert report[("metering_gaps", "MAIN")]["status"] == "PASS"
    body = await session.gql(operation("CalculationResults"), {"id": run["id"]})
    results = body["data"]["calculationRun"]
    batches = {b["batchNumber"]: b for b in results["batchResults"]["nodes"]}
    assert set(batches) == {"B-1", "B-2", "B-X"}
    # B-X: its two hours inside (line 97 + overhead 3 kWh a quarter hour), all of them measured, and its
    # share of the day's 14 idle hours by net mass 4 of 5 + 5 + 4 t
    assert batches["B-X"]["lineKwh"] == pytest.approx(97.0 * 8)
    assert batches["B-X"]["overheadKwh"] == pytest.approx(3.0 * 8)
    assert batches["B-X"]["idleKwh"] == pytest.approx(400.0 * 14 * 4 / 14)
    assert batches["B-X"]["measuredShare"] == pytest.approx(1.0)
    assert batches["B-X"]["netMassT"] == pytest.approx(4.0)  # the whole batch's mass
    assert sum(b["energyKwh"] for b in batches.values()) == pytest.approx(100.0 * 96)
    # the activity level counts B-X's mass pro rata of its time inside: 5 + 5 + 4 x 2/4 t
    (product,) = results["productResults"]
    assert product["netMassT"] == pytest.approx(12.0)
    assert product["electricityMwhPerT"]["value"] == pytest.approx(9.6 / 12.0)
    assert "batch_across_period_edge" in {w["code"] for w in run["warnings"]}
