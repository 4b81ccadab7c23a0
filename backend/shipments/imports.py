"""Shipments from a CSV or Excel file: one row per batch of a shipment, all or nothing.

The file is kept as evidence first. Every row is read and every shipment checked with the same
rules as one recorded through the API, in file order and inside a savepoint (so a later shipment
of the file sees the mass the earlier ones took); any problem rolls the savepoint back and the
import is stored as rejected with the report naming row, column and reason. Files are small (a
month of trucks is a few hundred rows), so this runs in the request; the row limit keeps it so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.errors import DomainError, FieldError, ValidationFailed
from backend.evidence.models import EvidenceKind
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal
from backend.shipments import repository, service
from backend.shipments.models import ShipmentImport
from backend.shipments.schemas import BatchShare, ShipmentData, to_mass
from backend.tabular import CONTENT_TYPES, Report, file_format, keep_as_evidence, read_table, shown

MAX_ROWS = 5000
SHIPMENT_COLUMNS = (
    "shipment_number",
    "customer_name",
    "customer_country",
    "customer_eori",
    "cn_code",
    "net_mass_t",
    "dispatch_date",
    "delivery_date",
    "invoice_number",
    "mrn",
)
BATCH_COLUMNS = ("batch_number", "batch_mass_t")
OPTIONAL = frozenset({"customer_eori", "delivery_date", "mrn"})
REQUIRED = tuple(c for c in (*SHIPMENT_COLUMNS, *BATCH_COLUMNS) if c not in OPTIONAL)
# the input field a rule names -> the file's column
FIELD_COLUMNS = {
    "reference": "shipment_number",
    "customerName": "customer_name",
    "customerCountry": "customer_country",
    "customerEori": "customer_eori",
    "cnCode": "cn_code",
    "netMassT": "net_mass_t",
    "dispatchDate": "dispatch_date",
    "deliveryDate": "delivery_date",
    "invoiceNumber": "invoice_number",
    "mrn": "mrn",
    "batches": "batch_mass_t",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date(value: Any) -> date:
    """An Excel date, or text as 2026-11-14 or 14.11.2026; ValueError if neither."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if "." in text:
        return datetime.strptime(text, "%d.%m.%Y").date()
    return date.fromisoformat(text)


@dataclass
class _Group:
    """One shipment of the file: its first row's values and its batch rows."""

    first_row: int
    values: dict[str, Any]
    batches: list[tuple[int, str, Any]] = field(default_factory=list)  # (row, batch number, mass cell)


def _groups(rows: list[tuple[int, dict[str, Any]]], report: Report) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for row_no, row in rows:
        number = _text(row.get("shipment_number"))
        if not number:
            report.fail(row_no, "shipment_number", "MISSING_VALUE", "every row names its shipment")
            continue
        group = groups.get(number)
        if group is None:
            group = groups[number] = _Group(row_no, {c: row.get(c) for c in SHIPMENT_COLUMNS})
        else:
            for column in SHIPMENT_COLUMNS:
                cell, first = _text(row.get(column)), _text(group.values.get(column))
                if cell and cell != first:
                    report.fail(
                        row_no,
                        column,
                        "DIFFERS_IN_SHIPMENT",
                        f"{shown(cell)} differs from {shown(first)} on row {group.first_row} of shipment {number}",
                    )
        group.batches.append((row_no, _text(row.get("batch_number")), row.get("batch_mass_t")))
    return list(groups.values())


def _shipment(
    group: _Group, installation_id: uuid.UUID, batch_ids: dict[str, uuid.UUID], report: Report
) -> ShipmentData | None:
    """The shipment of a group, or None with report lines for cells that cannot be read at all."""
    values, row = group.values, group.first_row
    before = report.count
    dates: dict[str, date | None] = {}
    for column in ("dispatch_date", "delivery_date"):
        cell = values.get(column)
        if column in OPTIONAL and not _text(cell):
            dates[column] = None
            continue
        try:
            dates[column] = _date(cell)
        except ValueError:
            report.fail(row, column, "BAD_DATE", f"{shown(cell)} is not a date such as 2026-11-14 or 14.11.2026")
    net = to_mass(values.get("net_mass_t"))
    if net is None:
        report.fail(row, "net_mass_t", "NOT_A_NUMBER", f"{shown(values.get('net_mass_t'))} is not a number of tonnes")
    shares = []
    for batch_row, number, mass_cell in group.batches:
        mass = to_mass(mass_cell)
        if mass is None:
            report.fail(batch_row, "batch_mass_t", "NOT_A_NUMBER", f"{shown(mass_cell)} is not a number of tonnes")
        if number not in batch_ids:
            report.fail(batch_row, "batch_number", "UNKNOWN_BATCH", f"no batch {shown(number)} in this installation")
            continue
        shares.append(BatchShare(batch_ids[number], mass))
    if report.count > before:
        return None
    dispatched = dates["dispatch_date"]
    assert dispatched is not None
    return ShipmentData(
        installation_id=installation_id,
        reference=_text(values.get("shipment_number")),
        customer_name=_text(values.get("customer_name")),
        customer_country=_text(values.get("customer_country")).upper(),
        cn_code=_text(values.get("cn_code")).replace(" ", ""),
        net_mass_t=net,
        dispatch_date=dispatched,
        invoice_number=_text(values.get("invoice_number")),
        batches=tuple(shares),
        customer_eori=_text(values.get("customer_eori")).upper() or None,
        delivery_date=dates["delivery_date"],
        mrn=_text(values.get("mrn")).upper() or None,
    )


