"""Use cases of production: the product catalogue, and batches from the API, files and the MES stream.

Every way in goes through :func:`check_batches` (the same row checks, each naming row, field and
reason) and stores all or nothing. PostgreSQL's exclusion constraint is the last word on overlaps
per line, so two concurrent posts cannot both store overlapping batches.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.db import new_id, utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.errors import InstallationNotFound
from backend.installations.models import Installation, ProductionLine, ProductionProcess
from backend.production import repository
from backend.production.errors import (
    BatchesRejected,
    BatchFieldError,
    BatchNotFound,
    BatchNumberTaken,
    BatchOverlaps,
    ProductCodeTaken,
    ProductNotFound,
)
from backend.production.goods import normalise_cn
from backend.production.models import BatchPrecursor, BatchSource, Product, ProductionBatch
from backend.production.schemas import BatchFilter, BatchRow, PrecursorData, ProductData
from backend.provisional.queue import queue_for_batches

# a batch may end a little after the server's clock (clocks drift); beyond this it is "in the future"
FUTURE_SKEW = timedelta(minutes=5)
MAX_BATCH_HOURS = 24 * 31
EXCLUSION = "production_batches_line_period_excl"
UNIQUE_NUMBER = "uq_production_batches_installation_id_batch_number"


def require_read(principal: Principal) -> None:
    principal.require("production:read")


def require_write(principal: Principal) -> None:
    principal.require("production:write")


async def installation_for(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> Installation:
    """The installation production data is recorded for; a client bound to another one does not see it.

    The caller has checked the production scope; site:read is not needed (an MES client has only production:*).
    """
    installation = await db.get(Installation, installation_id)
    bound = principal.installation_id if principal.kind == "client" else None
    if installation is None or (bound is not None and bound != installation_id):
        raise InstallationNotFound("no such installation", field="installationId")
    return installation


# --- products -------------------------------------------------------------------------------------------


async def list_products(
    db: AsyncSession, principal: Principal, *, after: tuple[str, uuid.UUID] | None = None, limit: int = 500
) -> list[Product]:
    """The tenant's product catalogue by code; readers of production data."""
    require_read(principal)
    return await repository.products(db, after=after, limit=limit)


async def get_product(db: AsyncSession, principal: Principal, product_id: uuid.UUID) -> Product:
    require_read(principal)
    product = await db.get(Product, product_id)
    if product is None:
        raise ProductNotFound("no such product", field="id")
    return product


def _product_values(data: ProductData, category: str) -> dict[str, Any]:
    return {
        "code": data.code,
        "name": data.name,
        "cn_code": data.normalised_cn,
        "goods_category": category,
        "production_route": data.production_route,
        "scrap_t_per_t": data.scrap_t_per_t,
        "pre_consumer_scrap_share": data.pre_consumer_scrap_share,
        "non_aluminium_share": data.non_aluminium_share,
        "description": data.description,
    }


async def create_product(db: AsyncSession, principal: Principal, data: ProductData) -> Product:
    """Add a product whose CN code is a CBAM good (Annex I); writers, not a client bound to one installation."""
    require_write(principal)
    if principal.kind == "client" and principal.installation_id is not None:
        raise PermissionDenied("a client bound to one installation cannot change the product catalogue")
    category = data.validate()
    if await repository.product_by_code(db, data.code) is not None:
        raise ProductCodeTaken(f"the product code '{data.code}' is already used", field="code")
    product = Product(**_product_values(data, category))
    db.add(product)
    await db.flush()
    await record(db, principal, "product.created", "product", product.id, after=snapshot(product))
    return product


