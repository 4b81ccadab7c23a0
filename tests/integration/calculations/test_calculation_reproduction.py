"""Re-computing a succeeded run on the platform from the data stored now: by its organisation, and by a
verifier through a footprint grant; a change behind the run is named by the input that changed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.calculations.models import RunReproduction
from backend.calculations.recompute import recompute_bundle
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.calculations import small_plant, store_intervals
from tests.factories.jobs import work_off_queue
from tests.factories.tenants import login, make_tenant
from tests.integration.calculations.test_calculation_access import code_of
from tests.integration.calculations.test_calculation_bundle import succeeded
from tests.integration.calculations.test_calculation_runs import read_run, start
from tests.integration.calculations.test_calculation_sharing import grant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


async def reproductions_stored(services, owner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int(await db.scalar(select(func.count()).select_from(RunReproduction)))


async def audit_actions(services, owner) -> list[str]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return list((await db.execute(select(AuditEntry.action).order_by(AuditEntry.seq))).scalars())


async def test_a_run_reproduces_its_digests_from_unchanged_data(services, http):
    owner, _, session, run = await succeeded(services, http)
    # when
    body = await session.gql(operation("ReproduceCalculationRun"), {"id": run["id"]})
    # then: the same inputs and the same output hash, nothing changed
    assert "errors" not in body, body
    payload = body["data"]["reproduceCalculationRun"]
    assert payload["errors"] == []
    found = payload["reproduction"]
    assert found["inputsMatch"] is True and found["outputMatches"] is True
    assert found["outputDigest"] == found["recordedOutputDigest"] == run["outputDigest"]
    assert found["inputsDigest"] == run["inputsDigest"]
    assert found["changedInputs"] == [] and found["errorCode"] is None
    assert found["requestedBy"] == owner.email
    # and the run lists it; the audit trail names it
    listed = (await read_run(session, run["id"]))["reproductions"]
    assert [r["id"] for r in listed] == [found["id"]]
    assert "calculation_run.reproduced" in await audit_actions(services, owner)


async def test_an_interval_edited_behind_the_run_is_named_as_the_changed_input(services, http):
    owner, plant, session, run = await succeeded(services, http)
    # given: the main meter's data of the period is derived again with other values
    await store_intervals(services, owner, plant.plant.meters["MAIN"], date(2026, 11, 9), 3, 101.0)
    # when
    body = await session.gql(operation("ReproduceCalculationRun"), {"id": run["id"]})
    # then: the output hash differs, and the cause is the main meter's interval data, nothing else
    found = body["data"]["reproduceCalculationRun"]["reproduction"]
    assert found["inputsMatch"] is False and found["outputMatches"] is False
    assert found["outputDigest"] != run["outputDigest"]
    main = str(plant.plant.meters["MAIN"])
    assert [c["input"] for c in found["changedInputs"]] == [f"interval_data.meters.{main}"]
    (change,) = found["changedInputs"]
    assert change["label"] == "interval data of meter MAIN"
    assert change["recorded"] == run["manifest"]["interval_data"]["meters"][main]
    assert change["now"] != change["recorded"]


async def test_a_verifier_reproduces_a_run_through_its_footprint_grant(services, http):
    owner, plant, _, run = await succeeded(services, http)
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    await grant(services, owner, verifier, [ResourceKind.FOOTPRINT], [plant.plant.installation_id])
    caller = await login(http, verifier.email)
    grantor = gid("Organization", owner.id)
    # when: the verifier reads the run and re-computes it
    read = await caller.gql(operation("SharedCalculationRun"), {"grantorId": grantor, "id": run["id"]})
    assert "errors" not in read, read
    shared_run = read["data"]["sharedCalculationRun"]
    assert shared_run["outputDigest"] == run["outputDigest"] and shared_run["manifest"] == run["manifest"]
    assert shared_run["validationReport"] and shared_run["productResults"]
    assert shared_run["batchResults"]["nodes"]
    body = await caller.gql(operation("ReproduceSharedCalculationRun"), {"grantorId": grantor, "id": run["id"]})
    # then: the hash matches, the record stays beside the run, and the exporter's trail names both
    assert "errors" not in body, body
    found = body["data"]["reproduceSharedCalculationRun"]["reproduction"]
    assert found["outputMatches"] is True and found["outputDigest"] == run["outputDigest"]
    assert found["requestedBy"] == verifier.email
    assert found["requestedByOrganizationId"] == gid("Organization", verifier.id)
    again = await caller.gql(operation("SharedCalculationRun"), {"grantorId": grantor, "id": run["id"]})
    assert [r["id"] for r in again["data"]["sharedCalculationRun"]["reproductions"]] == [found["id"]]
    actions = await audit_actions(services, owner)
    assert "calculation_run.reproduced" in actions and "grant.used" in actions


async def test_a_run_outside_the_grant_or_without_one_is_refused_and_nothing_is_stored(services, http):
    owner, _, _, run = await succeeded(services, http)
    other_plant = await small_plant(services, owner, product_code="PRF-OTHER")
    grantor = gid("Organization", owner.id)
    # a tenant without any grant
    stranger = await login(http, (await make_tenant(services, TenantKind.VERIFIER)).email)
    for name in ("SharedCalculationRun", "ReproduceSharedCalculationRun"):
        body = await stranger.gql(operation(name), {"grantorId": grantor, "id": run["id"]})
        assert code_of(body) == "NO_LIVE_GRANT", body
    # a verifier whose grant names another installation
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    await grant(services, owner, verifier, [ResourceKind.FOOTPRINT], [other_plant.plant.installation_id])
    caller = await login(http, verifier.email)
    for name in ("SharedCalculationRun", "ReproduceSharedCalculationRun"):
        body = await caller.gql(operation(name), {"grantorId": grantor, "id": run["id"]})
        assert code_of(body) == "GRANT_INSTALLATION_EXCLUDES", body
    # a grant of another kind does not open runs
    reader = await make_tenant(services, TenantKind.VERIFIER)
    await grant(services, owner, reader, [ResourceKind.INTERVAL_DATA])
    body = await (await login(http, reader.email)).gql(
        operation("ReproduceSharedCalculationRun"), {"grantorId": grantor, "id": run["id"]}
    )
    assert code_of(body) == "GRANT_KIND_EXCLUDES", body
    # another organisation's own mutation does not find the run at all
    body = await stranger.gql(operation("ReproduceCalculationRun"), {"id": run["id"]})
    assert code_of(body) == "CALCULATION_RUN_NOT_FOUND", body
    assert await reproductions_stored(services, owner) == 0


async def test_a_run_without_results_cannot_be_reproduced(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)  # queued, not yet run
    body = await session.gql(operation("ReproduceCalculationRun"), {"id": started["run"]["id"]})
    assert code_of(body) == "RUN_HAS_NO_RESULTS", body
    bad = await session.gql(operation("ReproduceCalculationRun"), {"id": "not-an-id"})
    assert code_of(bad) is not None
    assert await reproductions_stored(services, owner) == 0
    await work_off_queue(services)


async def test_a_verifier_downloads_a_runs_bundle_through_its_grant_and_it_recomputes(services, http, tmp_path):
    owner, plant, _, run = await succeeded(services, http)
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    await grant(services, owner, verifier, [ResourceKind.FOOTPRINT], [plant.plant.installation_id])
    caller = await login(http, verifier.email)
    route = f"/calculations/v1/shared/{owner.id}/runs/{run['id']}/bundle"
    headers = {"X-CSRF-Token": caller.csrf}
    # when
    response = await http.get(route, cookies=caller.cookies, headers=headers)
    # then: the bundle recomputes the run's output digest offline, and the export is in the exporter's trail
    assert response.status_code == 200, response.text
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.content)
    assert recompute_bundle(path).output_digest == run["outputDigest"]
    assert "calculation_run.bundle_exported" in await audit_actions(services, owner)
    # a tenant without a grant gets nothing
    stranger = await login(http, (await make_tenant(services, TenantKind.VERIFIER)).email)
    refused = await http.get(route, cookies=stranger.cookies, headers={"X-CSRF-Token": stranger.csrf})
    assert refused.status_code in (403, 404), refused.text
    assert "NO_LIVE_GRANT" in refused.text
