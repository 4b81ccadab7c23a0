"""Interval generation delivered at the delivery point, per contract: a CSV file, checked by a worker,
stored all or nothing.

The file is kept as evidence when it is submitted. The worker checks every row (format, one
resolution of 15 or 60 minutes per file, inside the contract period, not in the future, energy not
above the plant's capacity times the interval length, no interval twice in the file or already
stored); any bad row rejects the whole file with a report naming row, field and reason, and nothing
of it is stored. Progress (rows checked) is committed as the check goes.

Columns (header row, comma-separated, UTF-8; docs/renewable-developer.md):
``interval_start``, ``interval_end`` (ISO 8601 with a UTC offset), ``energy_kwh`` (energy delivered
in the interval, kWh, at most 3 decimals), optional ``quality`` (``actual`` or ``estimated``).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.developers import repository
from backend.developers.errors import UploadNotFound
from backend.developers.models import GenerationPlant, PpaConnection, SettlementUpload, UploadStatus
from backend.errors import FieldError, ValidationFailed
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal

COLUMNS = ("interval_start", "interval_end", "energy_kwh")
OPTIONAL_COLUMNS = ("quality",)
RESOLUTIONS_S = (900, 3600)
QUALITIES = {"actual": 0, "estimated": 1, "": 0}
MAX_REPORTED_ERRORS = 1000
PROGRESS_EVERY = 5000
FINISHED = frozenset({UploadStatus.COMPLETED, UploadStatus.REJECTED, UploadStatus.FAILED})
JOB = "developers.import_generation"


async def submit_generation(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    connection: PpaConnection,
    *,
    data: bytes,
    filename: str,
    max_bytes: int,
) -> SettlementUpload:
    """Keep the file as evidence and queue its check and import for a live contract with a plant."""
    principal.require("interval:write")
    if connection.plant_id is None or await db.get(GenerationPlant, connection.plant_id) is None:
        raise ValidationFailed([FieldError("the contract has no plant of yours", field="connectionId")])
    uploader = (
        principal
        if principal.has("evidence:write")
        else Principal(
            kind=principal.kind,
            id=principal.id,
            label=principal.label,
            tenant_id=principal.tenant_id,
            scopes=principal.scopes | {"evidence:write"},
        )
    )
    document, _ = await upload_document(
        db,
        store,
        uploader,
        NewDocument(
            data=data,
            filename=filename,
            content_type="text/csv",
            kind=EvidenceKind.SCADA_EXPORT,
            title=f"Interval generation {filename} ({connection.reference})",
        ),
        max_bytes=max_bytes,
    )
    upload = SettlementUpload(
        connection_id=connection.id,
        plant_id=connection.plant_id,
        document_id=document.id,
        sha256=document.sha256,
        filename=filename[:255],
        status=UploadStatus.QUEUED,
        errors=[],
        created_by=principal.label,
    )
    db.add(upload)
    await db.flush()
    await record(
        db,
        principal,
        "settlement_upload.submitted",
        "settlement_upload",
        upload.id,
        details={"connection_id": str(connection.id), "document_sha256": document.sha256, "filename": filename},
    )
    scope = tenant_scope_of(db)
    defer_job(db, JOB, str(scope.tenant_id), str(upload.id), job_id=f"generation:{scope.tenant_id}:{upload.id}")
    return upload


@dataclass(frozen=True, slots=True)
class Limits:
    """What one file of a contract is checked against."""

    period_start: datetime
    period_end: datetime
    capacity_kw: float
    now: datetime
    stored: Callable[[datetime, datetime], Awaitable[set[datetime]]]


@dataclass
class Checked:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    resolution_s: int | None = None
    energy_wh: int = 0


def _shown(cell: object, limit: int = 40) -> str:
    text = str(cell)
    return repr(text[:limit]) + ("" if len(text) <= limit else f"... ({len(text)} characters)")


def _time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


async def check_file(
    content: bytes,
    limits: Limits,
    *,
    connection_id: uuid.UUID,
    plant_id: uuid.UUID,
    upload_id: uuid.UUID,
    progress: Callable[[int], Awaitable[None]] | None = None,
) -> Checked:
    """Every row checked; the rows to store, or the report of what is wrong where."""
    out = Checked()

    def fail(row: int, column: str, code: str, message: str) -> None:
        if len(out.errors) < MAX_REPORTED_ERRORS:
            out.errors.append({"row": row, "field": column, "code": code, "message": message})

    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(0, "", "NOT_UTF8", "the file is not UTF-8 text")
        return out
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        fail(1, "", "NO_HEADER", f"the file is empty: the first row names the columns {', '.join(COLUMNS)}")
        return out
    except csv.Error as exc:
        fail(1, "", "BAD_CSV", f"the header cannot be read as CSV: {exc}")
        return out
    for name in COLUMNS:
        if name not in header:
            fail(1, name, "MISSING_COLUMN", f"the header has no column {name!r}")
    for name in header:
        if name not in COLUMNS and name not in OPTIONAL_COLUMNS:
            fail(1, name, "UNKNOWN_COLUMN", f"{_shown(name)} is not a column of this format")
    if out.errors:
        return out
    index = {name: header.index(name) for name in header}
    capacity_wh_per_s = limits.capacity_kw * 1000 / 3600
    seen: dict[datetime, int] = {}
    parsed: list[tuple[int, datetime, datetime, int, int]] = []
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            fail(line + 1, "", "BAD_CSV", f"this row cannot be read as CSV: {exc}")
            break
        line += 1
        out.total += 1
        if progress is not None and out.total % PROGRESS_EVERY == 0:
            await progress(out.total)
        if not any(c.strip() for c in cells):
            fail(line, "", "EMPTY_ROW", "the row is empty")
            continue
        if len(cells) != len(header):
            fail(line, "", "WRONG_CELL_COUNT", f"{len(cells)} cells; the header has {len(header)}")
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[index[name]].strip() if name in index else ""

        start, end = _time(cell("interval_start")), _time(cell("interval_end"))
        if start is None:
            fail(
                line,
                "interval_start",
                "BAD_TIMESTAMP",
                f"{_shown(cell('interval_start'))} is not ISO 8601 with a UTC offset",
            )
        if end is None:
            fail(
                line,
                "interval_end",
                "BAD_TIMESTAMP",
                f"{_shown(cell('interval_end'))} is not ISO 8601 with a UTC offset",
            )
        if start is None or end is None:
            continue
        length = (end - start).total_seconds()
        if length not in RESOLUTIONS_S:
            fail(line, "interval_end", "BAD_RESOLUTION", f"the interval is {length / 60:g} minutes; 15 or 60 minutes")
            continue
        if out.resolution_s is None:
            out.resolution_s = int(length)
        elif length != out.resolution_s:
            fail(
                line,
                "interval_end",
                "MIXED_RESOLUTION",
                f"a {length / 60:g}-minute interval in a file of {out.resolution_s // 60}-minute intervals",
            )
            continue
        if int(start.timestamp()) % int(length) != 0 or start.microsecond:
            fail(
                line,
                "interval_start",
                "MISALIGNED",
                f"{start.isoformat()} does not start a {length / 60:g}-minute interval",
            )
            continue
        if start < limits.period_start or end > limits.period_end:
            fail(
                line,
                "interval_start" if start < limits.period_start else "interval_end",
                "OUTSIDE_CONTRACT",
                f"{start.isoformat()} to {end.isoformat()} is outside the contract period "
                f"{limits.period_start.isoformat()} to {limits.period_end.isoformat()}",
            )
            continue
        if end > limits.now:
            fail(line, "interval_end", "IN_FUTURE", f"{end.isoformat()} has not happened yet")
            continue
        raw = cell("energy_kwh")
        try:
            energy = Decimal(raw)
        except InvalidOperation:
            fail(line, "energy_kwh", "NOT_A_NUMBER", f"{_shown(raw)} is not a number")
            continue
        if not energy.is_finite():
            fail(line, "energy_kwh", "NOT_A_NUMBER", f"{_shown(raw)} is not a finite number")
            continue
        if energy < 0:
            fail(line, "energy_kwh", "NEGATIVE", f"{raw} kWh: delivered energy is not negative")
            continue
        wh = energy * 1000
        if wh != wh.to_integral_value():
            fail(line, "energy_kwh", "TOO_PRECISE", f"{raw} kWh: at most 3 decimals (Wh)")
            continue
        if float(wh) > capacity_wh_per_s * length + 1e-6:
            fail(
                line,
                "energy_kwh",
                "ABOVE_CAPACITY",
                f"{raw} kWh in {length / 60:g} minutes is more than the plant's {limits.capacity_kw:g} kW can deliver "
                f"({capacity_wh_per_s * length / 1000:g} kWh)",
            )
            continue
        quality = cell("quality").lower()
        if quality not in QUALITIES:
            fail(line, "quality", "BAD_QUALITY", f"{_shown(quality)}: 'actual' or 'estimated'")
            continue
        if start in seen:
            fail(line, "interval_start", "DUPLICATE_INTERVAL", f"{start.isoformat()} is also in row {seen[start]}")
            continue
        seen[start] = line
        parsed.append((line, start, end, int(wh), QUALITIES[quality]))
    if out.total == 0 and not out.errors:
        fail(2, "", "NO_ROWS", "the file has a header but no data rows")
    if parsed and not out.errors:
        stored = await limits.stored(min(p[1] for p in parsed), max(p[1] for p in parsed))
        for line_no, start, _, _, _ in parsed:
            if start in stored:
                fail(
                    line_no,
                    "interval_start",
                    "ALREADY_STORED",
                    f"{start.isoformat()} is already stored for this contract",
                )
    if progress is not None:
        await progress(out.total)
    if out.errors:
        return out
    out.rows = [
        {
            "connection_id": connection_id,
            "interval_start": start,
            "interval_end": end,
            "resolution_s": out.resolution_s,
            "energy_wh": wh,
            "quality": quality,
            "plant_id": plant_id,
            "upload_id": upload_id,
        }
        for _, start, end, wh, quality in parsed
    ]
    out.energy_wh = sum(p[3] for p in parsed)
    return out


async def start_upload(db: AsyncSession, upload_id: uuid.UUID) -> SettlementUpload | None:
    """Mark a queued upload running (its own transaction, so progress shows); None if it has ended."""
    upload = await repository.upload_for_update(db, upload_id)
    if upload is None:
        raise UploadNotFound("no such upload")
    if upload.status in FINISHED:
        return None
    upload.status, upload.started_at, upload.rows_checked = UploadStatus.RUNNING, utcnow(), 0
    return upload


async def set_progress(db: AsyncSession, upload_id: uuid.UUID, rows_checked: int) -> None:
    upload = await db.get(SettlementUpload, upload_id)
    if upload is not None and upload.status == UploadStatus.RUNNING:
        upload.rows_checked = rows_checked


async def finish_upload(
    db: AsyncSession,
    store: ObjectStore,
    actor: Principal,
    upload_id: uuid.UUID,
    connection: PpaConnection,
    *,
    progress: Callable[[int], Awaitable[None]] | None = None,
) -> SettlementUpload:
    """Check the file and store its intervals, or reject it with the row report; one transaction.

    The upload's row is locked only once the check is done: ``progress`` writes it meanwhile, in
    transactions of its own.
    """
    found = await db.get(SettlementUpload, upload_id)
    if found is None:
        raise UploadNotFound("no such upload")
    if found.status in FINISHED:
        return found
    plant_id, document_id = found.plant_id, found.document_id
    db.expunge(found)
    plant = await db.get(GenerationPlant, plant_id)
    document = await db.get(EvidenceDocument, document_id)
    assert plant is not None and document is not None
    now = utcnow()

    async def stored(first: datetime, last: datetime) -> set[datetime]:
        return await repository.stored_starts(db, connection.id, first, last)

    checked = await check_file(
        await store.get(document.storage_key),
        Limits(connection.period_start, connection.period_end, plant.capacity_kw, now, stored),
        connection_id=connection.id,
        plant_id=plant.id,
        upload_id=upload_id,
        progress=progress,
    )
    upload = await repository.upload_for_update(db, upload_id)
    if upload is None:
        raise UploadNotFound("no such upload")
    if upload.status in FINISHED:  # a second run of the job finished it meanwhile
        return upload
    upload.rows_total, upload.rows_checked, upload.finished_at = checked.total, checked.total, utcnow()
    upload.resolution_s = checked.resolution_s
    if checked.errors:
        upload.status, upload.errors, upload.rows_accepted = UploadStatus.REJECTED, checked.errors, 0
        await record(
            db,
            actor,
            "settlement_upload.rejected",
            "settlement_upload",
            upload.id,
            details={"errors": len(checked.errors)},
        )
        return upload
    await repository.insert_intervals(db, checked.rows)
    upload.status, upload.errors, upload.finished_at = UploadStatus.COMPLETED, [], utcnow()
    upload.rows_accepted, upload.energy_wh = len(checked.rows), checked.energy_wh
    await record(
        db,
        actor,
        "settlement_upload.completed",
        "settlement_upload",
        upload.id,
        details={"intervals": len(checked.rows), "energy_wh": checked.energy_wh, "document_sha256": upload.sha256},
    )
    return upload


async def fail_upload(db: AsyncSession, actor: Principal, upload_id: uuid.UUID, code: str, message: str) -> bool:
    upload = await repository.upload_for_update(db, upload_id)
    if upload is None or upload.status in FINISHED:
        return False
    upload.status, upload.finished_at, upload.rows_accepted = UploadStatus.FAILED, utcnow(), 0
    upload.errors = [{"row": 0, "field": "", "code": code, "message": message}]
    await record(db, actor, "settlement_upload.failed", "settlement_upload", upload.id, details={"code": code})
    return True


async def uploads_of(db: AsyncSession, principal: Principal, connection_id: uuid.UUID) -> list[SettlementUpload]:
    principal.require("interval:read")
    return await repository.uploads(db, connection_id, limit=500)


async def get_upload(db: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> SettlementUpload:
    principal.require("interval:read")
    upload = await db.get(SettlementUpload, upload_id)
    if upload is None:
        raise UploadNotFound("no such upload", field="id")
    return upload
