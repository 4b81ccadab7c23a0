"""Errors of ingest."""

from __future__ import annotations

from typing import Any

from backend.errors import Conflict, DomainError, NotFound, PermissionDenied


class BatchRejected(DomainError):
    """Some readings of a batch are invalid; the whole batch was refused and nothing stored."""

    code = "BATCH_REJECTED"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} reading(s) refused; nothing was stored")
        self.errors = errors


class NotAnIngestClient(PermissionDenied):
    code = "NOT_AN_INGEST_CLIENT"


class ConflictNotFound(NotFound):
    code = "CONFLICT_NOT_FOUND"


class ConflictAlreadyResolved(Conflict):
    code = "CONFLICT_ALREADY_RESOLVED"
