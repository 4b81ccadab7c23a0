"""Historian and SCADA exports (CSV) with a column mapping: checked row by row, stored all or nothing.

The file itself is kept as evidence. A worker parses it; any bad row rejects the whole file with a
report naming each row, column and reason, and no reading of it is stored.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.errors import FieldError, NotFound, ValidationFailed
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.service import NewDocument, SubjectRef, upload_document
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal
from backend.ingest.models import FileImport, ImportStatus
from backend.ingest.service import PointRef, insert_readings, point_map, queue_derivation
from backend.installations.service import get_installation
from backend.metering.models import IngestBatch, ReadingQuality

MAX_REPORTED_ERRORS = 1000


class ColumnMap(msgspec.Struct, forbid_unknown_fields=True):
    column: str
    meter: str
    quantity: str
    unit: str


class FileMapping(msgspec.Struct, forbid_unknown_fields=True):
    timestamp_column: str
    columns: list[ColumnMap]
    timestamp_format: str = "iso"  # or a strptime format such as "%d.%m.%Y %H:%M:%S"
    timezone: str = "UTC"  # for timestamps without an offset
    delimiter: str = ","
    decimal: str = "."


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
        elif point.unit != col.unit:
            errors.append(
                FieldError(
                    f"'{col.meter}' {col.quantity} is recorded in {point.unit}, not {col.unit}",
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
            title=f"Meter data export {filename}",
            subjects=[SubjectRef("installation", str(installation_id))],
        ),
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
    columns: list[Any]
    rows: int
    errors: list[dict[str, Any]]


def _timestamp(text: str, mapping: FileMapping, zone: ZoneInfo) -> datetime:
    value = (
        datetime.fromisoformat(text)
        if mapping.timestamp_format == "iso"
        else datetime.strptime(text, mapping.timestamp_format)
    )
    return value if value.tzinfo else value.replace(tzinfo=zone)


def parse_rows(
    data: bytes, mapping: FileMapping, points: dict[tuple[str, str], PointRef], *, now: datetime, max_future_skew_s: int
) -> ParsedFile:
    """Readings of every mapped cell, or the list of what is wrong with which row and column."""
    errors: list[dict[str, Any]] = []

    def fail(row: int, column: str, code: str, message: str) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append({"row": row, "column": column, "code": code, "message": message})

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(0, "", "NOT_UTF8", "the file is not UTF-8 text")
        return ParsedFile([], 0, errors)
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.delimiter)
    header = reader.fieldnames or []
    for needed in [mapping.timestamp_column, *(c.column for c in mapping.columns)]:
        if needed not in header:
            fail(1, needed, "MISSING_COLUMN", f"the header has no column '{needed}'")
    if errors:
        return ParsedFile([], 0, errors)
    zone = ZoneInfo(mapping.timezone)
    horizon = now + timedelta(seconds=max_future_skew_s)
    ids, stamps, values, qualities, reasons, raws = [], [], [], [], [], []
    seen: set[tuple[uuid.UUID, datetime]] = set()
    rows = 0
    for line_no, row in enumerate(reader, start=2):
        rows += 1
        try:
            ts = _timestamp((row.get(mapping.timestamp_column) or "").strip(), mapping, zone)
        except ValueError:
            fail(
                line_no,
                mapping.timestamp_column,
                "BAD_TIMESTAMP",
                f"'{row.get(mapping.timestamp_column)}' is not a time in format {mapping.timestamp_format}",
            )
            continue
        if ts > horizon:
            fail(line_no, mapping.timestamp_column, "TIMESTAMP_IN_FUTURE", f"{ts.isoformat()} is in the future")
            continue
        for col in mapping.columns:
            cell = (row.get(col.column) or "").strip()
            point = points[(col.meter, col.quantity)]
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
                    fail(line_no, col.column, "NOT_A_NUMBER", f"'{cell}' is not a number")
                    continue
                if not math.isfinite(value):
                    fail(line_no, col.column, "NOT_FINITE", f"'{cell}' is not a finite number")
                    continue
                quality, reason = ReadingQuality.GOOD, None
            ids.append(point.data_point_id)
            stamps.append(ts)
            values.append(value)
            qualities.append(int(quality))
            reasons.append(reason)
            raws.append(None)
    if rows == 0:
        fail(2, "", "NO_ROWS", "the file has a header but no data rows")
    return ParsedFile([ids, stamps, values, qualities, reasons, raws, set()], rows, errors)


async def run_import(
    db: AsyncSession, store: ObjectStore, actor: Principal, import_id: uuid.UUID, *, max_future_skew_s: int
) -> FileImport:
    """Parse a queued file and store its readings, or reject it with the row report."""
    job = await db.get(FileImport, import_id, with_for_update=True)
    if job is None:
        raise ImportNotFound("no such import")
    if job.status in (ImportStatus.COMPLETED, ImportStatus.REJECTED):
        return job
    document = await db.get(EvidenceDocument, job.document_id)
    assert document is not None
    mapping = msgspec.convert(job.mapping, FileMapping)
    points = await point_map(db, job.installation_id)
    now = utcnow()
    parsed = parse_rows(
        await store.get(document.storage_key), mapping, points, now=now, max_future_skew_s=max_future_skew_s
    )
    job.rows_total, job.finished_at = parsed.rows, now
    if parsed.errors:
        job.status, job.errors, job.rows_accepted = ImportStatus.REJECTED, parsed.errors, 0
        await record(db, actor, "file_import.rejected", "file_import", job.id, details={"errors": len(parsed.errors)})
        return job
    batch_id = uuid.uuid4()
    accepted = await insert_readings(db, parsed.columns, batch_id)
    stamps = parsed.columns[1]
    db.add(
        IngestBatch(
            id=batch_id,
            installation_id=job.installation_id,
            source="file",
            source_ref=str(job.id),
            received_at=now,
            readings=len(stamps),
            accepted=accepted,
            duplicates=len(stamps) - accepted,
            first_ts=min(stamps) if stamps else None,
            last_ts=max(stamps) if stamps else None,
            body_sha256=document.sha256,
        )
    )
    job.status, job.rows_accepted, job.rows_duplicate = ImportStatus.COMPLETED, accepted, len(stamps) - accepted
    await record(
        db,
        actor,
        "file_import.completed",
        "file_import",
        job.id,
        details={"readings": len(stamps), "accepted": accepted, "document_sha256": document.sha256},
    )
    if accepted:
        queue_derivation(db, job.installation_id, now)
    return job


async def list_imports(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[FileImport]:
    """An installation's file imports with their reports, newest first; readers of interval data."""
    principal.require("interval:read")
    await get_installation(db, principal, installation_id)
    rows = await db.execute(
        select(FileImport)
        .where(FileImport.installation_id == installation_id)
        .order_by(FileImport.created_at.desc())
        .limit(200)
    )
    return list(rows.scalars())
