"""A succeeded run's calculation bundle: downloaded over REST, it recomputes the run's output digest; refused
to another organisation, and when the stored data changed since the run."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.calculations.bundle import read_bundle
from tests.factories.calculations import small_plant, store_intervals
from tests.factories.jobs import work_off_queue
from tests.factories.tenants import login, make_tenant
from tests.integration.calculations.test_calculation_runs import read_run, start
from workers.engine.calculation import calculate


async def succeeded(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    run = await read_run(session, started["run"]["id"])
    assert run["status"] == "SUCCEEDED"
    return owner, plant, session, run


async def download(http, session, run_id: str):
    return await http.get(
        f"/calculations/v1/runs/{run_id}/bundle", cookies=session.cookies, headers={"X-CSRF-Token": session.csrf}
    )


async def test_a_runs_bundle_recomputes_its_output_digest(services, http, tmp_path):
    owner, _, session, run = await succeeded(services, http)
    # when
    response = await download(http, session, run["id"])
    # then: a zip whose inputs give the run's inputs digest, and whose recomputation gives its output digest
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.content)
    inputs, parameters, manifest = read_bundle(path)
    assert manifest["inputs_digest"] == run["inputsDigest"] and manifest["output_digest"] == run["outputDigest"]
    assert calculate(inputs, parameters).output_digest() == run["outputDigest"]
    assert io.BytesIO(response.content).read(2) == b"PK"
    # and the export is in the audit trail
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = set((await db.execute(select(AuditEntry.action))).scalars())
    assert "calculation_run.bundle_exported" in actions


async def test_a_bundle_is_refused_once_the_stored_data_changed(services, http):
    owner, plant, session, run = await succeeded(services, http)
    # when: a meter's data of the period is derived again with other values
    await store_intervals(services, owner, plant.plant.meters["MAIN"], date(2026, 11, 9), 3, 101.0)
    response = await download(http, session, run["id"])
    # then
    assert response.status_code == 409, response.text
    assert "RUN_INPUTS_CHANGED" in response.text


async def test_another_organisations_run_has_no_bundle(services, http):
    _, _, _, run = await succeeded(services, http)
    other = await make_tenant(services)
    session = await login(http, other.email)
    response = await download(http, session, run["id"])
    assert response.status_code == 404, response.text
    assert "CALCULATION_RUN_NOT_FOUND" in response.text


async def test_a_run_without_results_has_no_bundle(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)  # queued, not yet run
    response = await download(http, session, started["run"]["id"])
    assert response.status_code == 409, response.text
    assert "RUN_HAS_NO_RESULTS" in response.text
