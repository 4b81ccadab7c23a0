"""Calculation runs end to end: queued through the outbox, computed by an arq worker, results and footprint
versions written whole; a double submission is one run, a cancelled or failed run stores nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from arq.constants import default_queue_name
from arq.jobs import JobStatus
from sqlalchemy import delete, func, select, update

from backend.calculations import service
from backend.calculations.models import (
    CalculationRun,
    FootprintVersion,
    RunBatchResult,
    RunProductResult,
    RunValidationCheck,
)
from backend.calculations.schemas import RunRequest
from backend.identity.principal import Principal
from backend.outbox import OutboxJob
from backend.tenants.models import TenantKind
from tests.factories.calculations import period, small_plant
from tests.factories.jobs import work_off_queue
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


async def start(session, plant, start, end, **more):
    body = await session.gql(
        operation("StartCalculationRun"),
        {
            "input": {
                "installationId": gid("Installation", plant.plant.installation_id),
                "start": start.isoformat(),
                "end": end.isoformat(),
                **more,
            }
        },
    )
    assert "errors" not in body, body
    return body["data"]["startCalculationRun"]


async def read_run(session, run_id):
    body = await session.gql(operation("CalculationRun"), {"id": run_id})
    assert "errors" not in body, body
    return body["data"]["calculationRun"]


async def stored(services, owner) -> dict[str, int]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return {
            model.__tablename__: int(await db.scalar(select(func.count()).select_from(model)))
            for model in (RunBatchResult, RunProductResult, RunValidationCheck, FootprintVersion)
        }


NOTHING = {"run_batch_results": 0, "run_product_results": 0, "run_validation_checks": 0, "footprint_versions": 0}


async def test_a_job_deferred_for_later_does_not_hold_up_a_run_that_is_due(services, http):
    # given: a job deferred for an hour is waiting in the queue (a provisional footprint's follow-up
    # left by earlier work), and a run is started
    deferred = await services.queue.enqueue_job(
        "calculations.provisional",
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        _job_id=f"later:{uuid.uuid4()}",
        _defer_by=timedelta(hours=1),
    )
    assert deferred is not None
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    try:
        # when: the queue is worked off
        await asyncio.wait_for(work_off_queue(services), timeout=60)
        # then: the run is done, and the deferred job still waits for its time
        run = await read_run(session, started["run"]["id"])
        assert run["status"] == "SUCCEEDED", run
        assert await deferred.status() == JobStatus.deferred
    finally:
        await services.queue.zrem(default_queue_name, deferred.job_id)


async def test_a_run_on_a_small_plant_allocates_the_plant_energy_to_its_batches(services, http):
    # given: a plant with two days of metered data and three batches on its line
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    # when: the exporter starts a run and a worker takes it from the queue
    started = await start(session, plant, plant.start, plant.end)
    assert started["errors"] == [] and started["created"] is True
    assert started["run"]["status"] == "QUEUED" and started["run"]["jobId"].startswith(f"calc:{owner.id}:")
    await work_off_queue(services)
    # then: the run succeeded with its manifest and digests
    run = await read_run(session, started["run"]["id"])
    assert run["status"] == "SUCCEEDED", run
    assert run["progress"] == 1.0 and run["stage"] == "done"
    assert len(run["inputsDigest"]) == 64 and len(run["outputDigest"]) == 64
    manifest = run["manifest"]
    assert set(manifest["interval_data"]["meters"]) == {str(m) for m in plant.plant.meters.values()}
    assert manifest["batches"]["count"] == 3 and manifest["output_digest"] == run["outputDigest"]
    assert any(f["kind"] == "grid_default" and f["subject"] == "RS" for f in manifest["factors"])
    # the installation drew 100 kWh per quarter hour over 2 local days
    assert run["summary"]["consumption_kwh"] == pytest.approx(100.0 * 96 * 2)
    report = {(c["code"], c["subject"]): c for c in run["validationReport"]}
    assert report[("electricity_balance", "installation")]["status"] == "PASS"
    assert report[("electricity_balance", "installation")]["figures"]["unmetered_share"] == pytest.approx(0.03)
    assert report[("metering_gaps", "MAIN")]["status"] == "PASS"
    # and every kWh went to a batch (both days had one)
    body = await session.gql(operation("CalculationResults"), {"id": run["id"]})
    results = body["data"]["calculationRun"]
    batches = {b["batchNumber"]: b for b in results["batchResults"]["nodes"]}
    assert set(batches) == {"B-1", "B-2", "B-3"}
    assert sum(b["energyKwh"] for b in batches.values()) == pytest.approx(100.0 * 96 * 2)
    assert batches["B-1"]["lineKwh"] == pytest.approx(97.0 * 16)  # 4 h of the line's two sub-meters
    (product,) = results["productResults"]
    assert product["productCode"] == "PRF-2990" and product["netMassT"] == pytest.approx(20.0)
    assert product["electricityMwhPerT"]["value"] == pytest.approx(19.2 / 20.0)
    assert product["seeIndirect"]["value"] == pytest.approx(19.2 * 0.729 / 20.0)
    assert any(ref.startswith("grid_default:RS:") for ref in product["seeIndirect"]["factorRefs"])
    assert product["seeIndirect"]["method"] and run["id"] in product["seeIndirect"]["source"]
    assert product["indirectCounts"] is False  # aluminium: direct emissions only count
    # and one footprint version was published for the product and period
    footprints = await session.gql(
        operation("ProductFootprints"), {"installationId": gid("Installation", plant.plant.installation_id)}
    )
    (version,) = footprints["data"]["productFootprints"]["nodes"]
    assert version["version"] == 1 and version["supersedesId"] is None
    assert version["outputDigest"] == run["outputDigest"]
    assert version["seeObligation"]["value"] == pytest.approx(0.0)  # no fuel, no precursors: nothing direct


async def test_the_same_run_submitted_twice_is_queued_and_computed_once(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    # when: the same calculation is submitted twice before a worker takes it
    first = await start(session, plant, plant.start, plant.end)
    second = await start(session, plant, plant.start, plant.end)
    # then: the second is the first run
    assert second["errors"] == [] and second["created"] is False
    assert second["run"]["id"] == first["run"]["id"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        jobs = (await db.execute(select(OutboxJob).where(OutboxJob.function == "calculations.run"))).scalars().all()
        assert len(jobs) == 1
    await work_off_queue(services)
    counts = await stored(services, owner)
    assert counts["footprint_versions"] == 1 and counts["run_batch_results"] == 3
    # and other parameters make another calculation
    other = await start(session, plant, plant.start, plant.end, matchingResolution="day")
    assert other["created"] is True and other["run"]["id"] != first["run"]["id"]


async def test_a_second_run_supersedes_the_footprint_and_versions_stay_unchanged(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    # when: the same calculation runs again after the first finished
    again = await start(session, plant, plant.start, plant.end)
    assert again["created"] is True
    await work_off_queue(services)
    # then: version 2 supersedes version 1, and the list shows only the newest
    body = await session.gql(operation("ProductFootprints"), {"productId": gid("Product", plant.product_id)})
    (newest,) = body["data"]["productFootprints"]["nodes"]
    assert newest["version"] == 2
    lineage = newest["lineage"]
    assert [v["version"] for v in lineage] == [2, 1]
    assert newest["supersedesId"] == lineage[1]["id"]
    everything = await session.gql(
        operation("ProductFootprints"), {"productId": gid("Product", plant.product_id), "latestOnly": False}
    )
    assert len(everything["data"]["productFootprints"]["nodes"]) == 2
    detail = await session.gql(operation("FootprintVersion"), {"id": newest["id"]})
    version = detail["data"]["footprintVersion"]
    assert version["breakdown"]["grid_factor"]["value"] == pytest.approx(0.729)
    assert version["dataQuality"]["missing_share"] == pytest.approx(0.0)
    # and PostgreSQL refuses to change or delete a version, whoever asks
    for statement in (update(FootprintVersion).values(see_total=0.0), delete(FootprintVersion)):
        with pytest.raises(Exception, match="immutable"):
            async with services.db.tenant(owner.tenant.scope()) as db:
                await db.execute(statement)
    assert (await stored(services, owner))["footprint_versions"] == 2


async def test_default_against_actual_prices_both_at_the_certificate_price(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    body = await session.gql(
        operation("DefaultAgainstActual"),
        {
            "productId": gid("Product", plant.product_id),
            "installationId": gid("Installation", plant.plant.installation_id),
            "start": plant.start.isoformat(),
            "end": plant.end.isoformat(),
            "certificatePrice": 80.0,
        },
    )
    assert "errors" not in body, body
    found = body["data"]["defaultAgainstActual"]
    assert found["default"]["value"] is not None and found["default"]["factorRefs"][0].startswith("goods_default:")
    assert found["defaultEur"] == pytest.approx(found["default"]["value"] * 20.0 * 80.0)
    assert found["actualEur"] == pytest.approx(found["actual"]["value"] * 20.0 * 80.0)
    assert found["savingEur"] == pytest.approx(found["defaultEur"] - found["actualEur"])


async def test_a_queued_run_cancelled_never_runs(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    body = await session.gql(operation("CancelCalculationRun"), {"id": started["run"]["id"]})
    assert body["data"]["cancelCalculationRun"]["run"]["status"] == "CANCELLED"
    await work_off_queue(services)
    run = await read_run(session, started["run"]["id"])
    assert run["status"] == "CANCELLED" and run["outputDigest"] is None
    assert await stored(services, owner) == NOTHING
    # and an ended run cannot be cancelled
    again = await session.gql(operation("CancelCalculationRun"), {"id": started["run"]["id"]})
    assert again["data"]["cancelCalculationRun"]["errors"][0]["code"] == "RUN_NOT_CANCELLABLE"


async def test_a_running_run_stops_at_its_next_stage_without_results(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    run_id = started["run"]["id"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        run_uuid = (await db.execute(select(CalculationRun.id))).scalar_one()
        assert await service.begin_run(db, run_uuid) is not None  # a worker has taken it
    # when: the exporter cancels while it runs
    body = await session.gql(operation("CancelCalculationRun"), {"id": run_id})
    assert body["data"]["cancelCalculationRun"]["run"]["cancelRequested"] is True
    assert body["data"]["cancelCalculationRun"]["run"]["status"] == "RUNNING"
    # then: at the next stage the run ends cancelled, nothing written
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await service.checkpoint(db, run_uuid, "calculating") is False
    run = await read_run(session, run_id)
    assert run["status"] == "CANCELLED" and run["stage"] == "cancelled"
    assert await stored(services, owner) == NOTHING


@pytest.mark.parametrize(
    ("case", "code", "named"),
    [
        ("missing_factor", "FACTOR_MISSING", "2025-11-10"),
        ("no_data", "NO_DATA", "no interval data and no production batches"),
        ("unbalanced", "METER_TREE_UNBALANCED", "sub-meters"),
    ],
)
async def test_a_failing_run_stores_nothing_and_names_the_cause(services, http, case, code, named):
    owner = await make_tenant(services)
    if case == "missing_factor":
        # the published factors begin in 2026: a period in 2025 has no grid default
        plant = await small_plant(services, owner, first=date(2025, 11, 10))
    elif case == "no_data":
        plant = await small_plant(services, owner, with_data=False, with_batches=False)
    else:
        plant = await small_plant(services, owner, main_kwh=100.0, sub_kwh=(70.0, 60.0))
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    assert started["errors"] == []
    await work_off_queue(services)
    run = await read_run(session, started["run"]["id"])
    assert run["status"] == "FAILED" and run["errorCode"] == code, run
    assert named in run["errorMessage"]
    assert run["outputDigest"] is None and run["validationReport"] == []
    assert await stored(services, owner) == NOTHING


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "2026-11-10T00:00:00+00:00"}, "start"),  # 01:00 in Belgrade
        ({"end": "2099-01-01T00:00:00+01:00"}, "end"),
        ({"start": "2025-01-01T00:00:00+01:00", "end": "2026-11-11T00:00:00+01:00"}, "end"),
        ({"matchingResolution": "week"}, "matchingResolution"),
        ({"certificatePrice": -1.0}, "certificatePrice"),
        ({"fuelDensity": {"natural_gas": 0.7}}, "fuelDensity.natural_gas"),  # kg/m3, not t/m3
        ({"fuelDensity": {"coal": 0.001}}, "fuelDensity"),
    ],
)
async def test_a_run_is_refused_naming_the_field(services, http, change, field):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner, with_data=False, with_batches=False)
    session = await login(http, owner.email)
    start_, end_ = period()
    variables = {
        "installationId": gid("Installation", plant.plant.installation_id),
        "start": start_.isoformat(),
        "end": end_.isoformat(),
        **change,
    }
    body = await session.gql(operation("StartCalculationRun"), {"input": variables})
    payload = body["data"]["startCalculationRun"]
    assert payload["run"] is None and field in {e["field"] for e in payload["errors"]}, payload
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(CalculationRun)) == 0


async def test_a_run_whose_job_died_is_failed_by_the_sweep_and_can_be_started_again(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    lost = await start(session, plant, plant.start, plant.end)
    # when: the sweep runs after the job's time is up
    async with services.db.tenant(owner.tenant.scope()) as db:
        failed = await service.fail_stale_runs(
            db, Principal.system("sweep", owner.id), older_than=datetime.now(UTC) + timedelta(seconds=1)
        )
    # then
    assert failed == 1
    run = await read_run(session, lost["run"]["id"])
    assert run["status"] == "FAILED" and run["errorCode"] == "RUN_JOB_LOST"
    again = await start(session, plant, plant.start, plant.end)
    assert again["created"] is True and again["run"]["id"] != lost["run"]["id"]


async def test_a_period_over_the_autumn_clock_change_counts_its_25_hour_day(services, http):
    # given: local days 25 and 26 October 2026 in Belgrade; the first has 25 hours
    owner = await make_tenant(services)
    plant = await small_plant(services, owner, first=date(2026, 10, 25))
    assert plant.end - plant.start == timedelta(hours=49)
    session = await login(http, owner.email)
    # when
    started = await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    # then: every quarter hour of the 49 local hours counts, once
    run = await read_run(session, started["run"]["id"])
    assert run["status"] == "SUCCEEDED", run
    assert run["summary"]["consumption_kwh"] == pytest.approx(100.0 * 4 * 49)


async def test_two_submissions_at_the_same_moment_make_one_run(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    request = RunRequest(plant.plant.installation_id, plant.start, plant.end)

    async def submit():
        async with services.db.tenant(owner.tenant.scope()) as db:
            run, created = await service.start_run(db, owner.principal, TenantKind.EXPORTER, request)
            return run.id, created

    # when: two requests start the same calculation concurrently
    results = await asyncio.gather(submit(), submit())
    # then: one run, one job; the other request answered with it
    assert results[0][0] == results[1][0]
    assert sorted(created for _, created in results) == [False, True]
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(CalculationRun)) == 1
        jobs = (await db.execute(select(OutboxJob).where(OutboxJob.function == "calculations.run"))).scalars().all()
        assert len(jobs) == 1


async def test_batch_results_come_in_pages_by_start(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    numbers, after = [], None
    while True:
        body = await session.gql(
            operation("CalculationResults"), {"id": started["run"]["id"], "first": 2, "after": after}
        )
        page = body["data"]["calculationRun"]["batchResults"]
        numbers += [b["batchNumber"] for b in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert numbers == ["B-1", "B-2", "B-3"]
