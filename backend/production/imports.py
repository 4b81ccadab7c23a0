"""MES exports (CSV or Excel) of production batches through a saved column mapping.

The exporter saves a named mapping once (column headers -> batch fields, time zone, date format,
unit of mass). A file submitted with it is kept as evidence (by its SHA-256) and queued through the
outbox; a worker reads it row by row with progress, checks every row (the same checks as the API,
:func:`backend.production.service.check_batches`) and stores all of it or nothing, with a report
naming row, field, column and reason.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.errors import FieldError, ValidationFailed
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal
from backend.installations.errors import InstallationNotFound
from backend.production import repository
from backend.production.errors import (
    BatchesRejected,
    BatchImportNotFound,
    BatchNumberTaken,
    BatchOverlaps,
    MappingNotFound,
)
from backend.production.models import BatchImport, BatchImportMapping, BatchImportStatus, BatchSource
from backend.production.schemas import BATCH_FIELDS, MASS_UNITS, BatchRow, MappingData, PrecursorData
from backend.production.service import check_batches, installation_for, require_read, require_write, store_checked
from backend.tabular import (
    CONTENT_TYPES,
    MAX_REPORTED_ERRORS,
    NonexistentLocalTime,
    Report,
    excel_time,
    file_format,
    read_table,
    shown,
)

FINISHED = frozenset({BatchImportStatus.COMPLETED, BatchImportStatus.REJECTED, BatchImportStatus.FAILED})
PROGRESS_EVERY = 2000  # rows between two progress updates
_FIELD_KEYS = {camel: key for key, camel in BATCH_FIELDS.items()}
_PRECURSOR_FIELDS = {
    "massT": "precursor_mass",
    "cnCode": "precursor_cn_code",
    "supplierInstallation": "precursor_supplier",
    "supplierInstallationId": "precursor_supplier_installation_id",
    "embeddedEmissions": "precursor_embedded_emissions",
    "emissionsSource": "precursor_emissions_source",
}


# --- mappings -------------------------------------------------------------------------------------------


async def save_mapping(db: AsyncSession, principal: Principal, data: MappingData) -> BatchImportMapping:
    """Create a named mapping, or change the one of that name; writers of production data."""
    require_write(principal)
    data.validate()
    mapping = await repository.mapping_by_name(db, data.name)
    values = {
        "columns": dict(data.columns),
        "timezone": data.timezone,
        "date_format": data.date_format,
        "mass_unit": data.mass_unit,
        "delimiter": data.delimiter,
        "decimal": data.decimal,
        "sheet": data.sheet,
    }
    if mapping is None:
        mapping = BatchImportMapping(name=data.name, created_by=principal.label[:320], **values)
        db.add(mapping)
        await db.flush()
        await record(
            db, principal, "batch_import_mapping.created", "batch_import_mapping", mapping.id, after=snapshot(mapping)
        )
        return mapping
    before = snapshot(mapping)
    for key, value in values.items():
        setattr(mapping, key, value)
    await db.flush()
    await record(
        db,
        principal,
        "batch_import_mapping.updated",
        "batch_import_mapping",
        mapping.id,
        before=before,
        after=snapshot(mapping),
    )
    return mapping


async def list_mappings(db: AsyncSession, principal: Principal) -> list[BatchImportMapping]:
    require_read(principal)
    return await repository.mappings(db)


def mapping_data_of(job: BatchImport) -> MappingData:
    """The mapping as it was when the file was submitted."""
    saved = job.mapping
    return MappingData(
        name=str(saved["name"]),
        columns=dict(saved["columns"]),  # type: ignore[call-overload]
        timezone=str(saved["timezone"]),
        date_format=str(saved["date_format"]),
        mass_unit=str(saved["mass_unit"]),
        delimiter=str(saved["delimiter"]),
        decimal=str(saved["decimal"]),
        sheet=str(saved["sheet"]),
    )


def mapping_data(mapping: BatchImportMapping) -> MappingData:
    return MappingData(
        name=mapping.name,
        columns=dict(mapping.columns),
        timezone=mapping.timezone,
        date_format=mapping.date_format,
        mass_unit=mapping.mass_unit,
        delimiter=mapping.delimiter,
        decimal=mapping.decimal,
        sheet=mapping.sheet,
    )


# --- submission -----------------------------------------------------------------------------------------


async def submit_batch_file(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    *,
    installation_id: uuid.UUID,
    mapping_name: str,
    data: bytes,
    filename: str,
    max_bytes: int,
) -> BatchImport:
    """Keep the file as evidence and queue its import with the named mapping; writers of production data."""
    require_write(principal)
    await installation_for(db, principal, installation_id)
    mapping = await repository.mapping_by_name(db, mapping_name)
    if mapping is None:
        raise MappingNotFound(f"no saved column mapping named {shown(mapping_name)}", field="mapping")
    if not data:
        raise ValidationFailed([FieldError("the file is empty", field="file")])
    fmt = file_format(data, filename)
    document = await _keep(db, store, principal, data, filename, fmt, installation_id, max_bytes)
    job = BatchImport(
        installation_id=installation_id,
        mapping_id=mapping.id,
        mapping={
            "id": str(mapping.id),
            "name": mapping.name,
            "columns": dict(mapping.columns),
            "timezone": mapping.timezone,
            "date_format": mapping.date_format,
            "mass_unit": mapping.mass_unit,
            "delimiter": mapping.delimiter,
            "decimal": mapping.decimal,
            "sheet": mapping.sheet,
        },
        document_id=document.id,
        file_format=fmt,
        created_by=principal.label[:320],
    )
    db.add(job)
    await db.flush()
    await record(
        db,
        principal,
        "batch_import.submitted",
        "batch_import",
        job.id,
        details={"document_sha256": document.sha256, "filename": filename, "mapping": mapping.name, "format": fmt},
    )
    scope = tenant_scope_of(db)
    defer_job(
        db, "production.import_batches", str(scope.tenant_id), str(job.id), job_id=f"batches:{scope.tenant_id}:{job.id}"
    )
    return job


async def _keep(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    data: bytes,
    filename: str,
    fmt: str,
    installation_id: uuid.UUID,
    max_bytes: int,
) -> EvidenceDocument:
    from backend.tabular import keep_as_evidence

    return await keep_as_evidence(
        db,
        store,
        principal,
        data=data,
        filename=filename,
        content_type=CONTENT_TYPES[fmt],
        kind=EvidenceKind.PRODUCTION_RECORD,
        title=f"MES batch export {filename}",
        installation_id=installation_id,
        max_bytes=max_bytes,
    )


async def list_imports(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[BatchImport]:
    """An installation's batch imports with progress and report, newest first; readers."""
    require_read(principal)
    await installation_for(db, principal, installation_id)
    return await repository.imports_of(db, installation_id)


