"""calculations.provisional: a batch's figure from the readings delivered so far (derived by the job
itself), a new version when more arrive, none when nothing changed; a batch ending in the future waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from arq import Retry
from sqlalchemy import select

from backend.provisional.models import ProvisionalFootprint
from tests.factories.production import make_catalogue, record
from tests.factories.site import make_plant
from tests.factories.tenants import client_token, make_client, make_tenant
from tests.integration.test_ingest_intervals import counters, day_start, post, readings
from workers.jobs.provisional import compute_provisional

# the plant draws 300 kW on MAIN, of which SUB1 and SUB2 (line L1) 200 and 50 kW
LOADS = {"MAIN": 300.0, "SUB1": 200.0, "SUB2": 50.0}


async def deliver(http, token, start_s: int, end_s: int) -> None:
    """Counter readings every minute in [start_s, end_s], continuing one constant-load counter per meter."""
    origin = day_start(3)
    for code, kw in LOADS.items():
        ts, kwh = counters(origin, 4, kw)
        keep = (ts >= start_s) & (ts <= end_s)
        response = await post(http, token, readings(code, ts[keep], kwh[keep]))
        assert response.status_code == 200, response.text


async def versions(services, owner) -> list[ProvisionalFootprint]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = await db.execute(select(ProvisionalFootprint).order_by(ProvisionalFootprint.version))
        return list(rows.scalars())


async def test_a_batch_gets_a_figure_from_the_data_so_far_and_a_new_version_when_more_arrives(services, http):
    # given: yesterday's batch 06:00-09:00 UTC on L1, and readings up to 08:20 only
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    day = day_start(1)
    local_midnight = day - 3600  # Europe/Belgrade in winter
    await deliver(http, token, local_midnight - 120, day + 8 * 3600 + 20 * 60)
    start = datetime.fromtimestamp(day + 6 * 3600, UTC)
    batch_id = await record(services, owner, plant, "B-LIVE", start, start + timedelta(hours=3), mass=6.0)
    ctx = {"services": services}
    # when: the job runs (nothing was derived yet: the job derives first)
    first = await compute_provisional(ctx, str(owner.tenant.id), str(batch_id))
    # then: the figure covers the data up to 08:15, the rest of the batch is missing
    assert first["status"] == "stored" and first["version"] == 1, first
    [v1] = await versions(services, owner)
    assert v1.data_until == datetime.fromtimestamp(day + 8 * 3600 + 15 * 60, UTC)
    # the only batch of its local day takes the whole day's energy so far (line, overhead and idle)
    hours = (day + 8 * 3600 + 15 * 60 - local_midnight) / 3600
    assert v1.energy_kwh == pytest.approx(300.0 * hours, rel=1e-6)
    assert v1.missing_share == pytest.approx(0.75 / 3, rel=1e-3)
    assert v1.see_indirect > 0 and v1.see_total == pytest.approx(v1.see_indirect + v1.see_direct)
    assert v1.electricity_kwh_per_t == pytest.approx(v1.energy_kwh / 6.0)
    assert v1.factor_refs and len(v1.inputs_digest) == len(v1.output_digest) == 64

    # when: the rest of the morning arrives, and the job runs again (and once more with nothing new)
    await deliver(http, token, day + 8 * 3600 + 21 * 60, day + 10 * 3600)
    second = await compute_provisional(ctx, str(owner.tenant.id), str(batch_id))
    third = await compute_provisional(ctx, str(owner.tenant.id), str(batch_id))
    # then: a second version with the whole batch measured; the first is kept
    assert second["status"] == "stored" and second["version"] == 2
    assert third["status"] == "unchanged" and third["version"] == 2
    v1_again, v2 = await versions(services, owner)
    assert v1_again.energy_kwh == v1.energy_kwh
    assert v2.missing_share == 0.0 and v2.data_until == datetime.fromtimestamp(day + 10 * 3600, UTC)
    assert v2.energy_kwh == pytest.approx(300.0 * (day + 10 * 3600 - local_midnight) / 3600, rel=1e-6)


async def test_a_batch_that_has_not_ended_yet_is_computed_after_its_end(services):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    now = datetime.now(UTC).replace(microsecond=0)
    batch_id = await record(services, owner, plant, "B-SOON", now - timedelta(hours=1), now + timedelta(minutes=3))
    with pytest.raises(Retry) as deferred:
        await compute_provisional({"services": services}, str(owner.tenant.id), str(batch_id))
    assert 170 <= deferred.value.defer_score / 1000 <= 185
    assert await versions(services, owner) == []


async def test_a_deleted_batch_is_no_error(services):
    import uuid

    owner = await make_tenant(services)
    answer = await compute_provisional({"services": services}, str(owner.tenant.id), str(uuid.uuid4()))
    assert answer == {"status": "no_batch"}


async def test_a_batch_whose_inputs_cannot_be_loaded_is_not_computed_and_says_why(services):
    # given: an installation without any electricity meter
    owner = await make_tenant(services)
    plant = await make_plant(services, owner, meters=())
    await make_catalogue(services, owner, plant)
    start = datetime.fromtimestamp(day_start(1) + 6 * 3600, UTC)
    batch_id = await record(services, owner, plant, "B-NOMETER", start, start + timedelta(hours=2))
    # when
    answer = await compute_provisional({"services": services}, str(owner.tenant.id), str(batch_id))
    # then
    assert answer == {"status": "not_computed", "code": "NO_MAIN_METER"}
    assert await versions(services, owner) == []
