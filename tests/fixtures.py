"""Session services, the app, and HTTP clients for tests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend.services import Services


@pytest.fixture(scope="session")
async def services(database_url: str) -> AsyncIterator[Services]:
    from backend.services import start_services
    from backend.settings import Settings

    settings = Settings()
    svc = await start_services(settings)
    await svc.redis.flushdb()
    yield svc
    await svc.close()
    from tests.factories.owner import dispose_owner_db

    await dispose_owner_db()


@pytest.fixture(scope="session")
def app(services: Services) -> Any:
    from backend.app import create_app

    application = create_app(services.settings, services=services)
    application.state.services = services
    return application


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


_REGISTRY_REFRESH = re.compile(r"FROM platform\.tenants\s+WHERE platform\.tenants\.id = ")


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        """Statements of the work itself. The tenant registry's refresh of its one-second cache is left
        out: whether it falls inside the request counted depends on the clock, not on the rows."""
        return sum(1 for statement in self.statements if not _REGISTRY_REFRESH.search(statement))


@pytest.fixture
def count_queries(services: Services) -> Any:
    # every engine: tenant transactions run on each tenant's own pool
    counter = QueryCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)