async def get_import(db: AsyncSession, principal: Principal, import_id: uuid.UUID) -> BatchImport:
    require_read(principal)
    job = await db.get(BatchImport, import_id)
    if job is None:
        raise BatchImportNotFound("no such batch import", field="id")
    try:
        await installation_for(db, principal, job.installation_id)
    except InstallationNotFound:
        raise BatchImportNotFound("no such batch import", field="id") from None
    return job


# --- reading a file -------------------------------------------------------------------------------------


@dataclass
class ParsedBatches:
    rows: list[tuple[int, BatchRow]] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    total: int = 0


def _number(value: Any, decimal: str) -> float:
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if decimal == ",":
        text = text.replace(".", "").replace(",", ".") if "," in text else text
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code Excel turned into a number (e.g. batch 100234)
    return str(value).strip()


def parse_batch_file(data: bytes, fmt: str, mapping: MappingData, total: list[int]) -> Iterator[ParsedBatches | int]:
    """Read the file; yields the number of rows read so far now and then, and last the parsed rows and report.

    ``total`` receives the number of data rows as soon as it is known (Excel tells it up front).
    """
    parsed = ParsedBatches()
    report = parsed.report
    table = read_table(data, fmt, report, delimiter=mapping.delimiter, sheet=mapping.sheet)
    if table is None:
        yield parsed
        return
    if table.total is not None:
        total.append(table.total)
    elif fmt == "csv":
        total.append(max(0, data.count(b"\n") - 1 + (0 if data.endswith(b"\n") else 1)))
    columns = mapping.columns
    for key, header in columns.items():
        if header not in table.header:
            report.fail(
                1,
                header,
                "MISSING_COLUMN",
                f"the header has no column {shown(header)} (mapped to {key})",
                field=BATCH_FIELDS[key],
            )
    if report:
        yield parsed
        return
    zone = ZoneInfo(mapping.timezone)
    factor = MASS_UNITS[mapping.mass_unit]

    def cell(row: dict[str, Any], key: str) -> Any:
        header = columns.get(key)
        value = row.get(header) if header else None
        return value.strip() if isinstance(value, str) else value

    def fail(row_no: int, key: str, code: str, message: str) -> None:
        report.fail(row_no, columns.get(key, ""), code, message, field=BATCH_FIELDS[key])

    for row_no, row in table.rows:
        parsed.total += 1
        if parsed.total % PROGRESS_EVERY == 0:
            yield parsed.total
        ok = True
        times: dict[str, datetime] = {}
        for key in ("started_at", "ended_at"):
            value = cell(row, key)
            try:
                times[key] = excel_time(value, mapping.date_format, zone, strict=True)
            except NonexistentLocalTime as skipped:
                fail(row_no, key, "BAD_TIME", str(skipped))
                ok = False
            except (ValueError, TypeError, OverflowError):
                fmt_name = "ISO 8601" if mapping.date_format == "iso" else mapping.date_format
                fail(row_no, key, "BAD_TIME", f"{shown(value)} is not a time in format {fmt_name}")
                ok = False
        masses: dict[str, float] = {}
        for key, required in (("net_mass", True), ("scrap", False), ("precursor_mass", False)):
            value = cell(row, key)
            if value in (None, ""):
                if required:
                    fail(row_no, key, "MISSING_VALUE", "the net output mass is empty")
                    ok = False
                continue
            try:
                masses[key] = _number(value, mapping.decimal) * factor
            except (ValueError, TypeError):
                fail(row_no, key, "NOT_A_NUMBER", f"{shown(value)} is not a number")
                ok = False
        emissions: float | None = None
        value = cell(row, "precursor_embedded_emissions")
        if value not in (None, ""):
            try:
                emissions = _number(value, mapping.decimal)
            except (ValueError, TypeError):
                fail(row_no, "precursor_embedded_emissions", "NOT_A_NUMBER", f"{shown(value)} is not a number")
                ok = False
        for key in ("batch_number", "product"):
            if not _text(cell(row, key)):
                fail(row_no, key, "MISSING_VALUE", f"the {key.replace('_', ' ')} is empty")
                ok = False
        if not ok:
            continue
        precursors: tuple[PrecursorData, ...] = ()
        if "precursor_mass" in masses:
            precursors = (
                PrecursorData(
                    mass_t=masses["precursor_mass"],
                    cn_code=_text(cell(row, "precursor_cn_code")),
                    supplier_installation=_text(cell(row, "precursor_supplier")),
                    supplier_installation_id=_text(cell(row, "precursor_supplier_installation_id")),
                    embedded_tco2e_per_t=emissions,
                    emissions_source=_text(cell(row, "precursor_emissions_source")),
                ),
            )
        parsed.rows.append(
            (
                row_no,
                BatchRow(
                    batch_number=_text(cell(row, "batch_number")),
                    product=_text(cell(row, "product")),
                    started_at=times["started_at"],
                    ended_at=times["ended_at"],
                    net_mass_t=masses["net_mass"],
                    line=_text(cell(row, "line")),
                    process=_text(cell(row, "process")),
                    alloy=_text(cell(row, "alloy")),
                    scrap_t=masses.get("scrap", 0.0),
                    order_ref=_text(cell(row, "order_ref")),
                    shipment_ref=_text(cell(row, "shipment_ref")),
                    precursors=precursors,
                ),
            )
        )
    if parsed.total == 0 and not report:
        report.fail(2, "", "NO_ROWS", "the file has a header but no data rows")
    yield parsed


