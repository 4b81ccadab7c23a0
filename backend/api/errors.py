"""Domain errors in GraphQL: mutation payloads carry ``UserError``s; queries carry error codes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ArgumentNode, DocumentNode, GraphQLError, ObjectFieldNode, StringValueNode, Visitor, visit
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from backend.api.request_id import current_request_id
from backend.errors import DomainError, FieldError, ServiceUnavailable, ValidationFailed
from backend.logging import get_logger

_log = get_logger("cbamx.api")


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


def error_extensions(error: DomainError) -> dict[str, Any]:
    """A domain error's code and field(s), as query errors carry them in ``extensions``."""
    extensions: dict[str, Any] = {"code": error.code, "field": error.field}
    if isinstance(error, ValidationFailed):
        extensions["fields"] = [e.field for e in error.errors]
    return extensions


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
                error.extensions = {**(error.extensions or {}), **error_extensions(original)}


# --- values the database refuses ------------------------------------------------------------------
#
# Validation at the edge names the field and its limit first. Whatever still reaches PostgreSQL and
# breaks a column (a limit not yet declared at the edge, a raw SQL path) is answered here as the
# caller's mistake instead of a 500 that quotes the statement.

_INT_RANGES = {"int16": (-(2**15), 2**15 - 1), "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_TOO_LONG = re.compile(r"character varying\((\d+)\)|character\((\d+)\)")


class ValueRejected(FieldError):
    """A value that passed validation but that its column cannot hold."""

    code = "VALUE_REJECTED"


class ValueTooLong(ValueRejected):
    code = "VALUE_TOO_LONG"


class InvalidCharacter(ValueRejected):
    code = "INVALID_CHARACTER"


class ValueOutOfRange(ValueRejected):
    code = "VALUE_OUT_OF_RANGE"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__


def _parameters(exc: BaseException) -> list[tuple[str, Any]]:
    """The statement's parameters by column name, when SQLAlchemy kept them.

    asyncpg takes positional parameters, so the names come from the statement itself: the column
    list of an INSERT or the ``column=$n`` pairs of an UPDATE.
    """
    params = getattr(exc, "params", None)
    statement = str(getattr(exc, "statement", "") or "")
    rows = params if isinstance(params, list) else [params]
    found: list[tuple[str, Any]] = []
    for row in rows:
        if isinstance(row, dict):
            found.extend((str(k), v) for k, v in row.items())
        elif isinstance(row, tuple | list):
            found.extend((name, row[n - 1]) for name, n in _positions(statement) if 0 < n <= len(row))
    return found


def _positions(statement: str) -> list[tuple[str, int]]:
    insert = re.search(r"INSERT INTO \S+ \(([^)]*)\) VALUES \((.*?)\)(?: RETURNING|$|,)", statement, re.S)
    if insert:
        columns = [c.strip().strip('"') for c in insert.group(1).split(",")]
        values = insert.group(2).split(",")
        pairs = []
        for column, value in zip(columns, values, strict=False):
            number = re.search(r"\$(\d+)", value)
            if number:
                pairs.append((column, int(number.group(1))))
        return pairs
    return [(name, int(n)) for name, n in re.findall(r'"?(\w+)"?\s*=\s*\$(\d+)', statement)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _field_where(exc: BaseException, test: Any) -> str | None:
    for key, value in _parameters(exc):
        if test(value):
            return key.rsplit("_m", 1)[0] if re.search(r"_m\d+$", key) else key
    return None


def data_error(exc: BaseException) -> ValueRejected | None:
    """The database's refusal of a value, as a field error naming the limit; None for anything else."""
    import asyncpg

    for cause in _causes(exc):
        message = str(cause).split("\n", 1)[0]
        if isinstance(cause, asyncpg.exceptions._base.DataError):  # refused by the driver before sending
            range_name = next((name for name in _INT_RANGES if f"{name} range" in message), None)
            if range_name:
                low, high = _INT_RANGES[range_name]
                field = _field_where(exc, lambda v, low=low, high=high: isinstance(v, int) and not low <= v <= high)
                return ValueOutOfRange(f"a whole number from {low} to {high}", field=field)
            return ValueRejected("a value of the wrong type or size", field=None)
        sqlstate = getattr(cause, "sqlstate", None)
        if not isinstance(cause, asyncpg.PostgresError) or not sqlstate or not sqlstate.startswith("22"):
            continue
        if sqlstate == "22001":
            match = _TOO_LONG.search(message)
            limit = int(match.group(1) or match.group(2)) if match else None
            field = _field_where(
                exc, lambda v, limit=limit: limit is not None and any(len(s) > limit for s in _strings(v))
            )
            return ValueTooLong(f"at most {limit} characters" if limit else "too long for its column", field=field)
        if sqlstate in ("22021", "22P05"):
            # a NUL in text, or escaped inside a JSON document
            field = _field_where(exc, lambda v: any("\x00" in s or "\\u0000" in s for s in _strings(v)))
            return InvalidCharacter("must not contain NUL characters or invalid UTF-8", field=field)
        if sqlstate == "22003":
            field = _field_where(exc, lambda v: isinstance(v, int) and not -(2**63) <= v < 2**63)
            return ValueOutOfRange("a number out of range for its column", field=field)
        return ValueRejected(f"a value the database cannot store ({message})", field=None)
    return None


def undecodable_body(exc: BaseException) -> FieldError | None:
    """A request body (or a part of it) that is not UTF-8 text, wherever it was decoded."""
    if any(isinstance(cause, UnicodeDecodeError) for cause in _causes(exc)):
        return FieldError("the body is not valid UTF-8 text", field="body")
    return None


def service_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """A database or Redis that does not answer: the request may succeed later (503, Retry-After)."""
    import asyncpg
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    for cause in _causes(exc):
        if isinstance(cause, RedisConnectionError | RedisTimeoutError):
            return ServiceUnavailable("the queue and rate-limit store (Redis) is unavailable; try again shortly")
        if isinstance(
            cause,
            asyncpg.CannotConnectNowError
            | asyncpg.TooManyConnectionsError
            | asyncpg.ConnectionDoesNotExistError
            | PoolTimeout
            | ConnectionRefusedError
            | TimeoutError,
        ):
            return ServiceUnavailable("the database is unavailable; try again shortly")
    return None


# --- unexpected errors: masked for callers, logged in full ----------------------------------------

INTERNAL_ERROR = "INTERNAL_ERROR"


def internal_error_message(request_id: str | None) -> str:
    return f"Internal error; it has been logged. Quote request id {request_id or 'unknown'} when asking for help."


def _is_refusal(error: GraphQLError) -> bool:
    """A user mistake in the operation itself: syntax, validation, limits, variable values."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    # a variable that cannot be coerced (a bad id, a malformed date) fails before any resolver runs
    return error.path is None and isinstance(original, (ValueError, TypeError))


def classify(error: GraphQLError) -> str:
    """``domain`` (an answer), ``refused`` (the caller's mistake) or ``unexpected`` (ours)."""
    original = error.original_error
    if isinstance(original, DomainError) or (original is not None and data_error(original) is not None):
        return "domain"
    return "refused" if _is_refusal(error) else "unexpected"


def log_errors(errors: list[GraphQLError], operation_name: str | None) -> None:
    """Mistakes at INFO without tracebacks; unexpected errors at ERROR with the whole story."""
    for error in errors:
        kind = classify(error)
        if kind == "refused":
            _log.info("graphql.refused", message=error.message, operation=operation_name)
        elif kind == "unexpected":
            _log.error(
                "graphql.unexpected_error",
                operation=operation_name,
                path=error.path,
                exc_info=error.original_error,
            )


def _nul_in_value(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Iterator[tuple[str, Any]] = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}.{i}", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _nul_in_value(item, where)
        if found:
            return found
    return None


def _nul_in_document(document: DocumentNode | None) -> str | None:
    """The argument or input field whose string literal holds a NUL (``"\\u0000"`` in the query)."""
    if document is None:
        return None
    found: list[str] = []

    class _Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, key: Any, parent: Any, path: Any, ancestors: Any) -> None:
            if "\x00" in node.value:
                named = [a.name.value for a in [*ancestors, parent] if isinstance(a, ArgumentNode | ObjectFieldNode)]
                found.append(".".join(named) or "query")

    visit(document, _Finder())
    return found[0] if found else None


class ErrorsAtTheEdge(SchemaExtension):
    """NUL characters are refused before execution; database refusals become field errors;
    unexpected errors are masked with the request id."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        where = _nul_in_value(context.variables or {}, "") or _nul_in_document(context.graphql_document)
        if where:
            # no column can hold a NUL, and no identifier contains one: refuse before any resolver
            context.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"{where}: must not contain NUL characters",
                        extensions={"code": InvalidCharacter.code, "field": where},
                    )
                ],
            )
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) if result is not None else None
        if result is None or not errors:
            return
        result.errors = [self._answer(error) for error in errors]

    @staticmethod
    def _answer(error: GraphQLError) -> GraphQLError:
        original = error.original_error
        rejected = data_error(original) if original is not None and not isinstance(original, DomainError) else None
        if rejected is not None:
            return GraphQLError(
                f"{rejected.field or 'a value'}: {rejected.message}",
                nodes=error.nodes,
                path=error.path,
                original_error=rejected,
                extensions={"code": rejected.code, "field": rejected.field},
            )
        if classify(error) != "unexpected":
            return error
        request_id = current_request_id()
        return GraphQLError(
            internal_error_message(request_id),
            nodes=error.nodes,
            path=error.path,
            extensions={"code": INTERNAL_ERROR, "requestId": request_id},
        )
