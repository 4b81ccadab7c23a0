"""A batch that has ended queues its provisional footprint through the outbox, in the batch's own
transaction: one job per batch under a deterministic id, on every way in (GraphQL, the MES stream,
an MES export file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.outbox import OutboxJob
from backend.production.models import ProductionBatch
from tests.factories.production import make_catalogue
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_tenant
from tests.integration.test_batch_import import GOOD_ROWS, MAPPING, csv_file, run, submit
from tests.integration.test_batch_stream import body, mes_client, post
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

JOB = "calculations.provisional"


def recent(hours_ago: float) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(microsecond=0)


async def provisional_jobs(services, owner) -> list[OutboxJob]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return list((await db.execute(select(OutboxJob).where(OutboxJob.function == JOB))).scalars())


async def batch_ids(services, owner) -> dict[str, str]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = (await db.execute(select(ProductionBatch.batch_number, ProductionBatch.id))).all()
    return {number: str(id_) for number, id_ in rows}


async def test_a_batch_recorded_through_graphql_queues_one_provisional_job(services, http):
    # given
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    start, end = recent(3), recent(0.01)
    given = {
        "installationId": gid("Installation", plant.installation_id),
        "batchNumber": "G-1",
        "productId": gid("Product", catalogue.profile_id),
        "lineId": gid("ProductionLine", plant.line_id),
        "startedAt": start.isoformat(),
        "endedAt": end.isoformat(),
        "netMassT": 4.5,
    }
    # when: recorded, and the same batch posted again (no change)
    first = await session.gql(operation("RecordProductionBatch"), {"input": given})
    again = await session.gql(operation("RecordProductionBatch"), {"input": given})
    # then
    assert first["data"]["recordProductionBatch"]["errors"] == []
    assert again["data"]["recordProductionBatch"]["created"] is False
    jobs = await provisional_jobs(services, owner)
    batch_id = (await batch_ids(services, owner))["G-1"]
    assert [(j.args, j.job_id) for j in jobs] == [
        ([str(owner.tenant.id), batch_id], f"provisional:{owner.tenant.id}:{batch_id}")
    ]


async def test_a_batch_posted_by_the_mes_stream_queues_its_job(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    token = await mes_client(services, http, owner, plant)
    response = await post(
        http, token, body(started_at=recent(2).isoformat(), ended_at=recent(0.001).isoformat(), precursors=[])
    )
    assert response.status_code == 201, response.text
    jobs = await provisional_jobs(services, owner)
    assert [j.job_id for j in jobs] == [f"provisional:{owner.tenant.id}:{response.json()['batch_id']}"]


async def test_a_refused_batch_queues_nothing(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    token = await mes_client(services, http, owner, plant)
    response = await post(
        http, token, body(started_at=recent(2).isoformat(), ended_at=recent(0).isoformat(), net_mass_t=0)
    )
    assert response.status_code == 422
    assert await provisional_jobs(services, owner) == []


async def test_an_mes_export_queues_one_job_per_recent_batch_and_none_for_old_ones(services, http):
    # given: two batches that ended within the last hours and the file's three batches of last month
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    saved = await session.gql(operation("SaveBatchImportMapping"), {"input": MAPPING})
    assert saved["data"]["saveBatchImportMapping"]["errors"] == []
    local = "%d.%m.%Y %H:%M"

    def belgrade(moment: datetime) -> str:
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo("Europe/Belgrade")).strftime(local)

    fresh = [
        ["R-1", "L1", "PRF-6060", "6060", belgrade(recent(5)), belgrade(recent(3)), "6400", "300", "PO-9"],
        ["R-2", "L2", "TUB-6063", "6063", belgrade(recent(4)), belgrade(recent(1)), "4100", "100", "PO-9"],
    ]
    # when
    response = await submit(http, session, plant.installation_id, csv_file(GOOD_ROWS + fresh))
    assert response.status_code == 202, response.text
    assert await provisional_jobs(services, owner) == []  # nothing until the batches are stored
    result = await run(services, owner, response.json()["import_id"])
    # then
    assert result["status"] == "completed", result
    ids = await batch_ids(services, owner)
    jobs = await provisional_jobs(services, owner)
    assert sorted(j.job_id for j in jobs) == sorted(f"provisional:{owner.tenant.id}:{ids[n]}" for n in ("R-1", "R-2"))


async def test_a_rejected_export_queues_nothing(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    await session.gql(operation("SaveBatchImportMapping"), {"input": MAPPING})
    start = recent(3).astimezone().strftime("%d.%m.%Y %H:%M")
    bad = [["X-1", "L1", "PRF-6060", "6060", start, start, "6400", "0", "PO"]]  # ends when it starts
    response = await submit(http, session, plant.installation_id, csv_file(bad))
    result = await run(services, owner, response.json()["import_id"])
    assert result["status"] == "rejected"
    assert await provisional_jobs(services, owner) == []
