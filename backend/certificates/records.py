"""A developer's certificate records for one PPA as a CSV file: issuance, transfer and cancellation
rows, checked row by row and stored all or nothing (docs/certificates.md, "CSV of records").

Each row is one range of identifiers: ``issued`` records it active, ``transferred`` records it and
its transfer, ``cancelled`` records it and its cancellation statement. The file itself is kept as
evidence and every row's certificate links to it by hash.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.certificates import service
from backend.certificates.models import CertificateScheme
from backend.certificates.schemas import CertificateData, StatementData
from backend.developers.models import PpaConnection
from backend.errors import DomainError, FieldError, ValidationFailed
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal

ACTIONS = ("issued", "transferred", "cancelled")
REQUIRED = (
    "action",
    "scheme",
    "issuing_body",
    "issuing_country",
    "range_start",
    "range_end",
    "device_id",
    "device_name",
    "device_country",
    "energy_source",
    "production_start",
    "production_end",
    "issued_on",
)
OPTIONAL = (
    "technology",
    "registry_reference",
    "transferred_to",
    "transferred_on",
    "beneficiary",
    "consumption_start",
    "consumption_end",
    "consumption_country",
    "purpose",
    "cancelled_on",
    "statement_reference",
)
MAX_ROWS = 5_000
# the schema's field names (camelCase) -> the file's column names
_COLUMNS = {
    "issuingBody": "issuing_body",
    "issuingCountry": "issuing_country",
    "rangeStart": "range_start",
    "rangeEnd": "range_end",
    "deviceId": "device_id",
    "deviceName": "device_name",
    "deviceCountry": "device_country",
    "energySource": "energy_source",
    "technology": "technology",
    "productionStartOn": "production_start",
    "productionEndOn": "production_end",
    "issuedOn": "issued_on",
    "registryReference": "registry_reference",
    "beneficiary": "beneficiary",
    "consumptionStartOn": "consumption_start",
    "consumptionEndOn": "consumption_end",
    "consumptionCountry": "consumption_country",
    "purpose": "purpose",
    "cancelledOn": "cancelled_on",
    "statementReference": "statement_reference",
    "to": "transferred_to",
    "transferredOn": "transferred_on",
    "id": "range_start",
}


@dataclass(frozen=True, slots=True)
class RecordRow:
    line: int
    action: str
    certificate: CertificateData
    transferred_to: str = ""
    transferred_on: date | None = None
    statement: StatementData | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    document_sha256: str
    issued: int
    transferred: int
    cancelled: int
    certificates: int


def _column(field: str | None) -> str:
    base = (field or "").split(".")[0]
    return _COLUMNS.get(base, base)


def _row_error(line: int, column: str, message: str) -> FieldError:
    return FieldError(f"row {line}, column {column}: {message}", field=f"rows.{line}.{column}")


def _read(
    values: dict[str, str],
    errors: list[FieldError],
    line: int,
    column: str,
    convert: Callable[[str], Any],
    what: str,
    *,
    optional: bool = False,
) -> Any:
    """A cell converted, or None with an error naming its row and column."""
    value = values.get(column, "")
    if optional and not value:
        return None
    try:
        return convert(value)
    except ValueError:
        errors.append(_row_error(line, column, what))
        return None


def parse(text: str) -> tuple[list[RecordRow], list[FieldError]]:
    """Rows of the file, or every error naming its row (the header is row 1) and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        refused = [FieldError(f"the header lacks the column '{c}'", field=f"rows.1.{c}") for c in missing]
        refused += [FieldError(f"unknown column '{c}'", field=f"rows.1.{c}") for c in unknown]
        return [], refused
    rows: list[RecordRow] = []
    errors: list[FieldError] = []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            errors.append(FieldError(f"at most {MAX_ROWS} rows", field=f"rows.{line}"))
            break
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        row_errors: list[FieldError] = []

        read = functools.partial(_read, values, row_errors, line)
        action = values.get("action", "")
        if action not in ACTIONS:
            row_errors.append(_row_error(line, "action", "one of issued, transferred, cancelled"))
        scheme = read("scheme", lambda v: CertificateScheme(v.lower()), "one of go_eecs, i_rec, other")
        start = read("range_start", int, "a whole number")
        end = read("range_end", int, "a whole number")
        production_start = read("production_start", date.fromisoformat, "a date YYYY-MM-DD")
        production_end = read("production_end", date.fromisoformat, "a date YYYY-MM-DD")
        issued_on = read("issued_on", date.fromisoformat, "a date YYYY-MM-DD")
        transferred_on = read("transferred_on", date.fromisoformat, "a date YYYY-MM-DD", optional=True)
        consumption_start = read("consumption_start", date.fromisoformat, "a date YYYY-MM-DD", optional=True)
        consumption_end = read("consumption_end", date.fromisoformat, "a date YYYY-MM-DD", optional=True)
        cancelled_on = read("cancelled_on", date.fromisoformat, "a date YYYY-MM-DD", optional=True)
        if action == "transferred":
            for column, value in (("transferred_to", values.get("transferred_to")), ("transferred_on", transferred_on)):
                if not value:
                    row_errors.append(_row_error(line, column, "required for a transferred row"))
        statement = None
        if action == "cancelled":
            needed = ("beneficiary", "consumption_start", "consumption_end", "consumption_country", "purpose")
            for column in (*needed, "cancelled_on"):
                if not values.get(column):
                    row_errors.append(_row_error(line, column, "required for a cancelled row"))
            if consumption_start and consumption_end and cancelled_on:
                statement = StatementData(
                    beneficiary=values.get("beneficiary", ""),
                    consumption_start_on=consumption_start,
                    consumption_end_on=consumption_end,
                    consumption_country=values.get("consumption_country", ""),
                    purpose=values.get("purpose", ""),
                    cancelled_on=cancelled_on,
                    statement_reference=values.get("statement_reference", ""),
                )
        if row_errors or None in (scheme, start, end, production_start, production_end, issued_on):
            errors += row_errors
            continue
        rows.append(
            RecordRow(
                line=line,
                action=action,
                certificate=CertificateData(
                    scheme=scheme,
                    issuing_body=values["issuing_body"],
                    issuing_country=values["issuing_country"],
                    range_start=start,
                    range_end=end,
                    device_id=values["device_id"],
                    device_name=values["device_name"],
                    device_country=values["device_country"],
                    energy_source=values["energy_source"],
                    technology=values.get("technology", ""),
                    production_start_on=production_start,
                    production_end_on=production_end,
                    issued_on=issued_on,
                    registry_reference=values.get("registry_reference", ""),
                ),
                transferred_to=values.get("transferred_to", ""),
                transferred_on=transferred_on,
                statement=statement,
            )
        )
    if not rows and not errors:
        errors.append(FieldError("the file has no rows", field="rows.2"))
    return rows, errors


