"""GraphQL object types derived from the domain's frozen dataclasses, so each shape is written once.

A domain result (a report, a line of it) is a dataclass whose fields carry their description in
``metadata["doc"]``; the GraphQL type takes the same field names, types and descriptions. Fields
that hold database rows are exposed through the GraphQL type of that row (``types``), converted
with its ``of`` constructor.
"""

from __future__ import annotations

import dataclasses
import types as pytypes
import typing
from collections.abc import Callable
from typing import Any

import strawberry

from backend.described import doc  # noqa: F401  (re-exported for the GraphQL side)


def _convert(hint: Any, types: dict[type, type]) -> tuple[Any, Callable[..., Any]]:
    """The GraphQL annotation for ``hint`` and how to convert a domain value to it."""
    if hint in types:
        target = types[hint]
        return target, lambda value, *context: target.of(value, *context)  # type: ignore[attr-defined]
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        inner, convert = _convert(item, types)
        return list[inner], lambda values, *context: [convert(v, *context) for v in values]  # type: ignore[valid-type]
    if origin in (typing.Union, pytypes.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(hint)):
            inner, convert = _convert(args[0], types)
            return inner | None, lambda value, *context: None if value is None else convert(value, *context)
    return hint, lambda value, *context: value


def derived_type(
    domain: type,
    *,
    name: str,
    description: str,
    types: dict[type, type] | None = None,
    exclude: tuple[str, ...] = (),
) -> Any:
    """A strawberry type with the fields of ``domain`` (less ``exclude``) and an ``of(value, *context)`` constructor."""
    hints = typing.get_type_hints(domain)
    mapping = types or {}
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    converters: dict[str, Callable[..., Any]] = {}
    for f in dataclasses.fields(domain):
        if f.name in exclude:
            continue
        annotation, convert = _convert(hints[f.name], mapping)
        annotations[f.name] = annotation
        namespace[f.name] = strawberry.field(description=f.metadata.get("doc"))
        converters[f.name] = convert
    namespace["__annotations__"] = annotations
    cls = type(name, (), namespace)

    def of(value: Any, *context: Any) -> Any:
        # context (e.g. the grant a shared report was read through) goes on to the nested rows' types
        return cls(**{field: convert(getattr(value, field), *context) for field, convert in converters.items()})

    cls.of = staticmethod(of)  # type: ignore[attr-defined]
    return strawberry.type(cls, name=name, description=description)
