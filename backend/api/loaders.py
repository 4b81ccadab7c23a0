"""Helpers for per-operation DataLoaders: one IN query per batch, results in key order."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

T = TypeVar("T")


SessionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def grouped_loader(
    context: Any,
    fetch: Callable[[AsyncSession, list[uuid.UUID]], Awaitable[Sequence[T]]],
    key_of: Callable[[T], uuid.UUID],
    *,
    open_session: SessionOpener | None = None,
) -> DataLoader[uuid.UUID, list[T]]:
    """A loader returning, for each key, the rows whose ``key_of`` equals it.

    Rows come from the viewer's own tenant, or from ``open_session`` (e.g. a grantor's tenant read
    through a grant).
    """
    opener = open_session or context.tenant_uow

    async def load(keys: list[uuid.UUID]) -> list[list[T]]:
        async with opener() as db:
            rows = await fetch(db, list(keys))
        groups: dict[uuid.UUID, list[T]] = defaultdict(list)
        for row in rows:
            groups[key_of(row)].append(row)
        return [groups.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