def _column_of(field_name: str, columns: dict[str, str]) -> str:
    """The file's column for an error's field (``netMassT`` -> the mapped header)."""
    if field_name.startswith("precursors."):
        key = _PRECURSOR_FIELDS.get(field_name.rsplit(".", 1)[-1], "")
    else:
        key = _FIELD_KEYS.get(field_name, "")
        if field_name == "line" and "line" not in columns:
            key = "process"
    return columns.get(key, "")


# --- the worker's steps ---------------------------------------------------------------------------------


async def start_import(db: AsyncSession, import_id: uuid.UUID) -> tuple[BatchImport, EvidenceDocument] | None:
    """Mark a queued import as processing; None when it has already ended (a job delivered twice)."""
    job = await repository.import_for_update(db, import_id)
    if job is None:
        raise BatchImportNotFound("no such batch import")
    if job.status in FINISHED:
        return None
    document = await db.get(EvidenceDocument, job.document_id)
    assert document is not None
    job.status, job.started_at, job.rows_done = BatchImportStatus.PROCESSING, utcnow(), 0
    return job, document


async def report_progress(db: AsyncSession, import_id: uuid.UUID, *, rows_done: int, rows_total: int) -> None:
    await repository.set_progress(db, import_id, rows_done=rows_done, rows_total=rows_total)


