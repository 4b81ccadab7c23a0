"""The `cbamx` command line for operators: serve, worker, migrate, tenants, users, clients, audit, demo."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer

from backend.errors import DomainError

app = typer.Typer(help="cbamx: CBAM evidence exchange. Operators' commands.", no_args_is_help=True)
tenant_app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)
user_app = typer.Typer(help="People and their memberships.", no_args_is_help=True)
client_app = typer.Typer(help="OAuth2 machine clients.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trails.", no_args_is_help=True)
grant_app = typer.Typer(help="Grants between organisations.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(client_app, name="client")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(grant_app, name="grant")

T = TypeVar("T")
EXIT_CODES = {"invalid": 2, "not_found": 3, "forbidden": 4, "conflict": 5, "unauthenticated": 4}


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(factory())
    except DomainError as exc:
        typer.secho(f"error ({exc.code}): {exc.message}", err=True, fg="red")
        raise typer.Exit(EXIT_CODES.get(exc.kind, 1))


async def _database() -> Any:
    from backend.db import Database
    from backend.settings import get_settings

    settings = get_settings()
    if not settings.database_url:
        typer.secho("DATABASE_URL is not set", err=True, fg="red")
        raise typer.Exit(2)
    return Database.connect(settings.database_url, pool_size=2)


@asynccontextmanager
async def _platform() -> AsyncIterator[Any]:
    """One platform transaction on a short-lived connection, for one command."""
    db = await _database()
    try:
        async with db.platform() as session:
            yield session
    finally:
        await db.dispose()


async def _tenant_by_slug(session: Any, slug: str) -> Any:
    """The organisation with this slug, or an UNKNOWN_TENANT error (exit code 3)."""
    from sqlalchemy import select

    from tenancy.models import Tenant
    from tenancy.registry import UnknownTenant

    row = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if row is None:
        raise UnknownTenant(f"no organisation '{slug}'", field="tenant")
    return row


@app.command()
def serve(
    host: str = typer.Option(None),
    port: int = typer.Option(None),
    workers: int = typer.Option(1, help="API processes; about one per core."),
) -> None:
    """Run the API server."""
    import uvicorn

    from backend.settings import get_settings

    settings = get_settings()
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        proxy_headers=True,
        log_config=None,  # keep the structured logging set up by the app
        workers=workers,
    )


@app.command()
def worker() -> None:
    """Run the background worker (calculations, imports)."""
    from arq.worker import run_worker

    from workers.settings import WorkerSettings, redis_settings

    WorkerSettings.redis_settings = redis_settings()  # type: ignore[attr-defined]
    run_worker(WorkerSettings)  # type: ignore[arg-type]


@app.command()
def migrate(
    tenant: list[str] = typer.Option(None, help="Only these tenant slugs."),
    force: bool = typer.Option(False, help="Run alembic even for tenants recorded at head."),
) -> None:
    """Upgrade the platform schema, then every tenant, one transaction each (resumable)."""
    from tenancy.migrate import upgrade_platform, upgrade_tenants

    def progress(index: int, total: int, slug: str, state: str) -> None:
        typer.echo(f"[{index}/{total}] {slug}: {state}")

    async def main() -> bool:
        db = await _database()
        try:
            await upgrade_platform(db)
            typer.echo("platform schema: at head")
            report = await upgrade_tenants(db, only=tenant or None, progress=progress, force=force)
        finally:
            await db.dispose()
        typer.echo(
            f"tenants: {len(report.migrated)} migrated, {len(report.skipped)} at head, "
            f"{len(report.failed)} failed in {report.seconds:.2f} s"
        )
        for slug, reason in report.failed.items():
            typer.secho(f"  {slug}: {reason}", err=True, fg="red")
        return report.ok

    if not _run(main):
        raise typer.Exit(1)


@tenant_app.command("create")
def tenant_create(
    name: str = typer.Option(...),
    slug: str = typer.Option(...),
    kind: str = typer.Option(..., help="exporter, importer, verifier or renewable_developer"),
    country: str = typer.Option(None),
) -> None:
    """Create an organisation with its own schema and database role."""
    from backend.identity.principal import Principal
    from tenancy.models import TenantKind
    from tenancy.provisioning import NewTenant, create_tenant

    async def main() -> None:
        db = await _database()
        try:
            tenant = await create_tenant(
                db,
                NewTenant(name=name, slug=slug, kind=TenantKind(kind), country=country),
                actor=Principal.system("cli"),
            )
        finally:
            await db.dispose()
        typer.echo(json.dumps({"id": str(tenant.id), "slug": tenant.slug, "schema": tenant.schema}))

    _run(main)


@tenant_app.command("list")
def tenant_list() -> None:
    """List organisations."""
    from sqlalchemy import select

    from tenancy.models import Tenant

    async def main() -> None:
        db = await _database()
        try:
            async with db.platform_session() as session:
                for t in (await session.execute(select(Tenant).order_by(Tenant.created_at))).scalars():
                    typer.echo(f"{t.slug:30} {t.kind.value:20} {t.status.value:10} {t.schema_revision} {t.id}")
        finally:
            await db.dispose()

    _run(main)


@user_app.command("create")
def user_create(
    email: str = typer.Option(...),
    name: str = typer.Option(...),
    tenant: str = typer.Option(None, help="Slug of an organisation to join."),
    role: str = typer.Option("owner"),
    platform_admin: bool = typer.Option(False),
) -> None:
    """Create a person (the password is asked for, never passed as an option)."""
    password = os.environ.get("CBAMX_NEW_USER_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )

    from backend.identity.models import MembershipRole
    from backend.identity.principal import Principal
    from backend.identity.users import add_membership, create_user

    async def main() -> None:
        async with _platform() as session:
            user = await create_user(
                session, email=email, name=name, password=password, is_platform_admin=platform_admin
            )
            if tenant:
                row = await _tenant_by_slug(session, tenant)
                await add_membership(
                    session,
                    Principal.system("cli", row.id),
                    tenant=row,
                    user=user,
                    role=MembershipRole(role),
                )
        typer.echo(json.dumps({"id": str(user.id), "email": user.email}))

    _run(main)


@client_app.command("create")
def client_create(
    tenant: str = typer.Option(...),
    name: str = typer.Option(...),
    scope: list[str] = typer.Option(..., help="Repeat for several scopes."),
    installation: str = typer.Option(None, help="Installation id (required for ingest)."),
) -> None:
    """Register a machine client; prints its id and secret once."""
    import uuid

    from backend.identity.clients import create_client
    from backend.identity.principal import Principal

    async def main() -> dict[str, str]:
        async with _platform() as session:
            row = await _tenant_by_slug(session, tenant)
            issued = await create_client(
                session,
                Principal.system("cli", row.id),
                tenant=row,
                name=name,
                scopes=scope,
                installation_id=uuid.UUID(installation) if installation else None,
            )
        return {"client_id": issued.client.client_id, "client_secret": issued.client_secret}

    typer.echo(json.dumps(_run(main)))


@client_app.command("revoke")
def client_revoke(tenant: str = typer.Option(...), client_id: str = typer.Option(...)) -> None:
    """Revoke a client at once."""

    from backend.identity.clients import revoke_client
    from backend.identity.principal import Principal

    async def main() -> None:
        async with _platform() as session:
            row = await _tenant_by_slug(session, tenant)
            await revoke_client(session, Principal.system("cli", row.id), tenant=row, client_id=client_id)

    _run(main)
    typer.echo("revoked")


@client_app.command("rotate")
def client_rotate(
    tenant: str = typer.Option(...),
    client_id: str = typer.Option(...),
    grace_seconds: int = typer.Option(0, help="How long the old secret keeps working."),
) -> None:
    """Issue a new secret for a client; prints it once."""

    from backend.identity.clients import rotate_secret
    from backend.identity.principal import Principal

    async def main() -> dict[str, str]:
        async with _platform() as session:
            row = await _tenant_by_slug(session, tenant)
            issued = await rotate_secret(
                session, Principal.system("cli", row.id), tenant=row, client_id=client_id, grace_s=grace_seconds
            )
        return {"client_id": issued.client.client_id, "client_secret": issued.client_secret}

    typer.echo(json.dumps(_run(main)))


@user_app.command("add")
def user_add(
    email: str = typer.Option(...),
    tenant: str = typer.Option(..., help="Slug of the organisation."),
    role: str = typer.Option("member", help="owner, admin, member or viewer"),
) -> None:
    """Give an existing person a role in an organisation (or change their role there)."""

    from backend.identity.errors import UserNotFound
    from backend.identity.models import MembershipRole
    from backend.identity.principal import Principal
    from backend.identity.users import add_membership, get_user_by_email

    async def main() -> None:
        async with _platform() as session:
            user = await get_user_by_email(session, email)
            if user is None:
                raise UserNotFound(f"no user {email}", field="email")
            row = await _tenant_by_slug(session, tenant)
            await add_membership(
                session, Principal.system("cli", row.id), tenant=row, user=user, role=MembershipRole(role)
            )

    _run(main)
    typer.echo(f"{email} is {role} of {tenant}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new key; the old one stays published until its tokens expire."""
    from datetime import timedelta

    from backend.identity.keys import rotate
    from backend.settings import get_settings

    settings = get_settings()

    async def main() -> str:
        async with _platform() as session:
            key = await rotate(
                session,
                secret=settings.resolved_secret_key(),
                grace=timedelta(seconds=settings.access_token_ttl_s + settings.signing_key_grace_s),
            )
        return key.kid

    typer.echo(f"active key: {_run(main)}")


