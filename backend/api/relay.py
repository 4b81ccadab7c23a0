"""Relay-style connections with keyset cursors, and global id helpers."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay

from backend.errors import FieldError, ValidationFailed
from backend.ids import parse_uuid

T = TypeVar("T")
MAX_PAGE = 200


@strawberry.type(description="Where a page of a connection starts and ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge; pass it as `after`.")


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of items.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page with their cursors.")
    page_info: PageInfo = strawberry.field(description="Paging information.")

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([str(v) for v in values]).encode()).decode()


def decode_cursor(cursor: str | None) -> list[str] | None:
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list):
            raise ValueError
        return [str(v) for v in values]
    except (ValueError, json.JSONDecodeError):
        raise ValidationFailed([FieldError("not a cursor of this connection", field="after")])


def page_size(first: int | None) -> int:
    if first is None:
        return 50
    if first < 1 or first > MAX_PAGE:
        raise ValidationFailed([FieldError(f"between 1 and {MAX_PAGE}", field="first")])
    return first


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows fetched with limit first+1, so the extra row tells whether a next page exists."""

    rows: list[Any]
    limit: int
    had_cursor: bool


def to_connection(
    page: Page[Any], convert: Callable[[Any], T], cursor_of: Callable[[Any], Sequence[Any]]
) -> Connection[T]:
    rows = page.rows[: page.limit]
    edges = [Edge(cursor=encode_cursor(cursor_of(row)), node=convert(row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(page.rows) > page.limit,
            has_previous_page=page.had_cursor,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


# An id given to GraphQL: a global id, or the bare UUID that REST answers and the command line show.
# Inputs take this (SDL type ID) rather than relay.GlobalID, which would refuse a UUID before any
# resolver ran; resolvers turn it into a UUID with ``node_uuid``.
NodeRef = strawberry.ID
# the organisation whose data a grantee reads through a grant (every shared* query names it)
GrantorArg = Annotated[
    NodeRef, strawberry.argument(description="The organisation that gave the grant (see grantsReceived).")
]


def node_uuid(value: relay.GlobalID | str, *expected: str, field: str = "id") -> uuid.UUID:
    """The UUID named by a global id of one of the expected types, or by a bare UUID."""
    return parse_uuid(str(value), *expected, field=field)


def gid(type_name: str, value: uuid.UUID | str) -> relay.GlobalID:
    return relay.GlobalID(type_name, str(value))


def grantor_uuid(value: relay.GlobalID | str) -> uuid.UUID:
    """The organisation a ``GrantorArg`` names."""
    return node_uuid(value, "Organization", field="grantorId")
