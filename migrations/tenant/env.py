"""Alembic environment of one tenant schema; the caller names the schema.

Revisions are written without schema names; this environment runs them with a transaction-local
``search_path`` set to the tenant's schema, and keeps ``alembic_version`` inside that schema.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import backend.model_registry  # noqa: F401
from backend.db import IDENTIFIER, TenantBase, asyncpg_url, quote_ident

config = context.config


def run(connection: Connection) -> None:
    schema = config.attributes.get("tenant_schema") or context.get_x_argument(as_dictionary=True).get("tenant")
    if not schema or not IDENTIFIER.match(schema):
        raise SystemExit("name the tenant schema: -x tenant=tenant_<key>")
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}"))
    connection.execute(text("SELECT set_config('search_path', :s, true)"), {"s": schema})
    # autogenerate reflects the default schema; point it at the tenant (alembic cookbook recipe)
    connection.dialect.default_schema_name = schema
    context.configure(
        connection=connection,
        target_metadata=TenantBase.metadata,
        version_table_schema=schema,
        include_schemas=False,
        include_name=lambda name, type_, parent: not (type_ == "table" and name == "alembic_version"),
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
