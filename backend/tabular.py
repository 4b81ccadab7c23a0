"""What every file import shares: reading a CSV or Excel table row by row, a report that names row,
column and reason, times in a stated format and zone, and keeping the original file as evidence.

Used by metering data imports (``backend.ingest.files``) and MES batch imports
(``backend.production.imports``).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.service import NewDocument, SubjectRef, upload_document
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal

MAX_REPORTED_ERRORS = 1000
XLSX_MAGIC = b"PK\x03\x04"
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Report:
    """The problems found in a file, at most ``limit`` of them, each naming its row and column."""

    limit: int = MAX_REPORTED_ERRORS
    errors: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def fail(self, row: int, column: str, code: str, message: str, **extra: Any) -> None:
        self.count += 1
        if len(self.errors) < self.limit:
            self.errors.append({"row": row, "column": column, "code": code, "message": message, **extra})

    def __bool__(self) -> bool:
        return self.count > 0


def shown(cell: object, limit: int = 40) -> str:
    """A cell quoted for a report: control characters escaped (JSON columns cannot hold NUL), long ones cut."""
    text = str(cell)
    cut = text[:limit]
    quoted = repr(cut)
    return quoted if len(text) <= limit else f"{quoted}... ({len(text)} characters)"


class NonexistentLocalTime(ValueError):
    """A wall-clock time the zone skips when its clocks move forward (e.g. 02:30 on the last Sunday of March)."""


def _in_zone(value: datetime, zone: ZoneInfo, strict: bool) -> datetime:
    """A naive time read in ``zone``, as UTC; with ``strict`` a time the zone skips is refused.

    An ambiguous time (clocks moved back) is read as its first occurrence.
    """
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    try:
        utc = value.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        # within hours of the calendar's ends a wall-clock time has no UTC form: it is as early (or as late)
        # as a time can be, which is what the checks of floor and future then say of it
        return datetime.min.replace(tzinfo=UTC) if value.year == 1 else datetime.max.replace(tzinfo=UTC)
    if strict and utc.astimezone(zone).replace(tzinfo=None) != value:
        raise NonexistentLocalTime(f"{value.isoformat(sep=' ')} does not exist in {zone.key} (clocks moved forward)")
    return utc


def parse_time(text: str, fmt: str, zone: ZoneInfo, *, strict: bool = False) -> datetime:
    """A time in ISO 8601 or a strptime format, as UTC; one without an offset is read in ``zone``.

    ValueError if it is not one (with ``strict``, also when the zone skips that wall-clock time).
    """
    value = datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)
    return _in_zone(value, zone, strict)


def csv_rows(reader: csv.DictReader[str], report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    """Data rows with their line numbers; a row the csv module cannot read ends the file with a report line."""
    line_no = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.fail(line_no + 1, "", "BAD_CSV", f"this row cannot be read as CSV: {exc}")
            return
        line_no += 1
        yield line_no, row


def file_format(data: bytes, filename: str) -> str:
    """csv or xlsx, from the file's first bytes (an Excel workbook is a zip archive) and name."""
    if data[:4] == XLSX_MAGIC or filename.lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


@dataclass
class Table:
    """A file's header and an iterator over its data rows (row number as a person counts it, cells by header)."""

    header: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    total: int | None = None  # data rows, when known before reading them


def _cell(value: Any) -> Any:
    """An Excel cell as the import reads it: text stripped, numbers and datetimes as they are."""
    if isinstance(value, str):
        return value.strip()
    return value


def read_table(data: bytes, fmt: str, report: Report, *, delimiter: str = ",", sheet: str = "") -> Table | None:
    """The table of a CSV (UTF-8) or Excel (.xlsx, read-only mode) file; None with a report line if unreadable.

    Excel cells keep their types: numbers as numbers, dates as naive datetimes (read in the mapping's zone).
    """
    if fmt == "xlsx":
        return _read_xlsx(data, report, sheet)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.fail(0, "", "NOT_UTF8", "the file is not UTF-8 text")
        return None
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        report.fail(1, "", "BAD_CSV", f"the header cannot be read as CSV: {exc}")
        return None
    return Table(header, csv_rows(reader, report))


def _read_xlsx(data: bytes, report: Report, sheet: str) -> Table | None:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        report.fail(0, "", "NOT_XLSX", f"the file cannot be read as an Excel workbook (.xlsx): {exc}")
        return None
    if sheet and sheet not in workbook.sheetnames:
        report.fail(0, "", "MISSING_SHEET", f"the workbook has no sheet {shown(sheet)}; it has {workbook.sheetnames}")
        return None
    worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    values = worksheet.iter_rows(values_only=True)
    try:
        first = next(values)
    except StopIteration:
        report.fail(1, "", "NO_HEADER", "the sheet is empty")
        return None
    header = ["" if c is None else str(c).strip() for c in first]
    total = worksheet.max_row - 1 if worksheet.max_row else None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for row_no, cells in enumerate(values, start=2):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue  # Excel keeps formatted empty rows at the end of a sheet
            yield row_no, {h: _cell(c) for h, c in zip(header, cells, strict=False) if h}
        workbook.close()

    return Table(header, rows(), total)


def excel_time(value: Any, fmt: str, zone: ZoneInfo, *, strict: bool = False) -> datetime:
    """A time cell as UTC: an Excel date (naive, read in ``zone``) or text in the mapping's format."""
    if isinstance(value, datetime):
        return _in_zone(value, zone, strict)
    if isinstance(value, date):
        return _in_zone(datetime.combine(value, time(0)), zone, strict)
    if value is None:
        raise ValueError("empty")
    return parse_time(str(value).strip(), fmt, zone, strict=strict)


def as_uploader(principal: Principal) -> Principal:
    """The submitter, allowed to keep the file it submits as evidence (the file is the import's evidence)."""
    if principal.has("evidence:write"):
        return principal
    return Principal(
        kind=principal.kind,
        id=principal.id,
        label=principal.label,
        tenant_id=principal.tenant_id,
        scopes=principal.scopes | {"evidence:write"},
        role=principal.role,
        installation_id=principal.installation_id,
        client_pk=principal.client_pk,
    )


async def keep_as_evidence(
    db: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    *,
    data: bytes,
    filename: str,
    content_type: str,
    kind: EvidenceKind,
    title: str,
    installation_id: uuid.UUID,
    max_bytes: int,
) -> EvidenceDocument:
    """The original file, stored by its SHA-256 in the evidence archive and naming the installation."""
    document, _ = await upload_document(
        db,
        store,
        as_uploader(principal),
        NewDocument(
            data=data,
            filename=filename,
            content_type=content_type,
            kind=kind,
            title=title,
            subjects=[SubjectRef("installation", str(installation_id))],
        ),
        max_bytes=max_bytes,
    )
    return document
