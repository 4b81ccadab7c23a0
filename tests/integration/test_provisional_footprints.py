"""Provisional footprints through GraphQL: the latest version of a batch (also on the batch), its
versions, and the comparison with the final figure of the latest succeeded run covering the batch;
refused across tenants, to a client bound to another installation and without footprints:read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.calculations.models import CalculationRun, RunBatchResult, RunStatus
from backend.provisional import repository
from tests.factories.production import make_catalogue, record
from tests.factories.site import make_plant
from tests.factories.tenants import Bearer, client_token, login, make_client, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

T0 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
MASS = 5.0


def figures(version: int, *, energy: float, direct: float = 0.0, indirect: float = 0.0) -> dict[str, Any]:
    return {
        "version": version,
        "computed_at": T0 + timedelta(hours=3, seconds=20 * version),
        "data_until": T0 + timedelta(hours=2, minutes=45 + 15 * (version - 1)),
        "window_start": datetime(2026, 11, 2, 23, tzinfo=UTC),
        "window_end": datetime(2026, 11, 3, 23, tzinfo=UTC),
        "energy_kwh": energy,
        "electricity_kwh_per_t": energy / MASS,
        "matched_kwh": energy / 2,
        "matched_share": 0.5,
        "direct_tco2": direct,
        "indirect_tco2": indirect,
        "precursor_direct_tco2": 0.0,
        "precursor_indirect_tco2": 0.0,
        "see_direct": direct / MASS,
        "see_indirect": indirect / MASS,
        "see_total": (direct + indirect) / MASS,
        "measured_share": 0.9,
        "estimated_share": 0.0,
        "missing_share": 0.1,
        "factor_refs": ["grid RS 2026"],
        "warnings": [],
        "methodology_version": "1",
        "inputs_digest": f"{version:064x}",
        "output_digest": f"{version + 100:064x}",
    }


async def stored_batch(services, owner, *, versions: list[dict[str, Any]]) -> tuple[Any, uuid.UUID]:
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    batch_id = await record(services, owner, plant, "B-1", T0, T0 + timedelta(hours=3), mass=MASS)
    async with services.db.tenant(owner.tenant.scope()) as db:
        for values in versions:
            repository.insert(db, {"batch_id": batch_id, "installation_id": plant.installation_id, **values})
    return plant, batch_id


async def add_run(
    services, owner, plant, batch_id, *, status=RunStatus.SUCCEEDED, start=None, end=None, energy=110.0, indirect=0.55
) -> uuid.UUID:
    async with services.db.tenant(owner.tenant.scope()) as db:
        run = CalculationRun(
            installation_id=plant.installation_id,
            period_start=start or datetime(2026, 10, 31, 23, tzinfo=UTC),
            period_end=end or datetime(2026, 11, 30, 23, tzinfo=UTC),
            matching_resolution="hour",
            parameters={},
            methodology_version="1",
            status=status,
            job_id=f"calc:{uuid.uuid4()}",
            created_by="tests",
            finished_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
        )
        db.add(run)
        await db.flush()
        db.add(
            RunBatchResult(
                run_id=run.id,
                batch_id=batch_id,
                batch_number="B-1",
                product_id=uuid.uuid4(),
                line_id=None,
                started_at=T0,
                ended_at=T0 + timedelta(hours=3),
                net_mass_t=MASS,
                energy_kwh=energy,
                line_kwh=energy,
                overhead_kwh=0.0,
                idle_kwh=0.0,
                matched_kwh=0.0,
                direct_tco2=0.0,
                precursor_direct_tco2=0.0,
                precursor_indirect_tco2=0.0,
                indirect_tco2=indirect,
                measured_share=1.0,
                estimated_share=0.0,
                missing_share=0.0,
                matched_by_source={},
            )
        )
        return run.id


async def test_the_latest_version_is_shown_and_every_version_is_kept(services, http):
    # given: two versions, the second with the batch's last interval delivered
    owner = await make_tenant(services)
    plant, batch_id = await stored_batch(
        services, owner, versions=[figures(1, energy=90.0, indirect=0.45), figures(2, energy=100.0, indirect=0.5)]
    )
    session = await login(http, owner.email)
    # when
    latest = await session.gql(operation("ProvisionalFootprint"), {"batchId": gid("ProductionBatch", batch_id)})
    history = await session.gql(
        operation("ProvisionalFootprintVersions"), {"batchId": gid("ProductionBatch", batch_id)}
    )
    listed = await session.gql(
        operation("RecentBatchesWithProvisionalFootprints"),
        {"installationId": gid("Installation", plant.installation_id)},
    )
    # then
    footprint = latest["data"]["provisionalFootprint"]
    assert footprint["version"] == 2 and footprint["energyKwh"] == 100.0
    assert footprint["seeTotal"] == pytest.approx(0.1) and footprint["electricityKwhPerT"] == pytest.approx(20.0)
    assert footprint["dataUntil"] == "2026-11-03T09:00:00+00:00" and footprint["factorRefs"] == ["grid RS 2026"]
    assert [v["version"] for v in history["data"]["provisionalFootprintVersions"]] == [2, 1]
    node = listed["data"]["productionBatches"]["edges"][0]["node"]
    assert node["provisionalFootprint"]["version"] == 2


async def test_a_batch_without_a_computed_footprint_has_none(services, http):
    owner = await make_tenant(services)
    _, batch_id = await stored_batch(services, owner, versions=[])
    session = await login(http, owner.email)
    body = await session.gql(operation("ProvisionalFootprint"), {"batchId": gid("ProductionBatch", batch_id)})
    compared = await session.gql(operation("BatchFootprintComparison"), {"batchId": gid("ProductionBatch", batch_id)})
    assert body == {"data": {"provisionalFootprint": None}}
    comparison = compared["data"]["batchFootprintComparison"]
    assert comparison["provisional"] is None and comparison["final"] is None
    assert comparison["seeTotalDifference"] is None


async def test_the_comparison_takes_the_latest_succeeded_run_covering_the_batch(services, http):
    # given: a provisional figure, a succeeded run over November, and runs that must not count
    owner = await make_tenant(services)
    plant, batch_id = await stored_batch(services, owner, versions=[figures(1, energy=100.0, indirect=0.5)])
    run_id = await add_run(services, owner, plant, batch_id, energy=110.0, indirect=0.55)
    await add_run(services, owner, plant, batch_id, status=RunStatus.FAILED, energy=999.0, indirect=9.0)
    await add_run(
        services,
        owner,
        plant,
        batch_id,
        start=datetime(2026, 11, 3, 8, tzinfo=UTC),  # does not cover the batch's start
        end=datetime(2026, 11, 30, 23, tzinfo=UTC),
        energy=999.0,
        indirect=9.0,
    )
    session = await login(http, owner.email)
    # when
    body = await session.gql(operation("BatchFootprintComparison"), {"batchId": gid("ProductionBatch", batch_id)})
    # then
    c = body["data"]["batchFootprintComparison"]
    assert c["final"]["runId"] == gid("CalculationRun", run_id)
    assert c["final"]["seeTotal"] == pytest.approx(0.11) and c["provisional"]["seeTotal"] == pytest.approx(0.1)
    assert c["seeTotalDifference"]["absolute"] == pytest.approx(0.01)
    assert c["seeTotalDifference"]["relative"] == pytest.approx(0.01 / 0.11)
    assert c["energyKwhDifference"] == {"absolute": pytest.approx(10.0), "relative": pytest.approx(10 / 110)}
    assert c["seeDirectDifference"] == {"absolute": 0.0, "relative": None}  # final 0: no relative difference


@pytest.mark.parametrize("name", ["ProvisionalFootprint", "ProvisionalFootprintVersions", "BatchFootprintComparison"])
async def test_another_tenant_cannot_read_a_batchs_provisional_footprint(services, http, name):
    # given: A's batch with a footprint; B's owner and B's machine client
    a = await make_tenant(services)
    _, batch_id = await stored_batch(services, a, versions=[figures(1, energy=4242.0, indirect=0.5)])
    b = await make_tenant(services)
    b_session = await login(http, b.email)
    b_client = Bearer(http, await client_token(http, *await make_client(services, b, ["footprints:read"])))
    for caller in (b_session, b_client):
        # when
        body = await caller.gql(operation(name), {"batchId": gid("ProductionBatch", batch_id)})
        # then
        assert body["errors"][0]["extensions"]["code"] == "BATCH_NOT_FOUND", body
        assert "4242" not in str(body)


async def test_a_client_bound_to_another_installation_or_without_footprints_read_is_refused(services, http):
    owner = await make_tenant(services)
    _, batch_id = await stored_batch(services, owner, versions=[figures(1, energy=4242.0)])
    other = await make_plant(services, owner, meters=("O-MAIN", "O-SUB"))
    bound = Bearer(
        http,
        await client_token(
            http, *await make_client(services, owner, ["footprints:read"], installation_id=other.installation_id)
        ),
    )
    production_only = Bearer(http, await client_token(http, *await make_client(services, owner, ["production:read"])))
    variables = {"batchId": gid("ProductionBatch", batch_id)}
    hidden = await bound.gql(operation("ProvisionalFootprint"), variables)
    denied = await production_only.gql(operation("ProvisionalFootprint"), variables)
    assert hidden["errors"][0]["extensions"]["code"] == "BATCH_NOT_FOUND"
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert "4242" not in str(hidden) + str(denied)
