"""Domain errors in GraphQL: mutation payloads carry ``UserError``s; queries carry error codes."""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from backend.errors import DomainError, ValidationFailed


@strawberry.type(description="Why a mutation did not happen: a stable code, the input field and a message.")
class UserError:
    code: str = strawberry.field(description="Stable error code, e.g. VALIDATION_FAILED, NOT_FOUND.")
    field: str | None = strawberry.field(description="The input field at fault, if any.")
    message: str = strawberry.field(description="A sentence for people.")


def user_errors(error: DomainError) -> list[UserError]:
    if isinstance(error, ValidationFailed):
        return [
            UserError(code=e.code if e.code != "INVALID" else "INVALID", field=e.field, message=e.message)
            for e in error.errors
        ]
    return [UserError(code=error.code, field=error.field, message=error.message)]


class DomainErrorCodes(SchemaExtension):
    """Give each query error caused by a domain rule its code and field in ``extensions``."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        for error in result.errors:
            original = error.original_error
            if isinstance(original, DomainError) and isinstance(error, GraphQLError):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": original.code,
                    "field": original.field,
                }
                if isinstance(original, ValidationFailed):
                    error.extensions["fields"] = [e.field for e in original.errors]
