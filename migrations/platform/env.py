"""Alembic environment of the platform schema (tenants, users, clients, grants, directory)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import backend.model_registry  # noqa: F401
from backend.certificates.models import CLAIMS_SCHEMA
from backend.db import PLATFORM_SCHEMA, PlatformBase, asyncpg_url

config = context.config


def run(connection: Connection) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{PLATFORM_SCHEMA}"'))
    context.configure(
        connection=connection,
        target_metadata=PlatformBase.metadata,
        version_table_schema=PLATFORM_SCHEMA,
        include_schemas=True,
        include_name=lambda name, type_, parent: (
            (type_ != "schema" or name in (PLATFORM_SCHEMA, CLAIMS_SCHEMA))
            and not (type_ == "table" and name == "alembic_version")
        ),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(asyncpg_url(url))
    async with engine.begin() as conn:
        await conn.run_sync(run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from backend.settings import get_settings

    asyncio.run(_run_async(get_settings().database_url or ""))
