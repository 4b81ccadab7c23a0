"""A year of 15-minute PPA settlement data (35,040 rows) end to end through the worker.

A developer's CSV of a 10 MWp solar plant's generation for 2025 (the demo's solar profile) is
submitted as the upload route does (kept as evidence, queued through the outbox), handed to Redis by
the outbox relay and run by an arq worker (burst mode, the platform's own job function), which checks
every row and stores the intervals in one transaction. Then the offtaker reads a month of the
contract's intervals through the grant, and the same file with one bad row at the end is refused.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from arq import func
from arq.worker import Worker
from sqlalchemy import func as sql_func
from sqlalchemy import select

from bench.common import Timer, owner_db, report, scratch_platform

YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
ROWS = 35_040


async def main() -> None:
    from backend.developers import flows
    from backend.developers.models import SettlementInterval, SettlementUpload, UploadStatus
    from backend.developers.reads import read_contract_intervals
    from backend.developers.schemas import PlantData, Terms
    from backend.developers.service import create_plant
    from backend.developers.settlement import submit_generation
    from backend.identity.principal import Principal
    from backend.installations.schemas import InstallationData
    from backend.installations.service import create_installation
    from backend.supply.models import BalancingResponsibility, ContractKind, DeliveryShape, PpaSettlement
    from backend.supply.schemas import ContractData
    from backend.supply.service import create_contract
    from backend.tenants.models import TenantKind
    from demo.supply import SOLAR, generation_file
    from tenancy.provisioning import NewTenant, create_tenant
    from workers.jobs.generation import import_generation

    async with scratch_platform("ppa_settlement") as services:
        tenants = {}
        for kind in (TenantKind.EXPORTER, TenantKind.RENEWABLE_DEVELOPER):
            tenants[kind] = await create_tenant(
                owner_db(),
                NewTenant(name=f"Bench {kind.value}", slug=f"bench-{uuid.uuid4().hex[:8]}", kind=kind),
                actor=Principal.system("bench"),
            )
        exporter, developer = tenants[TenantKind.EXPORTER], tenants[TenantKind.RENEWABLE_DEVELOPER]
        ex_actor, dev_actor = Principal.system("bench", exporter.id), Principal.system("bench", developer.id)
        period_end = datetime.now(UTC) + timedelta(days=365)
        async with services.db.tenant(exporter.scope()) as db:
            plant = await create_installation(db, ex_actor, InstallationData(name="Bench plant", country="RS"))
            contract = await create_contract(
                db,
                ex_actor,
                ContractData(
                    installation_id=plant.id,
                    kind=ContractKind.PPA,
                    reference="BENCH-PPA",
                    title="Bench PPA",
                    period_start=YEAR_START,
                    period_end=period_end,
                    counterparty="Bench developer",
                    settlement=PpaSettlement.PHYSICAL,
                    delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
                    balancing_responsibility=BalancingResponsibility.SUPPLIER,
                    plant=SOLAR,
                ),
            )
        async with services.db.tenant(developer.scope()) as db:
            solar = await create_plant(db, dev_actor, PlantData(SOLAR))
        invited, _ = await flows.invite_offtaker(
            services.db,
            dev_actor,
            offtaker_id=exporter.id,
            plant_id=solar.id,
            terms=Terms(
                "BENCH-PPA", "Bench PPA", YEAR_START, period_end, PpaSettlement.PHYSICAL, DeliveryShape.PAY_AS_PRODUCED
            ),
        )
        connection, _ = await flows.accept(services.db, ex_actor, connection_id=invited.id, contract_id=contract.id)

        with Timer() as build:
            content, rows, kwh = generation_file(YEAR_START, YEAR_END)
        assert rows == ROWS, rows
        report(
            "CSV built (35,040 rows, 15 min, one year)",
            build.seconds,
            "s",
            f"{len(content) / 1e6:.2f} MB, {kwh / 1000:,.0f} MWh",
        )

        worker = Worker(
            functions=[func(import_generation, name="developers.import_generation", timeout=1800)],
            redis_pool=services.queue,
            burst=True,
            handle_signals=False,
            ctx={"services": services},
            poll_delay=0.05,
            keep_result=0,
            log_results=False,
        )

        async def through_worker(data: bytes, name: str) -> tuple[float, float, float, SettlementUpload]:
            with Timer() as submit:
                async with services.db.tenant(developer.scope()) as db:
                    upload = await submit_generation(
                        db, services.store, dev_actor, connection, data=data, filename=name, max_bytes=50_000_000
                    )
                    upload_id = upload.id
            # the commit handed the job to Redis through the outbox (after-commit relay)
            with Timer() as work:
                await worker.main()
            async with services.db.tenant(developer.scope()) as db:
                done = await db.get(SettlementUpload, upload_id)
            assert done is not None
            return submit.seconds, work.seconds, submit.seconds + work.seconds, done

        submit_s, work_s, total_s, done = await through_worker(content, "year-2025.csv")
        assert done.status == UploadStatus.COMPLETED, (done.status, done.errors[:3])
        async with services.db.tenant(developer.scope()) as db:
            stored = await db.scalar(select(sql_func.count()).select_from(SettlementInterval))
        assert stored == ROWS, stored
        report("submit: file kept as evidence, job queued", submit_s, "s")
        report("worker: check 35,040 rows and store them (one transaction)", work_s, "s")
        report("end to end", total_s, "s")
        report("rows per second, end to end", ROWS / total_s, "rows/s")
        checked_s = (done.finished_at - done.started_at).total_seconds() if done.started_at and done.finished_at else 0
        report("job's own time (started to finished)", checked_s, "s")

        with Timer() as month:
            _, intervals = await read_contract_intervals(
                services,
                Principal(
                    kind="user",
                    id=str(uuid.uuid4()),
                    label="bench reader",
                    tenant_id=exporter.id,
                    scopes=frozenset({"interval:read", "site:read"}),
                ),
                connection.id,
                datetime(2025, 6, 1, tzinfo=UTC),
                datetime(2025, 7, 1, tzinfo=UTC),
            )
        report("offtaker reads June (2,880 intervals) through the grant", month.seconds, "s", f"{len(intervals)} rows")

        bad = content + b"2025-12-31T23:45:00+00:00,2026-01-01T00:00:00+00:00,99999,actual\n"
        _, _, rejected_s, rejected = await through_worker(bad, "year-2025-bad.csv")
        assert rejected.status == UploadStatus.REJECTED, rejected.status
        report(
            "a year with one bad row: refused whole, end to end",
            rejected_s,
            "s",
            f"{rejected.errors[0]['code']} at row {rejected.errors[0]['row']}",
        )
        await worker.close()


if __name__ == "__main__":
    asyncio.run(main())
