"""Run a mutation body in one unit of work and turn domain errors into payload errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.context import Context
from backend.api.errors import UserError, data_error, user_errors
from backend.errors import DomainError
from backend.identity.principal import Principal

P = TypeVar("P")


async def run(body: Callable[[], Awaitable[P]], on_error: Callable[[list], P]) -> P:  # type: ignore[type-arg]
    """Everything ``body`` wrote is rolled back when it raises a domain error: nothing partial stays."""
    try:
        return await body()
    except DomainError as error:
        return on_error(user_errors(error))
    except Exception as error:
        # a value the database refused after validation let it through: the caller's mistake
        rejected = data_error(error)
        if rejected is None:
            raise
        if rejected.field:
            # the column's name, spelled as the GraphQL input field
            head, *rest = rejected.field.split("_")
            rejected.field = head + "".join(part.capitalize() for part in rest)
        return on_error(user_errors(rejected))


# what a mutation does, given its unit of work and the caller; and the payload that says why it failed
Action = Callable[[AsyncSession, Principal], Awaitable[P]]
OnError = Callable[[list[UserError]], P]


async def in_tenant(info: strawberry.Info[Context, None], action: Action[P], on_error: OnError[P]) -> P:
    """Run ``action`` as the caller in one unit of work of the caller's organisation (see :func:`run`)."""
    return await _in_unit_of_work(info, info.context.tenant_uow, action, on_error)


async def in_platform(info: strawberry.Info[Context, None], action: Action[P], on_error: OnError[P]) -> P:
    """Run ``action`` as the caller in one unit of work of the platform database (see :func:`run`)."""
    return await _in_unit_of_work(info, info.context.platform_uow, action, on_error)


async def _in_unit_of_work(
    info: strawberry.Info[Context, None],
    unit_of_work: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    action: Action[P],
    on_error: OnError[P],
) -> P:
    # asked first, outside the error table: an anonymous caller is refused, not given a payload
    principal = info.context.require_principal()

    async def body() -> P:
        async with unit_of_work() as session:
            return await action(session, principal)

    return await run(body, on_error)
