"""A scratch database, migrated, and the platform's services on it, for one benchmark run."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from backend.localservices import configure_local_services
from bench.figures import Timer, report, stats

__all__ = ["Timer", "report", "stats"]

_handles = configure_local_services()
ADMIN_URL = os.environ["CBAMX_TEST_ADMIN_URL"]
REDIS_BASE = os.environ["CBAMX_TEST_REDIS_URL"]


_owner: Any = None


def owner_db() -> Any:
    """The owner's database handle of the current scratch platform: provisioning and migrations."""
    assert _owner is not None, "only inside scratch_platform()"
    return _owner


@asynccontextmanager
async def scratch_platform(name: str) -> AsyncIterator[object]:
    """A fresh database at the platform head, and started services; dropped afterwards."""
    db_name = f"cbamx_bench_{name}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    await admin.close()
    os.environ["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name
    os.environ["REDIS_URL"] = f"{REDIS_BASE}/{os.environ.get('CBAMX_BENCH_REDIS_DB', '15')}"
    os.environ.setdefault("CBAMX_SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("CBAMX_ENVIRONMENT", "test")
    from backend.db import Database
    from backend.services import start_services
    from backend.settings import Settings
    from tenancy.migrate import upgrade_platform

    global _owner
    _owner = Database.connect(os.environ["DATABASE_URL"], pool_size=2)
    await upgrade_platform(_owner)  # as the owner; it creates the runtime role the services log in as
    services = await start_services(Settings())
    # the bench's own Redis database: jobs an interrupted run left there name a database that is gone
    await services.queue.flushdb()
    try:
        yield services
    finally:
        await _owner.dispose()
        _owner = None
        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        keys = [r["key"] for r in await conn.fetch("SELECT key FROM platform.tenants")]
        await conn.close()
        await services.close()
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        for key in keys:
            await admin.execute(f'DROP ROLE IF EXISTS "cbamx_t_{key}"')
        await admin.close()


@dataclass(frozen=True, slots=True)
class BenchPlant:
    tenant: Any
    actor: Any
    installation_id: uuid.UUID
    meter_ids: list[uuid.UUID]


async def bench_plant(services: Any, n_meters: int) -> BenchPlant:
    """An exporter with one installation and meters M000.. (M000 the main meter, the rest below it),
    each with an active-energy counter in kWh."""
    from backend.identity.principal import Principal
    from backend.installations.schemas import InstallationData
    from backend.installations.service import create_installation
    from backend.metering.models import Medium, MeterRole, Quantity
    from backend.metering.schemas import DataPointData, MeterData
    from backend.metering.service import create_meter
    from backend.tenants.models import TenantKind
    from tenancy.provisioning import NewTenant, create_tenant

    tenant = await create_tenant(
        owner_db(),
        NewTenant(name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}", kind=TenantKind.EXPORTER),
        actor=Principal.system("bench"),
    )
    actor = Principal.system("bench", tenant.id)
    meter_ids: list[uuid.UUID] = []
    async with services.db.tenant(tenant.scope()) as db:
        plant = await create_installation(db, actor, InstallationData(name="Bench plant", country="RS"))
        for m in range(n_meters):
            meter = await create_meter(
                db,
                actor,
                MeterData(
                    installation_id=plant.id,
                    code=f"M{m:03d}",
                    name=f"Meter {m}",
                    medium=Medium.ELECTRICITY,
                    role=MeterRole.MAIN if m == 0 else MeterRole.SUB,
                    parent_id=meter_ids[0] if m else None,
                    data_points=[DataPointData(Quantity.ACTIVE_ENERGY_IMPORT, "kWh")],
                ),
            )
            meter_ids.append(meter.id)
    return BenchPlant(tenant, actor, plant.id, meter_ids)


def burst_worker(services: Any, job: Any, name: str) -> Any:
    """An arq worker in burst mode with one of the platform's jobs, as the worker process runs it.

    ``await worker.main()`` takes what the outbox relay handed to Redis after a commit and returns
    once the queue is empty, so its time is the job's time plus the pick-up.
    """
    from arq import func
    from arq.worker import Worker

    return Worker(
        functions=[func(job, name=name, timeout=1800)],
        redis_pool=services.queue,
        burst=True,
        handle_signals=False,
        ctx={"services": services},
        poll_delay=0.05,
        keep_result=0,
        log_results=False,
    )
