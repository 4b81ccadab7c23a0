"""Supply in a calculation: a PPA's settlement intervals read from the developer's tenant through the contract
grant and matched hour by hour with the plant's consumption, recorded in the manifest and the breakdown."""

from __future__ import annotations

import pytest

from backend.production import service as production
from backend.production.models import ProductionRoute
from backend.production.schemas import ProductData
from tests.factories.calculations import FIRST_DAY, N_DAYS, local, period, store_intervals
from tests.factories.jobs import work_off_queue
from tests.factories.production import record
from tests.factories.supply import generation_csv, make_ppa_world
from tests.factories.tenants import login
from tests.integration.calculations.test_calculation_runs import read_run
from tests.integration.test_cross_tenant import gid
from tests.integration.test_settlement_upload import submit_and_run
from tests.operations import operation


async def test_a_ppa_is_matched_from_the_developers_settlement_data_through_the_grant(services, http):
    # given: an exporter's PPA with a connected developer, who uploaded two days of 15-minute generation
    world = await make_ppa_world(services)
    start, end = period()
    out = await submit_and_run(services, http, world, generation_csv(start, N_DAYS * 96))
    assert out["upload"]["status"] == "COMPLETED", out
    supplied = sum((i % 96) * 10 for i in range(N_DAYS * 96))
    # and the exporter's plant drew 100 kWh per quarter hour, with a batch on each day
    exporter, site = world.exporter, world.site
    utc_first = FIRST_DAY.replace(day=FIRST_DAY.day - 1)
    for code, kwh in (("MAIN", 100.0), ("SUB1", 50.0), ("SUB2", 48.0)):
        await store_intervals(services, exporter, site.meters[code], utc_first, N_DAYS + 1, kwh)
    async with services.db.tenant(exporter.tenant.scope()) as db:
        await production.create_product(
            db,
            exporter.principal,
            ProductData(
                code="PRF-2990", name="Profile", cn_code="76042990", production_route=ProductionRoute.ALL_ROUTES
            ),
        )
    second = FIRST_DAY.replace(day=FIRST_DAY.day + 1)
    await record(services, exporter, site, "B-1", local(FIRST_DAY, 6), local(FIRST_DAY, 18), product="PRF-2990")
    await record(services, exporter, site, "B-2", local(second, 6), local(second, 18), product="PRF-2990")
    # when
    session = await login(http, exporter.email)
    body = await session.gql(
        operation("StartCalculationRun"),
        {
            "input": {
                "installationId": gid("Installation", site.installation_id),
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        },
    )
    run_id = body["data"]["startCalculationRun"]["run"]["id"]
    await work_off_queue(services)
    # then: the settlement data came through the grant, is named in the manifest and matched hour by hour
    run = await read_run(session, run_id)
    assert run["status"] == "SUCCEEDED", run
    (contract,) = run["manifest"]["contracts"]
    assert contract["id"] == str(world.contract_id) and contract["data"] == "developer_settlement"
    assert contract["settlement"]["intervals"] == N_DAYS * 96
    assert contract["conditions"]["eligible"] is False  # no PPA document or grid evidence filed
    hourly = [
        min(400.0, sum(((4 * h + k) % 96) * 10 for k in range(4))) for h in range(N_DAYS * 24)
    ]  # per local hour: consumption 400 kWh, supply of its four quarter hours
    assert run["summary"]["matched_kwh"] == pytest.approx(sum(hourly))
    assert run["summary"]["scores"]["hour"] == pytest.approx(sum(hourly) / (400.0 * 24 * N_DAYS))
    assert sum(hourly) < supplied
    results = await session.gql(operation("CalculationResults"), {"id": run_id})
    (product,) = results["data"]["calculationRun"]["productResults"]
    (source,) = product["breakdown"]["by_source"]
    assert source["source_id"] == str(world.contract_id) and source["tier"] == "conditions_not_met"
    assert source["matched_kwh"] == pytest.approx(sum(hourly))
    # conditions not met: every kWh at the grid default
    assert product["seeIndirect"]["value"] == pytest.approx(400.0 * 24 * N_DAYS / 1000 * 0.729 / 10.0)