async def finish_import(db: AsyncSession, actor: Principal, import_id: uuid.UUID, parsed: ParsedBatches) -> BatchImport:
    """Check the parsed rows against each other and the stored batches, and store them all, or reject the file."""
    job = await repository.import_for_update(db, import_id)
    if job is None:
        raise BatchImportNotFound("no such batch import")
    if job.status in FINISHED:
        return job
    columns: dict[str, str] = dict(job.mapping.get("columns") or {})  # type: ignore[call-overload]
    now = utcnow()
    job.rows_total = job.rows_done = parsed.total
    job.finished_at = now
    errors = list(parsed.report.errors)
    count = parsed.report.count
    installation = await installation_for(db, actor, job.installation_id)
    if not count:
        try:
            checked = await check_batches(
                db,
                installation,
                parsed.rows,
                now=now,
                source=BatchSource.FILE,
                source_ref=str(job.id),
                max_errors=MAX_REPORTED_ERRORS,
            )
            await store_checked(db, checked)
        except BatchesRejected as rejected:
            count = rejected.total
            errors = [{**e, "column": _column_of(str(e["field"]), columns)} for e in rejected.report]
        except (BatchOverlaps, BatchNumberTaken) as lost:
            # another request stored a clashing batch between the checks and the insert: nothing of the file is stored
            count = 1
            errors = [{"row": 0, "field": lost.field or "", "column": "", "code": lost.code, "message": lost.message}]
        else:
            job.status, job.batches_stored, job.errors = BatchImportStatus.COMPLETED, len(checked.batches), []
            await record(
                db,
                actor,
                "batch_import.completed",
                "batch_import",
                job.id,
                details={
                    "batches": len(checked.batches),
                    "precursors": len(checked.precursors),
                    "first_batch": checked.batches[0]["batch_number"] if checked.batches else None,
                    "last_batch": checked.batches[-1]["batch_number"] if checked.batches else None,
                    "document_id": str(job.document_id),
                },
            )
            return job
    job.status, job.batches_stored = BatchImportStatus.REJECTED, 0
    job.errors = sorted(errors, key=lambda e: (int(e["row"]), str(e.get("field") or "")))
    await record(
        db, actor, "batch_import.rejected", "batch_import", job.id, details={"errors": count, "rows": parsed.total}
    )
    return job


async def fail_import(db: AsyncSession, actor: Principal, import_id: uuid.UUID, code: str, message: str) -> bool:
    """End an import that could not run to its end as failed, with the reason; False if it had ended."""
    job = await repository.import_for_update(db, import_id)
    if job is None or job.status in FINISHED:
        return False
    job.status, job.finished_at, job.batches_stored = BatchImportStatus.FAILED, utcnow(), 0
    job.errors = [{"row": 0, "field": "", "column": "", "code": code, "message": message}]
    await record(db, actor, "batch_import.failed", "batch_import", job.id, details={"code": code})
    return True


async def fail_stale_imports(db: AsyncSession, actor: Principal, *, older_than: datetime) -> int:
    """Fail the batch imports still queued or running since before ``older_than``: their job died."""
    failed = 0
    for import_id in await repository.unfinished_import_ids(db, created_before=older_than):
        failed += await fail_import(
            db,
            actor,
            import_id,
            "IMPORT_JOB_LOST",
            f"the import did not finish by {older_than.isoformat()}; nothing was stored: submit the file again",
        )
    return failed
