"""Test set-up: real PostgreSQL (a database per xdist worker, migrated), real Redis, moto's S3 server.

Isolation comes from tenancy itself: every test creates its own tenants (each in its own schema
with its own role), so tests never see each other's data and nothing needs deleting in between.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

ADMIN_URL = os.environ.get("CBAMX_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("CBAMX_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


DB_NAME = f"cbamx_test_{os.getpid()}_{_worker_index()}"

# settings are read from the environment and cached: set it before anything imports them
os.environ["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
# several test runs may share one Redis: each run can take its own range of databases
REDIS_DB_BASE = int(os.environ.get("CBAMX_TEST_REDIS_DB_BASE", "1"))
os.environ["REDIS_URL"] = f"{REDIS_BASE}/{(REDIS_DB_BASE + _worker_index()) % 16}"
os.environ["CBAMX_ENVIRONMENT"] = "test"
os.environ["CBAMX_SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ["CBAMX_PUBLIC_URL"] = "http://testserver"
os.environ["CBAMX_LOGIN_RATE_PER_MINUTE"] = "1000"
os.environ["CBAMX_TOKEN_RATE_PER_MINUTE"] = "1000"
# every tenant's transactions log in on a pool of their own: tests make hundreds of tenants and
# share one PostgreSQL (max_connections) with parallel runs, so few pools stay open
os.environ.setdefault("CBAMX_DB_TENANT_POOLS", "6")
os.environ["CBAMX_LOGIN_ADDRESS_RATE_PER_MINUTE"] = "100000"
os.environ["CBAMX_LOGIN_ACCOUNT_RATE_PER_MINUTE"] = "100000"
os.environ["CBAMX_TOKEN_ADDRESS_RATE_PER_MINUTE"] = "100000"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

from tests.fixtures import *  # noqa: E402,F403


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["CBAMX_S3_ENDPOINT_URL"] = f"http://{host}:{port}"
    os.environ["CBAMX_S3_BUCKET"] = f"cbamx-evidence-{uuid.uuid4().hex[:8]}"
    os.environ["CBAMX_S3_OBJECT_LOCK_DAYS"] = "30"
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
async def database_url(moto_server: str) -> AsyncIterator[str]:
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    await admin.close()
    from backend.db import Database
    from tenancy.migrate import upgrade_platform

    db = Database.connect(os.environ["DATABASE_URL"], pool_size=2)
    await upgrade_platform(db)
    await db.dispose()
    yield os.environ["DATABASE_URL"]
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    keys = [r["key"] for r in await conn.fetch("SELECT key FROM platform.tenants")]
    await conn.close()
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    for key in keys:
        await admin.execute(f'DROP ROLE IF EXISTS "cbamx_t_{key}"')
    await admin.close()
