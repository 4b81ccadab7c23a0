"""Identifiers as every interface shows them, parsed in one place.

GraphQL shows global ids (base64 of ``Type:key``, the Relay convention); REST answers and the
command line show the bare UUID (or, for a machine client, its ``client_id``). Every interface
accepts either form for the type it expects, so an id copied from one works in another. A global
id of another type is refused: it names a different thing, even if its key happens to exist.

A bare UUID carries no type, so a UUID of the wrong kind of thing is only found missing by the
use case that looks it up. Errors here are a ``ValidationFailed`` with one ``FieldError`` that
names the argument, in words a person can act on.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid

from backend.errors import FieldError, ValidationFailed

_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def global_id(type_name: str, key: uuid.UUID | str) -> str:
    """The global id GraphQL shows for this type and key."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def decode_global_id(value: str) -> tuple[str, str] | None:
    """``(type name, key)`` if ``value`` is a well-formed global id, else None."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    type_name, sep, key = decoded.partition(":")
    if not sep or not key or not _TYPE_NAME.match(type_name):
        return None
    return type_name, key


def _a(type_names: tuple[str, ...]) -> str:
    """'an Installation', 'a Meter or an Organization'."""
    return " or ".join(f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}" for name in type_names)


def _refuse(message: str, field: str) -> ValidationFailed:
    return ValidationFailed([FieldError(message, field=field)])


def parse_key(value: str, *types: str, field: str) -> str:
    """The key inside a global id of one of ``types``, or ``value`` itself when it is no global id."""
    decoded = decode_global_id(value)
    if decoded is None:
        return value.strip()
    type_name, key = decoded
    if types and type_name not in types:
        raise _refuse(f"expected the id of {_a(types)}, got the id of {_a((type_name,))}", field)
    return key


def parse_uuid(value: str, *types: str, field: str) -> uuid.UUID:
    """The UUID named by ``value``: a UUID as REST and the CLI show it, or a global id of one of ``types``."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    decoded = decode_global_id(text)
    if decoded is None:
        what = f"the id of {_a(types)}" if types else "an id"
        raise _refuse(f"not {what}: give its UUID or its GraphQL id", field)
    type_name, key = decoded
    if types and type_name not in types:
        raise _refuse(f"expected the id of {_a(types)}, got the id of {_a((type_name,))}", field)
    try:
        return uuid.UUID(key)
    except ValueError:
        raise _refuse(f"not the id of {_a((type_name,))}: its key is no UUID", field)
