"""A scratch database, migrated, and the platform's services on it, for one benchmark run."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from statistics import median

import asyncpg

from backend.localservices import configure_local_services

_handles = configure_local_services()
ADMIN_URL = os.environ["CBAMX_TEST_ADMIN_URL"]
REDIS_BASE = os.environ["CBAMX_TEST_REDIS_URL"]


@asynccontextmanager
async def scratch_platform(name: str) -> AsyncIterator[object]:
    """A fresh database at the platform head, and started services; dropped afterwards."""
    db_name = f"cbamx_bench_{name}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    await admin.close()
    os.environ["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name
    os.environ["REDIS_URL"] = f"{REDIS_BASE}/15"
    os.environ.setdefault("CBAMX_SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("CBAMX_ENVIRONMENT", "test")
    from backend.services import start_services
    from backend.settings import Settings
    from tenancy.migrate import upgrade_platform

    services = await start_services(Settings())
    await upgrade_platform(services.db)
    try:
        yield services
    finally:
        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        keys = [r["key"] for r in await conn.fetch("SELECT key FROM platform.tenants")]
        await conn.close()
        await services.close()
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        for key in keys:
            await admin.execute(f'DROP ROLE IF EXISTS "cbamx_t_{key}"')
        await admin.close()


def report(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:58} {value:>14,.3f} {unit:10} {note}", flush=True)


def stats(samples: list[float]) -> str:
    return f"min {min(samples):.3f}  median {median(samples):.3f}  max {max(samples):.3f}"


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
