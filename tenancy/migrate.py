"""Migrations: the platform schema first, then every tenant, one transaction per tenant.

A tenant's ``schema_revision`` in the registry is updated in the same transaction as its schema,
so a run that stops half-way resumes where it stopped: tenants already at head are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from backend.db import Database
from backend.settings import Settings, get_settings
from backend.tenants.models import Tenant, role_name, schema_name

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"


def alembic_config(environment: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / environment))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s_%%(rev)s")
    return cfg


@lru_cache(maxsize=2)
def _script(environment: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(environment))


def tenant_head() -> str:
    head = _script("tenant").get_current_head()
    if head is None:
        raise RuntimeError("the tenant migrations have no head revision")
    return head


def platform_head() -> str:
    head = _script("platform").get_current_head()
    if head is None:
        raise RuntimeError("the platform migrations have no head revision")
    return head


def _upgrade(connection: Connection, environment: str, *, tenant_schema: str | None = None) -> None:
    cfg = alembic_config(environment)
    cfg.attributes["connection"] = connection
    if tenant_schema is not None:
        cfg.attributes["tenant_schema"] = tenant_schema
    command.upgrade(cfg, "head")


def runtime_login(settings: Settings | None = None) -> tuple[str, str | None]:
    """The runtime role's name, and the password to create it with (None: the server authenticates otherwise)."""
    from sqlalchemy.engine import make_url

    settings = settings or get_settings()
    url = make_url(settings.resolved_runtime_database_url())
    return url.username or settings.db_runtime_role, url.password


async def upgrade_platform(db: Database) -> None:
    """Upgrade the platform schema, create the runtime role if missing and (re)apply its privileges."""
    from tenancy.ddl import platform_privileges_ddl, runtime_role_ddl

    runtime, password = runtime_login()
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, "platform")
        raw = await conn.get_raw_connection()
        script = runtime_role_ddl(runtime, password) + "\n" + platform_privileges_ddl(runtime)
        await raw.driver_connection.execute(script)  # type: ignore[union-attr]


@dataclass
class MigrationReport:
    migrated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


Progress = Callable[[int, int, str, str], None]


async def upgrade_tenants(
    db: Database, *, only: list[str] | None = None, progress: Progress | None = None, force: bool = False
) -> MigrationReport:
    """Bring every tenant (or the named slugs) to head; a failing tenant is rolled back alone."""
    from tenancy.ddl import privileges_ddl, role_ddl

    settings = get_settings()
    runtime, _ = runtime_login(settings)
    head = tenant_head()
    report = MigrationReport()
    started = time.perf_counter()
    async with db.platform_session() as session:
        query = select(Tenant.id, Tenant.slug, Tenant.key, Tenant.schema_revision).order_by(Tenant.created_at)
        if only:
            query = query.where(Tenant.slug.in_(only))
        tenants = (await session.execute(query)).all()
    for index, row in enumerate(tenants, start=1):
        if row.schema_revision == head and not force:
            report.skipped.append(row.slug)
            if progress:
                progress(index, len(tenants), row.slug, "at head")
            continue
        schema, role = schema_name(row.key), role_name(row.key)
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(_upgrade, "tenant", tenant_schema=schema)
                raw = await conn.get_raw_connection()
                # also turns a tenant role of an older release into a login role with its password
                script = role_ddl(role, settings.role_password(role)) + "\n" + privileges_ddl(schema, role, runtime)
                await raw.driver_connection.execute(script)  # type: ignore[union-attr]
                await conn.execute(update(Tenant).where(Tenant.id == row.id).values(schema_revision=head))
        except Exception as exc:  # one tenant's failure must not stop the others
            report.failed[row.slug] = f"{type(exc).__name__}: {exc}"
            if progress:
                progress(index, len(tenants), row.slug, "FAILED")
            continue
        report.migrated.append(row.slug)
        if progress:
            progress(index, len(tenants), row.slug, "migrated")
    report.seconds = time.perf_counter() - started
    return report