def _report_errors(group: _Group, errors: list[FieldError], report: Report) -> None:
    for error in errors:
        name = error.field or ""
        parts = name.split(".")
        if parts[0] == "batches" and len(parts) == 3 and parts[1].isdigit():
            row, _, _ = group.batches[int(parts[1])]
            column = "batch_number" if parts[2] == "batchId" else "batch_mass_t"
        else:
            row, column = group.first_row, FIELD_COLUMNS.get(name, "")
        report.fail(row, column, error.code, error.message, field=name)


class _Refused(Exception):
    """Raised inside the savepoint so that nothing the file stored stays."""


async def import_shipments(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    *,
    installation_id: uuid.UUID,
    data: bytes,
    filename: str,
    max_bytes: int,
) -> ShipmentImport:
    """Keep the file as evidence, then store all its shipments or none, with the report."""
    principal.require(service.WRITE)
    await service.get_installation(db, principal, installation_id)
    fmt = file_format(data, filename)

    document = await keep_as_evidence(
        db,
        store,
        principal,
        data=data,
        filename=filename,
        content_type=CONTENT_TYPES[fmt],
        kind=EvidenceKind.OTHER,
        title=f"Shipments file {filename}",
        installation_id=installation_id,
        max_bytes=max_bytes,
    )
    job = ShipmentImport(
        id=uuid.uuid4(),
        installation_id=installation_id,
        document_id=document.id,
        status="rejected",
        created_by=principal.label,
    )
    report = Report()
    rows = await _read(data, fmt, report)
    job.rows_total = len(rows)
    groups = _groups(rows, report)
    batch_ids = await repository.batch_ids_by_number(
        db, installation_id, {number for g in groups for _, number, _ in g.batches}
    )
    stored = 0
    try:
        async with db.begin_nested():
            for group in groups:
                shipment = _shipment(group, installation_id, batch_ids, report)
                if shipment is None:
                    continue
                _, errors, _ = await service.check_shipment(db, principal, shipment)
                if errors:
                    _report_errors(group, errors, report)
                    continue
                try:
                    await service.store_shipment(db, principal, shipment, source=f"import:{job.id}")
                    stored += 1
                except ValidationFailed as refused:
                    _report_errors(group, refused.errors, report)
            if report:
                raise _Refused
    except _Refused:
        stored = 0
    except DomainError as error:  # the installation vanished under the import, a permission changed
        report.fail(0, "", error.code, error.message)
    job.status = "rejected" if report else "completed"
    job.shipments_stored = stored
    job.errors = report.errors
    db.add(job)
    await db.flush()
    await record(
        db,
        principal,
        f"shipment_import.{job.status}",
        "shipment_import",
        job.id,
        details={
            "document_sha256": document.sha256,
            "filename": filename,
            "rows": job.rows_total,
            "shipments": stored,
            "errors": report.count,
        },
    )
    return job


async def _read(data: bytes, fmt: str, report: Report) -> list[tuple[int, dict[str, Any]]]:
    table = read_table(data, fmt, report)
    if table is None:
        return []
    missing = [c for c in REQUIRED if c not in table.header]
    for column in missing:
        report.fail(1, column, "MISSING_COLUMN", f"the header has no column {shown(column)}")
    if missing:
        return []
    rows: list[tuple[int, dict[str, Any]]] = []
    for row_no, row in table.rows:
        if len(rows) >= MAX_ROWS:
            report.fail(row_no, "", "TOO_MANY_ROWS", f"at most {MAX_ROWS} rows in one file: split it")
            break
        rows.append((row_no, row))
    if not rows and not report:
        report.fail(2, "", "NO_ROWS", "the file has a header but no data rows")
    return rows


async def list_imports(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[ShipmentImport]:
    """An installation's shipment files with their reports, newest first."""
    principal.require(service.READ)
    await service.get_installation(db, principal, installation_id)
    return await repository.imports_of(db, installation_id)
