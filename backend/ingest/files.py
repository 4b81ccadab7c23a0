"""Historian and SCADA exports (CSV) with a column mapping: checked row by row, stored all or nothing.

The file itself is kept as evidence. A worker parses it; any bad row rejects the whole file with a
report naming each row, column and reason, and no reading of it is stored.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.errors import FieldError, NotFound, ValidationFailed
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal
from backend.ingest import repository
from backend.ingest.models import FileImport, ImportStatus, ReadingQuality
from backend.ingest.repository import PointRef, ReadingColumns, point_map
from backend.ingest.service import ReadingLimits, convert, store_delivery, unit_conversion
from backend.installations.service import get_installation
from backend.metering.units import why_not_convertible
from backend.tabular import MAX_REPORTED_ERRORS, Report, keep_as_evidence, parse_time, read_table, shown

# the mapping is stored (JSONB): every string is bounded and free of NUL
_Header = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
_Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
MAX_MAPPED_COLUMNS = 500


class ColumnMap(msgspec.Struct, forbid_unknown_fields=True):
    column: _Header
    meter: _Short
    quantity: _Short
    unit: _Short


class FileMapping(msgspec.Struct, forbid_unknown_fields=True):
    timestamp_column: _Header
    columns: Annotated[list[ColumnMap], msgspec.Meta(max_length=MAX_MAPPED_COLUMNS)]
    timestamp_format: _Short = "iso"  # or a strptime format such as "%d.%m.%Y %H:%M:%S"
    timezone: _Short = "UTC"  # for timestamps without an offset
    delimiter: _Short = ","
    decimal: _Short = "."


class ImportNotFound(NotFound):
    code = "IMPORT_NOT_FOUND"


def parse_mapping(raw: str | bytes) -> FileMapping:
    try:
        mapping = msgspec.json.decode(raw, type=FileMapping)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ValidationFailed([FieldError(f"not a valid column mapping: {exc}", field="mapping")])
    errors = []
    if mapping.timezone not in available_timezones() and mapping.timezone != "UTC":
        errors.append(FieldError("an IANA time zone", field="mapping.timezone"))
    if len(mapping.delimiter) != 1:
        errors.append(FieldError("one character", field="mapping.delimiter"))
    if mapping.decimal not in (".", ","):
        errors.append(FieldError("'.' or ','", field="mapping.decimal"))
    if not mapping.columns:
        errors.append(FieldError("map at least one column", field="mapping.columns"))
    if errors:
        raise ValidationFailed(errors)
    return mapping


def check_mapping(mapping: FileMapping, points: dict[tuple[str, str], PointRef]) -> None:
    errors = []
    for i, col in enumerate(mapping.columns):
        point = points.get((col.meter, col.quantity))
        if point is None:
            errors.append(
                FieldError(
                    f"meter '{col.meter}' has no data point '{col.quantity}'", field=f"mapping.columns.{i}.meter"
                )
            )
        elif unit_conversion(col.unit, point.unit) is None:
            errors.append(
                FieldError(
                    f"'{col.meter}' {col.quantity} is recorded in {point.unit}; {col.unit} cannot be converted to it: "
                    f"{why_not_convertible(col.unit, point.unit)}",
                    field=f"mapping.columns.{i}.unit",
                )
            )
    if errors:
        raise ValidationFailed(errors)


async def submit_file(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    *,
    installation_id: uuid.UUID,
    data: bytes,
    filename: str,
    mapping_json: str | bytes,
    max_bytes: int,
) -> FileImport:
    """Keep the file as evidence and queue its import; the mapping is checked before anything is stored."""
    if not (
        principal.has("interval:write") or (principal.has("ingest") and principal.installation_id == installation_id)
    ):
        principal.require("interval:write")
    await get_installation(db, principal, installation_id)
    mapping = parse_mapping(mapping_json)
    check_mapping(mapping, await point_map(db, installation_id))
    document = await keep_as_evidence(
        db,
        store,
        principal,
        data=data,
        filename=filename,
        content_type="text/csv",
        kind=EvidenceKind.SCADA_EXPORT,
        title=f"Meter data export {filename}",
        installation_id=installation_id,
        max_bytes=max_bytes,
    )
    job = FileImport(
        installation_id=installation_id,
        document_id=document.id,
        mapping=msgspec.to_builtins(mapping),
        created_by=principal.label,
    )
    db.add(job)
    await db.flush()
    await record(
        db,
        principal,
        "file_import.submitted",
        "file_import",
        job.id,
        details={"document_sha256": document.sha256, "filename": filename},
    )
    scope = tenant_scope_of(db)
    defer_job(db, "ingest.import_file", str(scope.tenant_id), str(job.id), job_id=f"import:{scope.tenant_id}:{job.id}")
    return job


@dataclass
class ParsedFile:
    columns: ReadingColumns
    rows: int
    errors: list[dict[str, Any]]
    # (row, column) of each reading in the columns, to name it in the report
    origins: list[tuple[int, str]] = field(default_factory=list)


def parse_rows(
    data: bytes, mapping: FileMapping, points: dict[tuple[str, str], PointRef], *, now: datetime, limits: ReadingLimits
) -> ParsedFile:
    """Readings of every mapped cell, or the list of what is wrong with which row and column."""
    report = Report()
    errors, fail = report.errors, report.fail
    table = read_table(data, "csv", report, delimiter=mapping.delimiter)
    if table is None:
        return ParsedFile(ReadingColumns(), 0, errors)
    header = table.header
    for needed in [mapping.timestamp_column, *(c.column for c in mapping.columns)]:
        if needed not in header:
            fail(1, needed, "MISSING_COLUMN", f"the header has no column {shown(needed)}")
    if errors:
        return ParsedFile(ReadingColumns(), 0, errors)
    zone = ZoneInfo(mapping.timezone)
    horizon = now + timedelta(seconds=limits.max_future_skew_s)
    columns = ReadingColumns()
    origins: list[tuple[int, str]] = []
    seen: set[tuple[uuid.UUID, datetime]] = set()
    rows = 0
    for line_no, row in table.rows:
        rows += 1
        try:
            ts = parse_time((row.get(mapping.timestamp_column) or "").strip(), mapping.timestamp_format, zone)
        except ValueError:
            fail(
                line_no,
                mapping.timestamp_column,
                "BAD_TIMESTAMP",
                f"{shown(row.get(mapping.timestamp_column))} is not a time in format {mapping.timestamp_format}",
            )
            continue
        if ts > horizon:
            fail(line_no, mapping.timestamp_column, "TIMESTAMP_IN_FUTURE", f"{ts.isoformat()} is in the future")
            continue
        if ts < limits.floor:
            fail(
                line_no,
                mapping.timestamp_column,
                "TIMESTAMP_BEFORE_FLOOR",
                f"{ts.isoformat()} is before {limits.floor.isoformat()}, the earliest time accepted",
            )
            continue
        for col in mapping.columns:
            cell = (row.get(col.column) or "").strip()
            point = points[(col.meter, col.quantity)]
            problem = limits.outside_service(line_no, point, ts)
            if problem is not None:
                fail(line_no, col.column, problem["code"], problem["message"].replace("reading", "row", 1))
                continue
            if (point.data_point_id, ts) in seen:
                fail(line_no, col.column, "DUPLICATE_TIMESTAMP", f"{ts.isoformat()} appears twice")
                continue
            seen.add((point.data_point_id, ts))
            if cell == "":
                value, quality, reason = None, ReadingQuality.MISSING, "empty_cell"
            else:
                try:
                    value = float(cell.replace(mapping.decimal, ".") if mapping.decimal == "," else cell)
                except ValueError:
                    fail(line_no, col.column, "NOT_A_NUMBER", f"{shown(cell)} is not a number")
                    continue
                if col.unit != point.unit:
                    value = convert(value, col.unit, point.unit)
                    if unit_conversion(col.unit, point.unit) is None:  # the data point changed since submission
                        fail(line_no, col.column, "UNIT_MISMATCH", why_not_convertible(col.unit, point.unit))
                        continue
                if value is None or not math.isfinite(value):
                    fail(line_no, col.column, "NOT_FINITE", f"{shown(cell)} is not a finite number")
                    continue
                quality, reason = ReadingQuality.GOOD, None
            columns.append(point.data_point_id, ts, value, int(quality), reason)
            origins.append((line_no, col.column))
    if rows == 0 and not errors:
        fail(2, "", "NO_ROWS", "the file has a header but no data rows")
    return ParsedFile(columns, rows, errors, origins)


async def run_import(
    db: AsyncSession, store: ObjectStore, actor: Principal, import_id: uuid.UUID, *, limits: ReadingLimits
) -> FileImport:
    """Parse a queued file and store its readings, or reject it with the row report."""
    job = await repository.import_for_update(db, import_id)
    if job is None:
        raise ImportNotFound("no such import")
    if job.status in FINISHED:
        return job
    document = await db.get(EvidenceDocument, job.document_id)
    assert document is not None
    mapping = msgspec.convert(job.mapping, FileMapping)
    points = await point_map(db, job.installation_id)
    now = utcnow()
    parsed = parse_rows(await store.get(document.storage_key), mapping, points, now=now, limits=limits)
    job.rows_total, job.finished_at = parsed.rows, now
    if parsed.errors:
        job.status, job.errors, job.rows_accepted = ImportStatus.REJECTED, parsed.errors, 0
        await record(db, actor, "file_import.rejected", "file_import", job.id, details={"errors": len(parsed.errors)})
        return job
    delivery = await store_delivery(
        db,
        actor,
        job.installation_id,
        parsed.columns,
        source="file",
        source_ref=str(job.id),
        body_sha256=document.sha256,
        now=now,
    )
    # a completed file's report lists the readings whose value differs from the stored one
    job.errors = [
        {
            "row": parsed.origins[c.position][0],
            "column": parsed.origins[c.position][1],
            "code": "CONFLICTS_WITH_STORED",
            "message": f"{parsed.columns.values[c.position]} differs from the stored {c.stored_value}; "
            "recorded as a reading conflict",
        }
        for c in delivery.conflicts[:MAX_REPORTED_ERRORS]
    ]
    job.status, job.rows_accepted, job.rows_duplicate = ImportStatus.COMPLETED, delivery.accepted, delivery.duplicates
    await record(
        db,
        actor,
        "file_import.completed",
        "file_import",
        job.id,
        details={
            "readings": delivery.readings,
            "accepted": delivery.accepted,
            "conflicts": len(delivery.conflicts),
            "document_sha256": document.sha256,
        },
    )
    return job


FINISHED = frozenset({ImportStatus.COMPLETED, ImportStatus.REJECTED, ImportStatus.FAILED})


async def fail_import(db: AsyncSession, actor: Principal, import_id: uuid.UUID, code: str, message: str) -> bool:
    """End an import that could not run to its end as failed, with the reason; False if it had ended."""
    job = await repository.import_for_update(db, import_id)
    if job is None or job.status in FINISHED:
        return False
    job.status, job.finished_at, job.rows_accepted = ImportStatus.FAILED, utcnow(), 0
    job.errors = [{"row": 0, "column": "", "code": code, "message": message}]
    await record(db, actor, "file_import.failed", "file_import", job.id, details={"code": code})
    return True


async def fail_stale_imports(db: AsyncSession, actor: Principal, *, older_than: datetime) -> int:
    """Fail the imports still waiting or running since before ``older_than``: their job died."""
    stale = await repository.unfinished_import_ids(db, created_before=older_than)
    failed = 0
    for import_id in stale:
        failed += await fail_import(
            db,
            actor,
            import_id,
            "IMPORT_JOB_LOST",
            f"the import did not finish by {older_than.isoformat()} (its job was lost or stopped); "
            "nothing was stored: submit the file again",
        )
    return failed


async def list_imports(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[FileImport]:
    """An installation's file imports with their reports, newest first; readers of interval data."""
    principal.require("interval:read")
    await get_installation(db, principal, installation_id)
    return await repository.imports_of(db, installation_id)