def _at_row(line: int, error: DomainError) -> list[FieldError]:
    if isinstance(error, ValidationFailed):
        return [_row_error(line, _column(e.field), e.message) for e in error.errors]
    return [_row_error(line, _column(error.field), error.message)]


async def import_records(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    connection: PpaConnection,
    *,
    data: bytes,
    filename: str,
    max_bytes: int,
) -> ImportResult:
    """Store the file as evidence and every row's records for the developer's ``connection``, or
    nothing: the caller's transaction is rolled back on the ValidationFailed naming each row."""
    principal.require("site:write")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError("the file is not UTF-8 text", field="file")]) from None
    rows, errors = parse(text)
    if errors:
        raise ValidationFailed(errors)
    document, _ = await upload_document(
        db,
        store,
        principal,
        NewDocument(
            data=data,
            filename=filename,
            content_type="text/csv",
            kind=EvidenceKind.OTHER,
            title=f"Certificate records {filename} ({connection.reference})",
        ),
        max_bytes=max_bytes,
    )
    sha = hashlib.sha256(data).hexdigest()
    counts = dict.fromkeys(ACTIONS, 0)
    for row in rows:
        try:
            certificate = await service.register_certificate(
                db,
                principal,
                CertificateData(**{**_fields(row.certificate), "evidence_sha256": [document.sha256]}),
                connection=connection,
            )
            if row.action == "transferred":
                assert row.transferred_on is not None
                await service.transfer_certificate(
                    db, principal, certificate.id, to=row.transferred_to, transferred_on=row.transferred_on
                )
            elif row.action == "cancelled":
                assert row.statement is not None
                await service.cancel_certificate(db, principal, certificate.id, row.statement)
        except DomainError as error:
            errors += _at_row(row.line, error)
            continue
        counts[row.action] += 1
    if errors:
        raise ValidationFailed(errors)
    return ImportResult(sha, counts["issued"], counts["transferred"], counts["cancelled"], len(rows))


def _fields(data: CertificateData) -> dict[str, Any]:
    return {name: getattr(data, name) for name in data.__dataclass_fields__}
