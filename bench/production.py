"""An MES export of 20,000 batches, end to end: submitted (kept as evidence, queued through the outbox),
run by an arq worker with progress, every row checked, stored in one transaction.

Both formats: CSV (semicolon, decimal comma, UTC times as dd.mm.yyyy hh:mm, kg) and Excel (.xlsx, read-only mode).
The upload's commit hands the job to Redis through the outbox; an arq worker in burst mode runs the
platform's job ``production.import_batches`` from there, as the worker process does.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta

from bench.common import Timer, burst_worker, owner_db, report, scratch_platform

N_BATCHES = 20_000
HEADER = ["Charge", "Presse", "Artikel", "Legierung", "Beginn", "Ende", "Netto kg", "Schrott kg", "Auftrag"]


def _rows(prefix: str, start: datetime) -> list[list[object]]:
    """Batches alternating on two lines, 2 h each with 15 min between them on a line, all in the past."""
    rows: list[list[object]] = []
    for i in range(N_BATCHES):
        line = "EXT-1" if i % 2 == 0 else "EXT-2"
        begin = start + timedelta(minutes=135 * (i // 2))
        end = begin + timedelta(hours=2)
        rows.append(
            [
                f"{prefix}-{i:06d}",
                line,
                "PRF-6060" if i % 3 else "TUB-6063",
                "6060",
                begin,
                end,
                5000 + i % 700,
                420,
                f"SO-{i}",
            ]
        )
    return rows


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    out.write(";".join(HEADER) + "\n")
    for r in rows:
        cells = [f"{c:%d.%m.%Y %H:%M}" if isinstance(c, datetime) else str(c).replace(".", ",") for c in r]
        out.write(";".join(cells) + "\n")
    return out.getvalue().encode()


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Chargen")
    sheet.append(HEADER)
    for r in rows:
        sheet.append([c.replace(tzinfo=None) if isinstance(c, datetime) else c for c in r])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def main() -> None:
    from backend.identity.principal import Principal
    from backend.installations.schemas import InstallationData, LineData, ProcessData
    from backend.installations.service import create_installation, create_line, create_process
    from backend.production import imports, service
    from backend.production.models import BatchImport, BatchImportStatus, ProductionRoute
    from backend.production.schemas import MappingData, ProductData
    from backend.tenants.models import TenantKind
    from tenancy.provisioning import NewTenant, create_tenant
    from workers.jobs.production import import_batches

    async with scratch_platform("production") as services:
        tenant = await create_tenant(
            owner_db(),
            NewTenant(name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}", kind=TenantKind.EXPORTER),
            actor=Principal.system("bench"),
        )
        actor = Principal.system("bench", tenant.id)
        async with services.db.tenant(tenant.scope()) as db:  # type: ignore[attr-defined]
            plant = await create_installation(db, actor, InstallationData(name="Bench plant", country="RS"))
            process = await create_process(db, actor, ProcessData(plant.id, "EXTRUSION", "Extrusion"))
            for code in ("EXT-1", "EXT-2"):
                await create_line(db, actor, LineData(process.id, code, code))
            for code, cn in (("PRF-6060", "76042100"), ("TUB-6063", "76082081")):
                await service.create_product(
                    db,
                    actor,
                    ProductData(code=code, name=code, cn_code=cn, production_route=ProductionRoute.ALL_ROUTES),
                )
            await imports.save_mapping(
                db,
                actor,
                MappingData(
                    name="MES",
                    columns={
                        "batch_number": "Charge",
                        "line": "Presse",
                        "product": "Artikel",
                        "alloy": "Legierung",
                        "started_at": "Beginn",
                        "ended_at": "Ende",
                        "net_mass": "Netto kg",
                        "scrap": "Schrott kg",
                        "order_ref": "Auftrag",
                    },
                    # the MES writes UTC: local wall-clock times repeat or skip an hour at the clock changes
                    timezone="UTC",
                    date_format="%d.%m.%Y %H:%M",
                    mass_unit="kg",
                    delimiter=";",
                    decimal=",",
                    sheet="Chargen",
                ),
            )
        # two files of the same shape, in separate years so that they never overlap
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        files = {
            "csv": _csv(_rows("C", now - timedelta(days=2000))),
            "xlsx": _xlsx(_rows("X", now - timedelta(days=1000))),
        }
        worker = burst_worker(services, import_batches, "production.import_batches")
        for fmt, data in files.items():
            with Timer() as submit:
                async with services.db.tenant(tenant.scope()) as db:  # type: ignore[attr-defined]
                    job = await imports.submit_batch_file(
                        db,
                        services.store,  # type: ignore[attr-defined]
                        actor,
                        installation_id=plant.id,
                        mapping_name="MES",
                        data=data,
                        filename=f"mes.{fmt}",
                        max_bytes=200_000_000,
                    )
            # the commit handed the job to Redis through the outbox; the worker runs it from there
            with Timer() as run:
                await worker.main()
            async with services.db.tenant(tenant.scope()) as db:  # type: ignore[attr-defined]
                done = await db.get(BatchImport, job.id)
            assert done is not None and done.status == BatchImportStatus.COMPLETED, done and done.errors[:3]
            assert done.batches_stored == N_BATCHES, done.batches_stored
            total = submit.seconds + run.seconds
            report(f"{fmt}: file size", len(data) / 1e6, "MB")
            report(f"{fmt}: upload (evidence + job + outbox)", submit.seconds, "s")
            report(f"{fmt}: worker job (read, check, store {N_BATCHES:,} batches)", run.seconds, "s")
            report(f"{fmt}: end to end", total, "s")
            report(f"{fmt}: throughput end to end", N_BATCHES / total, "rows/s")


if __name__ == "__main__":
    asyncio.run(main())