async def update_product(db: AsyncSession, principal: Principal, product_id: uuid.UUID, data: ProductData) -> Product:
    """Change a product's details (its CN code checked again); writers."""
    require_write(principal)
    if principal.kind == "client" and principal.installation_id is not None:
        raise PermissionDenied("a client bound to one installation cannot change the product catalogue")
    category = data.validate()
    product = await get_product(db, principal, product_id)
    other = await repository.product_by_code(db, data.code)
    if other is not None and other.id != product.id:
        raise ProductCodeTaken(f"the product code '{data.code}' is already used", field="code")
    before = snapshot(product)
    for key, value in _product_values(data, category).items():
        setattr(product, key, value)
    await db.flush()
    await record(db, principal, "product.updated", "product", product.id, before=before, after=snapshot(product))
    return product


# --- batch checks ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class CheckedBatches:
    """Rows that passed every check, as the values to insert."""

    batches: list[dict[str, Any]]
    precursors: list[dict[str, Any]]


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _row_errors(
    row_no: int,
    row: BatchRow,
    *,
    products: dict[str, uuid.UUID],
    lines: dict[str, tuple[uuid.UUID, uuid.UUID]],
    processes: dict[str, uuid.UUID],
    horizon: datetime,
    fail: Any,
) -> bool:
    """The checks of one row on its own; False when it failed one."""
    ok = True

    def bad(field: str, code: str, message: str) -> None:
        nonlocal ok
        ok = False
        fail(row_no, field, code, message)

    if not row.batch_number.strip() or len(row.batch_number) > 64 or "\x00" in row.batch_number:
        bad("batchNumber", "BAD_BATCH_NUMBER", "a batch number of 1 to 64 characters")
    if row.product not in products:
        bad("product", "UNKNOWN_PRODUCT", f"no product with code '{row.product[:64]}' in the catalogue")
    if row.line and row.line not in lines:
        bad("line", "UNKNOWN_LINE", f"no line with code '{row.line[:64]}' in this installation")
    if row.process and row.process not in processes:
        bad("process", "UNKNOWN_PROCESS", f"no process with code '{row.process[:64]}' in this installation")
    if not row.line and not row.process:
        bad("line", "MISSING_LINE", "a batch is recorded on a line or a process: name one")
    if row.line in lines and row.process in processes and lines[row.line][1] != processes[row.process]:
        bad("process", "LINE_NOT_IN_PROCESS", f"line '{row.line}' does not belong to process '{row.process}'")
    if row.ended_at <= row.started_at:
        bad(
            "endedAt",
            "END_BEFORE_START",
            f"the end {row.ended_at.isoformat()} is not after the start {row.started_at.isoformat()}",
        )
    elif row.ended_at - row.started_at > timedelta(hours=MAX_BATCH_HOURS):
        bad("endedAt", "BATCH_TOO_LONG", f"a batch lasts at most {MAX_BATCH_HOURS} hours")
    for field, value in (("startedAt", row.started_at), ("endedAt", row.ended_at)):
        if value > horizon:
            bad(field, "TIME_IN_FUTURE", f"{value.isoformat()} is in the future")
    if not _finite(row.net_mass_t) or row.net_mass_t <= 0:
        bad("netMassT", "MASS_NOT_POSITIVE", f"the net output mass must be above 0 t, not {row.net_mass_t}")
    if not _finite(row.scrap_t) or row.scrap_t < 0:
        bad("scrapT", "SCRAP_NEGATIVE", f"scrap must be 0 t or more, not {row.scrap_t}")
    for text, field, limit in (
        (row.alloy, "alloy", 32),
        (row.order_ref, "orderRef", 120),
        (row.shipment_ref, "shipmentRef", 120),
    ):
        if len(text) > limit or "\x00" in text:
            bad(field, "TEXT_TOO_LONG", f"at most {limit} characters, no NUL")
    for i, p in enumerate(row.precursors):
        prefix = f"precursors.{i}."
        if not _finite(p.mass_t) or p.mass_t <= 0:
            bad(prefix + "massT", "MASS_NOT_POSITIVE", f"a precursor's mass must be above 0 t, not {p.mass_t}")
        cn = normalise_cn(p.cn_code)
        if cn and not (cn.isdigit() and 4 <= len(cn) <= 8):
            bad(prefix + "cnCode", "BAD_CN_CODE", "a CN code or heading: 4 to 8 digits")
        if p.embedded_tco2e_per_t is not None:
            if not _finite(p.embedded_tco2e_per_t) or p.embedded_tco2e_per_t < 0:
                bad(prefix + "embeddedEmissions", "BAD_EMISSIONS", "tCO2e per tonne, 0 or more")
            if not p.emissions_source.strip():
                bad(
                    prefix + "emissionsSource",
                    "EMISSIONS_WITHOUT_SOURCE",
                    "say where the embedded emissions come from (e.g. the supplier's communication)",
                )
        for text, field, limit in (
            (p.description, "description", 200),
            (p.supplier_installation, "supplierInstallation", 200),
            (p.supplier_installation_id, "supplierInstallationId", 64),
            (p.emissions_source, "emissionsSource", 300),
        ):
            if len(text) > limit or "\x00" in text:
                bad(prefix + field, "TEXT_TOO_LONG", f"at most {limit} characters, no NUL")
    return ok


