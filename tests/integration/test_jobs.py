"""Worker jobs against real Redis and PostgreSQL: the sweep that catches derivations never queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arq.jobs import Job
from sqlalchemy import update

from backend.ingest.models import IngestBatch
from tests.factories.site import make_plant
from tests.factories.tenants import client_token, make_client, make_tenant
from tests.integration.test_ingest_intervals import counters, day_start, post, readings
from workers.jobs.intervals import derive_intervals, derive_pending


async def test_readings_whose_derivation_was_never_queued_are_derived_by_the_sweep(services, http):
    # given: a delivery whose queued job was lost (its batch is older than the grace period)
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    token = await client_token(
        http, *await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    )
    ts, kwh = counters(day_start(1), 1, 30.0, step_s=300)
    assert (await post(http, token, readings("SUB1", ts, kwh))).status_code == 200
    async with services.db.tenant(owner.tenant.scope()) as db:
        await db.execute(update(IngestBatch).values(received_at=datetime.now(UTC) - timedelta(minutes=10)))
    # when: the sweep runs
    result = await derive_pending({"services": services})
    # then: a derivation job for that installation is queued in Redis
    assert result["queued"] >= 1
    job_id = next(
        k.decode().removeprefix("arq:job:")
        for k in await services.redis.keys("arq:job:intervals:*sweep*")
        if str(plant.installation_id) in k.decode()
    )
    info = await Job(job_id, services.queue).info()
    assert info is not None and info.function == "intervals.derive"
    assert info.args == (str(owner.id), str(plant.installation_id))
    # and running that job derives the day and clears the backlog
    done = await derive_intervals({"services": services}, *info.args)
    assert done["meters"] == 3 and done["days"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        pending = (await db.execute(IngestBatch.__table__.select().where(IngestBatch.derived_at.is_(None)))).all()
    assert pending == []