@audit_app.command("verify")
def audit_verify(
    tenant: str = typer.Option(..., help="Slug of the organisation."),
    anchor: str = typer.Option(None, help="A head hash recorded earlier; the chain must contain it."),
) -> None:
    """Recompute a tenant's audit chain; exit 1 and name the first broken entry if it fails."""
    from backend.audit.service import verify_chain
    from tenancy.registry import TenantRegistry

    async def main() -> Any:
        db = await _database()
        try:
            ref = await TenantRegistry(db).by_slug(tenant)
            async with db.tenant(ref.scope) as session:
                return await verify_chain(session, anchor=anchor)
        finally:
            await db.dispose()

    result = _run(main)
    if result.ok:
        typer.echo(f"ok: {result.entries_checked} entries verified; head {result.head_hash}")
        return
    typer.secho(
        f"BROKEN at entry {result.first_broken_seq}: {result.reason} "
        f"({result.entries_checked} entries verified before it)",
        err=True,
        fg="red",
    )
    raise typer.Exit(1)


@grant_app.command("list")
def grant_list(tenant: str = typer.Option(..., help="Slug of the organisation.")) -> None:
    """Grants an organisation has given and live grants it has received, one JSON object a line."""
    from backend.identity.principal import Principal
    from backend.sharing.grants import grants_given, grants_received
    from backend.sharing.organizations import tenants_by_id

    async def main() -> list[dict[str, Any]]:
        async with _platform() as session:
            row = await _tenant_by_slug(session, tenant)
            actor = Principal.system("cli", row.id)
            rows = [("given", g) for g in await grants_given(session, actor, grantor_id=row.id)]
            rows += [("received", g) for g in await grants_received(session, actor)]
            names = await tenants_by_id(
                session, {g.grantor_tenant_id for _, g in rows} | {g.grantee_tenant_id for _, g in rows}
            )

            def org(tenant_id: Any) -> dict[str, str]:
                t = names[tenant_id]
                return {"id": str(t.id), "slug": t.slug, "name": t.name}

            return [
                {
                    "direction": direction,
                    "id": str(g.id),
                    "grantor": org(g.grantor_tenant_id),
                    "grantee": org(g.grantee_tenant_id),
                    "kinds": g.resource_kinds,
                    "installations": [str(i) for i in g.installation_ids],
                    "period": [
                        g.period_start.isoformat() if g.period_start else None,
                        g.period_end.isoformat() if g.period_end else None,
                    ],
                    "expires_at": g.expires_at.isoformat(),
                    "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
                    "purpose": g.purpose,
                }
                for direction, g in rows
            ]

    for line in _run(main):
        typer.echo(json.dumps(line, ensure_ascii=False))


@app.command("export-schema")
def export_schema(check: bool = typer.Option(False, help="Fail if graphql/schema.graphql differs.")) -> None:
    """Write the GraphQL SDL to graphql/schema.graphql."""
    from backend.schema import SDL_PATH, export_sdl

    sdl = export_sdl()
    if check:
        if not SDL_PATH.exists() or SDL_PATH.read_text() != sdl:
            typer.secho("graphql/schema.graphql is out of date: run `cbamx export-schema`", err=True, fg="red")
            raise typer.Exit(1)
        return
    SDL_PATH.write_text(sdl)
    typer.echo(f"wrote {SDL_PATH}")


@app.command()
def demo(
    port: int = typer.Option(8000),
    data_dir: Path = typer.Option(Path(".cbamx"), help="Where embedded data lives."),
    reset: bool = typer.Option(False, help="Start from an empty demo."),
) -> None:
    """Run the platform with a realistic demo plant on embedded services (nothing to configure)."""
    from backend.demo.run import run_demo

    sys.exit(run_demo(port=port, data_dir=data_dir, reset=reset))


def main() -> None:
    app()