async def check_batches(
    db: AsyncSession,
    installation: Installation,
    rows: Sequence[tuple[int, BatchRow]],
    *,
    now: datetime,
    source: BatchSource,
    source_ref: str,
    max_errors: int = 1000,
) -> CheckedBatches:
    """Every row checked on its own, against the others and against what is stored; raises with all problems.

    Rules: known product and line (or process), end after start, nothing in the future, net mass
    above 0, a batch number seen once (in the rows and in the installation), no two batches
    overlapping on one line (among the rows or with a stored batch).
    """
    errors: list[BatchFieldError] = []
    count = 0

    def fail(row_no: int, field: str, code: str, message: str) -> None:
        nonlocal count
        count += 1
        if len(errors) < max_errors:
            errors.append(BatchFieldError(message, field=field, code=code, row=row_no))

    products = await repository.product_ids_by_code(db)
    lines = await repository.lines_by_code(db, installation.id)
    processes = await repository.processes_by_code(db, installation.id)
    horizon = now + FUTURE_SKEW
    good: list[tuple[int, BatchRow]] = []
    seen: dict[str, int] = {}
    for row_no, given in rows:
        # in UTC: Python compares two times of the same zone object by wall clock, which is wrong across DST
        row = dataclasses.replace(
            given, started_at=given.started_at.astimezone(UTC), ended_at=given.ended_at.astimezone(UTC)
        )
        ok = _row_errors(row_no, row, products=products, lines=lines, processes=processes, horizon=horizon, fail=fail)
        first = seen.get(row.batch_number)
        if first is not None:
            fail(row_no, "batchNumber", "DUPLICATE_BATCH_NUMBER", f"batch '{row.batch_number}' is also in row {first}")
            ok = False
        else:
            seen[row.batch_number] = row_no
        if ok:
            good.append((row_no, row))
    stored = await repository.stored_batch_numbers(db, installation.id, [r.batch_number for _, r in good])
    if stored:
        for row_no, row in good:
            if row.batch_number in stored:
                fail(row_no, "batchNumber", "BATCH_NUMBER_EXISTS", f"batch '{row.batch_number}' is already stored")
        good = [(n, r) for n, r in good if r.batch_number not in stored]
    _check_overlaps(good, lines, fail)
    on_lines = [(n, r) for n, r in good if r.line]
    if on_lines:
        start = min(r.started_at for _, r in on_lines)
        end = max(r.ended_at for _, r in on_lines)
        line_ids = sorted({lines[r.line][0] for _, r in on_lines})
        existing = await repository.stored_on_lines(db, line_ids, start, end)
        if existing:
            _check_against_stored(on_lines, lines, existing, fail)
    if count:
        errors.sort(key=lambda e: (e.row, e.field or ""))
        raise BatchesRejected(errors, total=count)
    created = utcnow()
    batches: list[dict[str, Any]] = []
    precursors: list[dict[str, Any]] = []
    for _, row in good:
        batch_id = new_id()
        line_id, line_process = lines[row.line] if row.line else (None, None)
        batches.append(
            {
                "id": batch_id,
                "installation_id": installation.id,
                "batch_number": row.batch_number,
                "line_id": line_id,
                "process_id": processes[row.process] if row.process else line_process,
                "product_id": products[row.product],
                "alloy": row.alloy,
                "started_at": row.started_at,
                "ended_at": row.ended_at,
                "net_mass_t": float(row.net_mass_t),
                "scrap_t": float(row.scrap_t),
                "order_ref": row.order_ref,
                "shipment_ref": row.shipment_ref,
                "source": source,
                "source_ref": source_ref,
                "created_at": created,
            }
        )
        for position, p in enumerate(row.precursors):
            precursors.append(
                {
                    "id": new_id(),
                    "batch_id": batch_id,
                    "position": position,
                    "cn_code": normalise_cn(p.cn_code),
                    "description": p.description,
                    "mass_t": float(p.mass_t),
                    "supplier_installation": p.supplier_installation,
                    "supplier_installation_id": p.supplier_installation_id,
                    "embedded_tco2e_per_t": p.embedded_tco2e_per_t,
                    "emissions_source": p.emissions_source,
                }
            )
    return CheckedBatches(batches, precursors)


