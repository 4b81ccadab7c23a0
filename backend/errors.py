"""Domain errors. They carry a stable code and data, never a transport status.

The edges (GraphQL, REST, CLI, jobs) map codes to their own form in ``backend.api.errors``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "DOMAIN_ERROR"
    # invalid | not_found | forbidden | conflict | unauthenticated | rate_limited | unavailable
    kind: ClassVar[str] = "invalid"

    def __init__(self, message: str, *, field: str | None = None, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.data = data


class ValidationFailed(DomainError):
    """Several field errors collected and raised at once."""

    code = "VALIDATION_FAILED"

    def __init__(self, errors: list[FieldError]) -> None:
        # the first field at fault stands for the error where an edge names only one
        super().__init__(
            "; ".join(f"{e.field}: {e.message}" for e in errors), field=errors[0].field if errors else None
        )
        self.errors = errors


class FieldError(DomainError):
    code = "INVALID"


class NotFound(DomainError):
    code = "NOT_FOUND"
    kind = "not_found"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    kind = "forbidden"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    kind = "unauthenticated"


class Conflict(DomainError):
    code = "CONFLICT"
    kind = "conflict"


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(DomainError):
    """A service the request needs (database, Redis) does not answer; the caller may retry later."""

    code = "SERVICE_UNAVAILABLE"
    kind = "unavailable"

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s
