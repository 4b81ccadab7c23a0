"""What powered a line hour by hour, and how a footprint came about: a PPA's settlement data matched per local
hour shows in the line's hourly series and in the footprint's explanation (the source, its conditions and the
factor it got), beside the run's digests and bundle."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from backend.production import service as production
from backend.production.models import ProductionRoute
from backend.production.schemas import ProductData
from tests.factories.calculations import FIRST_DAY, N_DAYS, local, period, store_intervals
from tests.factories.certificates import go_data, register, register_cancelled, statement_data
from tests.factories.jobs import work_off_queue
from tests.factories.production import record
from tests.factories.supply import generation_csv, make_ppa_world
from tests.factories.tenants import login, make_tenant
from tests.integration.calculations.test_calculation_runs import read_run
from tests.integration.test_cross_tenant import gid
from tests.integration.test_settlement_upload import submit_and_run
from tests.operations import operation

LINE_KWH = 50.0 + 48.0  # the two sub-meters of line L1 per quarter hour
GRID = 0.729  # the published grid default of the plant's country [tCO2e/MWh]


async def ppa_run(services, http, before_run=None):
    """The exporter's plant (100 kWh per quarter hour, 98 of them on line L1) with a PPA whose developer
    uploaded two days of 15-minute generation; a run of those two days, done."""
    world = await make_ppa_world(services)
    start, end = period()
    out = await submit_and_run(services, http, world, generation_csv(start, N_DAYS * 96))
    assert out["upload"]["status"] == "COMPLETED", out
    exporter, site = world.exporter, world.site
    for code, kwh in (("MAIN", 100.0), ("SUB1", 50.0), ("SUB2", 48.0)):
        await store_intervals(services, exporter, site.meters[code], FIRST_DAY - timedelta(days=1), N_DAYS + 1, kwh)
    async with services.db.tenant(exporter.tenant.scope()) as db:
        await production.create_product(
            db,
            exporter.principal,
            ProductData(
                code="PRF-2990", name="Profile", cn_code="76042990", production_route=ProductionRoute.ALL_ROUTES
            ),
        )
    second = FIRST_DAY + timedelta(days=1)
    await record(services, exporter, site, "B-1", local(FIRST_DAY, 6), local(FIRST_DAY, 18), product="PRF-2990")
    await record(services, exporter, site, "B-2", local(second, 6), local(second, 18), product="PRF-2990")
    if before_run is not None:
        await before_run(world)
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
    run = await read_run(session, run_id)
    assert run["status"] == "SUCCEEDED", run
    return world, session, run


def supplied_in_hour(h: int) -> float:
    return sum(((4 * h + k) % 96) * 10 for k in range(4))  # generation_csv: (i % 96) * 10 kWh per quarter hour


async def test_a_lines_hours_show_its_energy_what_was_matched_and_the_factor_applied(services, http):
    world, session, run = await ppa_run(services, http)
    start, end = period()
    line = gid("ProductionLine", world.site.line_id)
    # when: the first day is read
    body = await session.gql(
        operation("LineElectricity"),
        {
            "runId": run["id"],
            "lineId": line,
            "start": start.isoformat(),
            "end": (start + timedelta(days=1)).isoformat(),
        },
    )
    assert "errors" not in body, body
    series = body["data"]["lineElectricity"]
    hours = series["hours"]
    # then: 24 local hours from the period's start, the line's 4 x 98 kWh each, matched as the whole plant is
    assert series["lineCode"] and len(hours) == 24
    assert [datetime.fromisoformat(p["hourStart"]) for p in hours] == [start + timedelta(hours=h) for h in range(24)]
    for h, point in enumerate(hours):
        share = min(400.0, supplied_in_hour(h)) / 400.0
        assert point["energyKwh"] == pytest.approx(4 * LINE_KWH)
        assert point["matchedShare"] == pytest.approx(share)
        assert point["matchedKwh"] == pytest.approx(4 * LINE_KWH * share)
        # the PPA's conditions are not met: matched or not, every kWh carries the grid default
        assert point["factor"] == pytest.approx(GRID)
        assert len(point["factorRefs"]) == 1 and point["factorRefs"][0].startswith("grid_default:")
    assert hours[0]["matchedShare"] == pytest.approx(0.15) and hours[12]["matchedShare"] == 1.0  # 60 kWh, then 2 MWh
    # and the whole period sums to the line's energy
    whole = await session.gql(
        operation("LineElectricity"),
        {"runId": run["id"], "lineId": line, "start": start.isoformat(), "end": end.isoformat()},
    )
    assert sum(p["energyKwh"] for p in whole["data"]["lineElectricity"]["hours"]) == pytest.approx(
        4 * LINE_KWH * 24 * N_DAYS
    )


async def test_a_line_read_over_more_than_31_days_or_backwards_is_refused_naming_the_end(services, http):
    world, session, run = await ppa_run(services, http)
    start, _ = period()
    line = gid("ProductionLine", world.site.line_id)
    for end in (start + timedelta(days=32), start - timedelta(hours=1)):
        body = await session.gql(
            operation("LineElectricity"),
            {"runId": run["id"], "lineId": line, "start": start.isoformat(), "end": end.isoformat()},
        )
        assert body["data"] is None or body["data"].get("lineElectricity") is None
        error = body["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION_FAILED" and error["extensions"]["field"] == "end", error
    # and a line that is not one of the run's is not found, naming the line
    body = await session.gql(
        operation("LineElectricity"),
        {
            "runId": run["id"],
            "lineId": gid("ProductionLine", world.site.installation_id),
            "start": start.isoformat(),
            "end": (start + timedelta(days=1)).isoformat(),
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "LINE_SERIES_NOT_FOUND", body


async def test_a_footprint_explains_its_lines_its_sources_factor_and_why_its_allocation_and_digests(services, http):
    world, session, run = await ppa_run(services, http)
    versions = await session.gql(
        operation("ProductFootprints"), {"installationId": gid("Installation", world.site.installation_id)}
    )
    (version,) = versions["data"]["productFootprints"]["nodes"]
    body = await session.gql(operation("FootprintExplanation"), {"footprintVersionId": version["id"]})
    assert "errors" not in body, body
    x = body["data"]["footprintExplanation"]
    # the line that made it: both batches, their mass and energy, and where its hours are
    (line,) = x["lines"]
    assert line["lineId"] == gid("ProductionLine", world.site.line_id) and line["batches"] == 2
    assert line["netMassT"] == pytest.approx(version["netMassT"])
    assert line["energyKwh"] == pytest.approx(line["lineKwh"] + line["overheadKwh"] + line["idleKwh"])
    assert line["lineKwh"] == pytest.approx(2 * 12 * 4 * LINE_KWH)
    assert line["hourlySeries"]["runId"] == run["id"] and line["hourlySeries"]["lineId"] == line["lineId"]
    # the source: not eligible, the missing conditions named, so the grid default applied
    (source,) = x["sources"]
    assert source["sourceId"] == gid("SupplyContract", world.contract_id)
    assert source["eligible"] is False and source["missingConditions"]
    assert source["factor"] == pytest.approx(GRID) and source["factorRef"].startswith("grid_default:")
    assert all(m in source["why"] for m in source["missingConditions"])
    assert source["data"] == "developer_settlement" and source["matchedKwh"] > 0
    assert x["gridFactor"] == pytest.approx(GRID) and x["gridFactorRef"] == source["factorRef"]
    assert set(x["allocationMethods"]) == {"line_share", "overhead", "idle"}
    # and how to compute it again
    assert x["inputsDigest"] == run["inputsDigest"] and x["outputDigest"] == run["outputDigest"]
    assert x["bundleRoute"].startswith("/calculations/v1/runs/") and x["bundleRoute"].endswith("/bundle")
    response = await session.http.get(x["bundleRoute"], cookies=session.cookies, headers={"X-CSRF-Token": session.csrf})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert x["guaranteesOfOrigin"] == [] and x["guaranteesOfOriginMwh"] == 0
    assert "do not lower CBAM indirect emissions" in x["guaranteesOfOriginNote"]


async def test_another_organisation_reads_neither_a_lines_hours_nor_a_footprints_explanation(services, http):
    world, session, run = await ppa_run(services, http)
    start, _ = period()
    other = await make_tenant(services)
    stranger = await login(http, other.email)
    versions = await session.gql(
        operation("ProductFootprints"), {"installationId": gid("Installation", world.site.installation_id)}
    )
    (version,) = versions["data"]["productFootprints"]["nodes"]
    hours = await stranger.gql(
        operation("LineElectricity"),
        {
            "runId": run["id"],
            "lineId": gid("ProductionLine", world.site.line_id),
            "start": start.isoformat(),
            "end": (start + timedelta(days=1)).isoformat(),
        },
    )
    assert hours["errors"][0]["extensions"]["code"] == "CALCULATION_RUN_NOT_FOUND", hours
    explained = await stranger.gql(operation("FootprintExplanation"), {"footprintVersionId": version["id"]})
    assert explained["errors"][0]["extensions"]["code"] == "FOOTPRINT_NOT_FOUND", explained
    for body in (hours, explained):
        assert str(world.site.line_id) not in str(body) and str(world.contract_id) not in str(body)


async def test_guarantees_of_origin_cancelled_for_the_installation_are_shown_for_information_only(services, http):
    async def cancel_certificates(world):
        site = world.site
        # cancelled for this installation, produced in November (the period is 10-11 November)
        await register_cancelled(
            services,
            world.exporter,
            go_data(1, 400, production_start_on=date(2026, 11, 1), production_end_on=date(2026, 11, 30)),
            statement_data(installation_id=site.installation_id, statement_reference="EMS-CAN-2026-0042"),
        )
        # produced in October: no overlap with the period
        await register_cancelled(
            services,
            world.exporter,
            go_data(
                501,
                600,
                production_start_on=date(2026, 10, 1),
                production_end_on=date(2026, 10, 31),
                issued_on=date(2026, 11, 5),
            ),
            statement_data(installation_id=site.installation_id),
        )
        # cancelled for no installation, and one held but not cancelled
        await register_cancelled(services, world.exporter, go_data(701, 800), statement_data())
        await register(services, world.exporter, go_data(901, 1000))

    world, session, run = await ppa_run(services, http, before_run=cancel_certificates)
    versions = await session.gql(
        operation("ProductFootprints"), {"installationId": gid("Installation", world.site.installation_id)}
    )
    (version,) = versions["data"]["productFootprints"]["nodes"]
    body = await session.gql(operation("FootprintExplanation"), {"footprintVersionId": version["id"]})
    assert "errors" not in body, body
    x = body["data"]["footprintExplanation"]
    # then: only the November range cancelled for this installation, with its volume, scheme and statement
    (certificate,) = x["guaranteesOfOrigin"]
    assert certificate["volumeMwh"] == 400 and certificate["scheme"] == "go_eecs"
    assert certificate["statementReference"] == "EMS-CAN-2026-0042"
    assert x["guaranteesOfOriginMwh"] == 400
    assert "do not lower CBAM indirect emissions" in x["guaranteesOfOriginNote"]
    # and the figures do not move: every kWh at the grid default, as without certificates (the PPA is not eligible)
    results = await session.gql(operation("CalculationResults"), {"id": run["id"]})
    (product,) = results["data"]["calculationRun"]["productResults"]
    assert product["seeIndirect"]["value"] == pytest.approx(400.0 * 24 * N_DAYS / 1000 * GRID / 10.0)
    assert x["footprint"]["seeObligation"]["value"] == pytest.approx(product["seeObligation"]["value"])