def _check_overlaps(
    rows: Sequence[tuple[int, BatchRow]], lines: dict[str, tuple[uuid.UUID, uuid.UUID]], fail: Any
) -> None:
    """Rows on one line whose times overlap (half-open [start, end)): each later one is reported."""
    by_line: dict[str, list[tuple[int, BatchRow]]] = defaultdict(list)
    for row_no, row in rows:
        if row.line:
            by_line[row.line].append((row_no, row))
    for line, items in by_line.items():
        items.sort(key=lambda item: (item[1].started_at, item[0]))
        latest: tuple[int, BatchRow] | None = None
        for row_no, row in items:
            if latest is not None and row.started_at < latest[1].ended_at:
                fail(
                    row_no,
                    "startedAt",
                    "OVERLAPPING_BATCH",
                    f"on line '{line}' this batch overlaps batch '{latest[1].batch_number}' (row {latest[0]}, "
                    f"{latest[1].started_at.isoformat()} to {latest[1].ended_at.isoformat()})",
                )
            if latest is None or row.ended_at > latest[1].ended_at:
                latest = (row_no, row)


def _check_against_stored(
    rows: Sequence[tuple[int, BatchRow]],
    lines: dict[str, tuple[uuid.UUID, uuid.UUID]],
    stored: Sequence[tuple[uuid.UUID, str, datetime, datetime]],
    fail: Any,
) -> None:
    by_line: dict[uuid.UUID, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for line_id, number, start, end in stored:
        by_line[line_id].append((start, end, number))
    for items in by_line.values():
        items.sort()
    for row_no, row in rows:
        items = by_line.get(lines[row.line][0])
        if not items:
            continue
        # stored batches starting before this one ends; the overlapping ones end after it starts
        upto = bisect.bisect_left(items, (row.ended_at,))
        for start, end, number in items[max(0, upto - 64) : upto]:
            if end > row.started_at:
                fail(
                    row_no,
                    "startedAt",
                    "OVERLAPS_STORED_BATCH",
                    f"on line '{row.line}' this batch overlaps the stored batch '{number}' "
                    f"({start.isoformat()} to {end.isoformat()})",
                )
                break


async def store_checked(db: AsyncSession, checked: CheckedBatches) -> None:
    """Insert the checked rows; a batch stored meanwhile by another request is a conflict, nothing stays.

    Batches that have ended queue their provisional footprint in the same transaction.
    """
    try:
        async with db.begin_nested():
            await repository.insert_batches(db, checked.batches, checked.precursors)
    except IntegrityError as exc:
        text = str(exc.orig)
        if EXCLUSION in text:
            raise BatchOverlaps(
                "another batch on the same line was stored for part of this time meanwhile", field="startedAt"
            ) from None
        if UNIQUE_NUMBER in text:
            raise BatchNumberTaken("this batch number was stored meanwhile", field="batchNumber") from None
        raise
    queue_for_batches(db, checked.batches, now=utcnow())


# --- one batch: the API and the MES stream -------------------------------------------------------------


async def _row_of(db: AsyncSession, batch: ProductionBatch) -> BatchRow:
    """A stored batch as a row, to compare with one posted again."""
    product = await db.get(Product, batch.product_id)
    line_codes = await repository.line_codes_by_ids(db, [batch.line_id] if batch.line_id else [])
    precursors = await repository.precursors_of(db, [batch.id])
    return BatchRow(
        batch_number=batch.batch_number,
        product=product.code if product else "",
        started_at=batch.started_at,
        ended_at=batch.ended_at,
        net_mass_t=batch.net_mass_t,
        line=line_codes.get(batch.line_id, "") if batch.line_id else "",
        alloy=batch.alloy,
        scrap_t=batch.scrap_t,
        order_ref=batch.order_ref,
        shipment_ref=batch.shipment_ref,
        precursors=tuple(
            PrecursorData(
                mass_t=p.mass_t,
                cn_code=p.cn_code,
                description=p.description,
                supplier_installation=p.supplier_installation,
                supplier_installation_id=p.supplier_installation_id,
                embedded_tco2e_per_t=p.embedded_tco2e_per_t,
                emissions_source=p.emissions_source,
            )
            for p in precursors
        ),
    )


def _comparable(row: BatchRow) -> BatchRow:
    return dataclasses.replace(
        row,
        started_at=row.started_at.astimezone(UTC),
        ended_at=row.ended_at.astimezone(UTC),
        process="",
        precursors=tuple(dataclasses.replace(p, cn_code=normalise_cn(p.cn_code)) for p in row.precursors),
    )


async def record_batch(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    row: BatchRow,
    *,
    source: BatchSource,
) -> tuple[ProductionBatch, bool]:
    """Store one batch; the same batch number posted again with the same values is no change (False).

    Writers of production data; a machine client bound to one installation records only there.
    """
    require_write(principal)
    installation = await installation_for(db, principal, installation_id)
    existing = await repository.batch_by_number(db, installation.id, row.batch_number)
    if existing is not None:
        if _comparable(await _row_of(db, existing)) == _comparable(row):
            return existing, False
        raise BatchNumberTaken(f"batch '{row.batch_number}' is already stored with other values", field="batchNumber")
    checked = await check_batches(
        db, installation, [(1, row)], now=utcnow(), source=source, source_ref=principal.label[:320]
    )
    await store_checked(db, checked)
    batch = await db.get(ProductionBatch, checked.batches[0]["id"])
    assert batch is not None
    await record(
        db,
        principal,
        "production_batch.recorded",
        "production_batch",
        batch.id,
        after={**checked.batches[0], "precursors": checked.precursors},
        details={"source": source.value},
    )
    return batch, True


async def get_batch(db: AsyncSession, principal: Principal, batch_id: uuid.UUID) -> ProductionBatch:
    require_read(principal)
    batch = await db.get(ProductionBatch, batch_id)
    if batch is None:
        raise BatchNotFound("no such batch", field="id")
    await installation_for(db, principal, batch.installation_id)  # a bound client sees its installation only
    return batch


async def list_batches(
    db: AsyncSession,
    principal: Principal,
    filters: BatchFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> tuple[Installation, list[ProductionBatch]]:
    """An installation's batches by start time (those overlapping [start, end) when given); readers."""
    require_read(principal)
    installation = await installation_for(db, principal, filters.installation_id)
    rows = await repository.list_batches(
        db,
        installation.id,
        line_id=filters.line_id,
        product_id=filters.product_id,
        start=filters.start,
        end=filters.end,
        after=after,
        limit=limit,
        inside=filters.inside,
    )
    return installation, rows


async def products_of(db: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Product]:
    """Products by id (a loader's batch function; the rows that name them were authorised)."""
    return list((await repository.products_by_ids(db, ids)).values())


async def precursors_of(db: AsyncSession, batch_ids: Sequence[uuid.UUID]) -> list[BatchPrecursor]:
    """Precursors of several batches, in order (a loader's batch function)."""
    return await repository.precursors_of(db, batch_ids)


async def lines_of(db: AsyncSession, ids: Sequence[uuid.UUID]) -> list[ProductionLine]:
    """Lines by id (a loader's batch function)."""
    return await repository.lines_by_ids(db, ids)


async def installation_timezone(db: AsyncSession, installation_id: uuid.UUID) -> str:
    installation = await db.get(Installation, installation_id)
    return installation.timezone if installation is not None else "UTC"


async def batch_row_from_ids(
    db: AsyncSession,
    *,
    installation_id: uuid.UUID,
    batch_number: str,
    product_id: uuid.UUID,
    line_id: uuid.UUID | None,
    process_id: uuid.UUID | None,
    started_at: datetime,
    ended_at: datetime,
    net_mass_t: float,
    alloy: str = "",
    scrap_t: float = 0.0,
    order_ref: str = "",
    shipment_ref: str = "",
    precursors: tuple[PrecursorData, ...] = (),
) -> BatchRow:
    """A batch given with ids (GraphQL) as the row every way in checks; an id not of this installation is named."""
    errors: list[FieldError] = []
    product = await db.get(Product, product_id)
    if product is None:
        errors.append(FieldError("no such product in the catalogue", field="productId"))
    line = await db.get(ProductionLine, line_id) if line_id else None
    if line_id and (line is None or line.installation_id != installation_id):
        errors.append(FieldError("no such line in this installation", field="lineId"))
    process = await db.get(ProductionProcess, process_id) if process_id else None
    if process_id and (process is None or process.installation_id != installation_id):
        errors.append(FieldError("no such process in this installation", field="processId"))
    if not line_id and not process_id:
        errors.append(
            FieldError("a batch is recorded on a line or a process: give lineId or processId", field="lineId")
        )
    for value, name in ((started_at, "startedAt"), (ended_at, "endedAt")):
        if value.tzinfo is None:
            errors.append(FieldError("a time with its UTC offset, e.g. 2026-11-03T06:00:00Z", field=name))
    if errors:
        raise ValidationFailed(errors)
    return BatchRow(
        batch_number=batch_number,
        product=product.code if product else "",
        started_at=started_at,
        ended_at=ended_at,
        net_mass_t=net_mass_t,
        line=line.code if line else "",
        process=process.code if process else "",
        alloy=alloy,
        scrap_t=scrap_t,
        order_ref=order_ref,
        shipment_ref=shipment_ref,
        precursors=precursors,
    )


async def record_batches(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    rows: Sequence[BatchRow],
    *,
    source: BatchSource,
    source_ref: str,
) -> int:
    """Store several batches at once (all or nothing, every row checked), with one audit entry; writers."""
    require_write(principal)
    installation = await installation_for(db, principal, installation_id)
    checked = await check_batches(
        db, installation, list(enumerate(rows, start=1)), now=utcnow(), source=source, source_ref=source_ref
    )
    await store_checked(db, checked)
    if checked.batches:
        await record(
            db,
            principal,
            "production_batches.recorded",
            "installation",
            installation.id,
            details={
                "source": source.value,
                "source_ref": source_ref,
                "batches": len(checked.batches),
                "first_batch": checked.batches[0]["batch_number"],
                "last_batch": checked.batches[-1]["batch_number"],
            },
        )
    return len(checked.batches)


async def stored_batch_numbers(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, numbers: Sequence[str]
) -> set[str]:
    """Which of these batch numbers the installation holds already; readers."""
    require_read(principal)
    installation = await installation_for(db, principal, installation_id)
    return await repository.stored_batch_numbers(db, installation.id, numbers)
