"""Errors of the production domain."""

from __future__ import annotations

from typing import Any

from backend.errors import Conflict, FieldError, NotFound, ValidationFailed


class ProductNotFound(NotFound):
    code = "PRODUCT_NOT_FOUND"


class BatchNotFound(NotFound):
    code = "BATCH_NOT_FOUND"


class MappingNotFound(NotFound):
    code = "BATCH_MAPPING_NOT_FOUND"


class BatchImportNotFound(NotFound):
    code = "BATCH_IMPORT_NOT_FOUND"


class ProductCodeTaken(Conflict):
    code = "PRODUCT_CODE_TAKEN"


class BatchNumberTaken(Conflict):
    """A batch number already stored in the installation with other values (the same values are no change)."""

    code = "BATCH_NUMBER_EXISTS"


class BatchOverlaps(Conflict):
    """Another batch on the same line covers part of this batch's time (PostgreSQL's exclusion constraint)."""

    code = "OVERLAPPING_BATCH"


class BatchFieldError(FieldError):
    """One batch row's problem: its row (1 for a single batch), the field at fault and a stable code."""

    def __init__(self, message: str, *, field: str, code: str, row: int, column: str = "") -> None:
        super().__init__(message, field=field)
        self.code = code  # type: ignore[misc]
        self.row = row
        self.column = column

    def as_report(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "column": self.column, "code": self.code, "message": self.message}


class BatchesRejected(ValidationFailed):
    """Rows that failed their checks: nothing was stored. Each error names its row, field, code and reason."""

    code = "BATCHES_REJECTED"

    def __init__(self, errors: list[BatchFieldError], *, total: int | None = None) -> None:
        super().__init__(list(errors))
        self.row_errors = errors
        self.total = len(errors) if total is None else total

    @property
    def report(self) -> list[dict[str, Any]]:
        return [e.as_report() for e in self.row_errors]
