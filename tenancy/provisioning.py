"""Create a tenant: its registry row, database role, schema and tables, in one transaction."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.audit import service as audit
from backend.db import Database, quote_ident, tenant_session_on
from backend.errors import Conflict, FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.settings import get_settings
from backend.tenants.models import Tenant, TenantKind, TenantStatus, role_name, schema_name
from tenancy.ddl import privileges_ddl, role_ddl, runtime_role_ddl, tenant_schema_ddl, version_table_ddl
from tenancy.migrate import runtime_login, tenant_head

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class SlugTaken(Conflict):
    code = "SLUG_TAKEN"


@dataclass(frozen=True, slots=True)
class NewTenant:
    name: str
    slug: str
    kind: TenantKind
    country: str | None = None


def _new_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(12))


def validate_new_tenant(data: NewTenant) -> None:
    errors: list[FieldError] = []
    if not data.name.strip() or len(data.name) > 200:
        errors.append(FieldError("must be 1 to 200 characters", field="name"))
    if not SLUG.match(data.slug):
        errors.append(FieldError("lower-case letters, digits and hyphens, 1 to 63 characters", field="slug"))
    if data.country is not None and not re.fullmatch(r"[A-Z]{2}", data.country):
        errors.append(FieldError("an ISO 3166-1 alpha-2 code such as RS", field="country"))
    if errors:
        raise ValidationFailed(errors)


async def _raw_execute(conn: AsyncConnection, script: str) -> None:
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(script)  # type: ignore[union-attr]


async def create_tenant(db: Database, data: NewTenant, *, actor: Principal) -> Tenant:
    """Register a tenant and build its schema at the migrations' head; all or nothing.

    ``db`` is the owner's handle: the schema and tables are the owner's, the tenant gets a login
    role of its own, and the runtime role only its narrow share of the audit trail.
    """
    validate_new_tenant(data)
    key = _new_key()
    tenant = Tenant(
        id=uuid.uuid4(),
        key=key,
        slug=data.slug,
        name=data.name.strip(),
        kind=data.kind,
        country=data.country,
        status=TenantStatus.ACTIVE,
        schema_revision=tenant_head(),
    )
    schema, role = schema_name(key), role_name(key)
    runtime, runtime_password = runtime_login()
    async with db.engine.connect() as conn, conn.begin():
        exists = await conn.execute(select(Tenant.id).where(Tenant.slug == data.slug))
        if exists.first() is not None:
            raise SlugTaken(f"the name '{data.slug}' is taken", field="slug")
        try:
            await conn.execute(
                Tenant.__table__.insert().values(
                    id=tenant.id,
                    key=key,
                    slug=tenant.slug,
                    name=tenant.name,
                    kind=tenant.kind.value,
                    country=tenant.country,
                    status=tenant.status.value,
                    schema_revision=tenant.schema_revision,
                    created_at=text("now()"),
                )
            )
        except IntegrityError as exc:
            if "uq_tenants_slug" not in str(exc.orig):
                raise
            # a concurrent creation registered the slug after the check above
            raise SlugTaken(f"the name '{data.slug}' is taken", field="slug")
        await _raw_execute(
            conn,
            "\n".join(
                [
                    runtime_role_ddl(runtime, runtime_password),
                    role_ddl(role, get_settings().role_password(role)),
                    f"CREATE SCHEMA {quote_ident(schema)};",
                    f"SET LOCAL search_path TO {quote_ident(schema)};",
                    tenant_schema_ddl(),
                    version_table_ddl(tenant_head()),
                    privileges_ddl(schema, role, runtime),
                    "SET LOCAL search_path TO DEFAULT;",
                ]
            ),
        )
        session = await tenant_session_on(conn, tenant.scope())
        await audit.record(
            session,
            actor,
            "tenant.created",
            "tenant",
            tenant.id,
            after={
                "name": tenant.name,
                "slug": tenant.slug,
                "kind": tenant.kind.value,
                "country": tenant.country,
            },
        )
        await session.commit()  # releases the savepoint; the outer transaction commits below
        await session.close()
    return tenant


async def drop_tenant(db: Database, tenant_id: uuid.UUID) -> None:
    """Remove a tenant with its schema and role (operators only; its data is gone)."""
    async with db.engine.connect() as conn, conn.begin():
        tenant = (await conn.execute(select(Tenant.key).where(Tenant.id == tenant_id))).first()
        if tenant is None:
            return
        schema, role = schema_name(tenant.key), role_name(tenant.key)
        await _raw_execute(conn, f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE;")
        await conn.execute(Tenant.__table__.delete().where(Tenant.id == tenant_id))
        await _raw_execute(
            conn,
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"DROP OWNED BY {quote_ident(role)}; DROP ROLE {quote_ident(role)}; END IF; END $$;",
        )
