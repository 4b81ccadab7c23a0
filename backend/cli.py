"""The `cbamx` command line for operators: serve, worker, migrate, tenants, users, clients, keys, audit,
quarantine, grants, statements."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer

from backend.errors import DomainError, ValidationFailed
from backend.ids import decode_global_id, parse_key, parse_uuid

# plain usage errors: one line names the option and the reason (a rich box would wrap it)
app = typer.Typer(
    help="cbamx: CBAM evidence exchange. Operators' commands.", no_args_is_help=True, rich_markup_mode=None
)
tenant_app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)
user_app = typer.Typer(help="People and their memberships.", no_args_is_help=True)
client_app = typer.Typer(help="OAuth2 machine clients.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trails.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Deliveries interval derivation set aside: list, inspect, release, discard.", no_args_is_help=True
)
grant_app = typer.Typer(help="Grants between organisations.", no_args_is_help=True)
statement_app = typer.Typer(help="Verification statements and their signing keys.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(client_app, name="client")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(grant_app, name="grant")
app.add_typer(statement_app, name="statement")

T = TypeVar("T")
EXIT_CODES = {"invalid": 2, "not_found": 3, "forbidden": 4, "conflict": 5, "unauthenticated": 4}


def _id_option(*types: str) -> Callable[[str], Any]:
    """Parse an option given as any interface shows the id: a UUID or a GraphQL global id of ``types``."""

    def parse(value: str) -> Any:
        try:
            return parse_uuid(value, *types, field=types[0])
        except ValidationFailed as exc:
            raise typer.BadParameter(exc.errors[0].message)

    return parse


def _client_id(value: str) -> str:
    """A machine client's ``client_id``, or the GraphQL id of the client."""
    try:
        return parse_key(value, "OAuthClient", field="client_id")
    except ValidationFailed as exc:
        raise typer.BadParameter(exc.errors[0].message)


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(factory())
    except DomainError as exc:
        typer.secho(f"error ({exc.code}): {exc.message}", err=True, fg="red")
        raise typer.Exit(EXIT_CODES.get(exc.kind, 1))


async def _database() -> Any:
    """The runtime's handle (what the API and workers use): it owns nothing."""
    from backend.db import Database
    from backend.settings import get_settings

    settings = get_settings()
    if not (settings.runtime_database_url or settings.database_url):
        typer.secho("CBAMX_RUNTIME_DATABASE_URL (or DATABASE_URL) is not set", err=True, fg="red")
        raise typer.Exit(2)
    return Database.connect(
        settings.resolved_runtime_database_url(), pool_size=2, tenant_password=settings.role_password
    )


async def _owner_database() -> Any:
    """The owner's handle, for migrations and provisioning only."""
    from backend.db import Database
    from backend.settings import get_settings

    settings = get_settings()
    if not settings.database_url:
        typer.secho("DATABASE_URL (the owner's DSN) is not set", err=True, fg="red")
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
    """The organisation named by its slug, its UUID or its GraphQL id; else UNKNOWN_TENANT (exit code 3)."""
    from sqlalchemy import select

    from backend.tenants.models import Tenant
    from backend.tenants.registry import UnknownTenant

    query = select(Tenant).where(Tenant.slug == slug)
    if decode_global_id(slug) is not None or _is_uuid(slug):
        query = select(Tenant).where(Tenant.id == parse_uuid(slug, "Organization", field="tenant"))
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise UnknownTenant(f"no organisation '{slug}'", field="tenant")
    return row


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@app.command()
def serve(
    host: str = typer.Option(None),
    port: int = typer.Option(None),
    workers: int = typer.Option(1, help="API processes; about one per core."),
    ssl_certfile: Path = typer.Option(None, help="Serve HTTPS with this PEM certificate (chain)."),
    ssl_keyfile: Path = typer.Option(None, help="The private key of --ssl-certfile (PEM)."),
) -> None:
    """Run the API server (HTTPS when given a certificate and key; otherwise behind a TLS proxy)."""
    import uvicorn

    from backend.settings import get_settings

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
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
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
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
        db = await _owner_database()
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
    from backend.tenants.models import TenantKind
    from tenancy.provisioning import NewTenant, create_tenant

    async def main() -> None:
        db = await _owner_database()
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

    from backend.tenants.models import Tenant

    async def main() -> None:
        db = await _database()
        try:
            async with db.platform_session() as session:
                for t in (await session.execute(select(Tenant).order_by(Tenant.created_at))).scalars():
                    typer.echo(f"{t.slug:30} {t.kind.value:20} {t.status.value:10} {t.schema_revision} {t.id}")
        finally:
            await db.dispose()

    _run(main)


def _set_tenant_status(slug: str, status: str, reason: str) -> None:
    from backend.identity.principal import Principal
    from backend.tenants.models import TenantStatus
    from backend.tenants.status import set_status

    async def main() -> None:
        async with _platform() as session:
            tenant = await set_status(
                session,
                Principal.system("cli"),
                await _tenant_by_slug(session, slug),
                TenantStatus(status),
                reason=reason,
            )
        typer.echo(json.dumps({"slug": tenant.slug, "status": tenant.status.value}))

    _run(main)


@tenant_app.command("suspend")
def tenant_suspend(
    tenant: str = typer.Option(..., help="The organisation's slug."),
    reason: str = typer.Option("", help="Why, for the audit trail."),
) -> None:
    """Suspend an organisation: no new tokens at once, its tokens and sessions stop within a second."""
    _set_tenant_status(tenant, "suspended", reason)


@tenant_app.command("resume")
def tenant_resume(
    tenant: str = typer.Option(..., help="The organisation's slug."),
    reason: str = typer.Option("", help="Why, for the audit trail."),
) -> None:
    """Make a suspended organisation active again."""
    _set_tenant_status(tenant, "active", reason)


@user_app.command("create")
def user_create(
    email: str = typer.Option(...),
    name: str = typer.Option(...),
    tenant: str = typer.Option(None, help="The organisation to join: slug, UUID or GraphQL id."),
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
    tenant: str = typer.Option(..., help="The organisation: slug, UUID or GraphQL id."),
    name: str = typer.Option(...),
    scope: list[str] = typer.Option(..., help="Repeat for several scopes."),
    installation: Any = typer.Option(
        None,
        metavar="ID",
        parser=_id_option("Installation"),
        help="The installation an ingest client serves (required for ingest): its UUID or GraphQL id.",
    ),
) -> None:
    """Register a machine client; prints its id and secret once."""
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
                installation_id=installation,
            )
        return {"client_id": issued.client.client_id, "client_secret": issued.client_secret}

    typer.echo(json.dumps(_run(main)))


@client_app.command("revoke")
def client_revoke(
    tenant: str = typer.Option(..., help="The organisation: slug, UUID or GraphQL id."),
    client_id: str = typer.Option(..., parser=_client_id, help="The client_id, or the client's GraphQL id."),
) -> None:
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
    tenant: str = typer.Option(..., help="The organisation: slug, UUID or GraphQL id."),
    client_id: str = typer.Option(..., parser=_client_id, help="The client_id, or the client's GraphQL id."),
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
    tenant: str = typer.Option(..., help="The organisation: slug, UUID or GraphQL id."),
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
    tenant: str = typer.Option(..., help="The organisation: slug, UUID or GraphQL id."),
    anchor: str = typer.Option(None, help="A head hash recorded earlier; the chain must contain it."),
) -> None:
    """Recompute a tenant's audit chain and check it against every anchor; exit 1 and name the first broken entry."""
    from backend.audit.anchors import verify_anchored
    from backend.identity.principal import Principal
    from backend.services import build_store
    from backend.settings import get_settings
    from backend.tenants.registry import TenantRegistry

    async def main() -> Any:
        db = await _database()
        try:
            registry = TenantRegistry(db)
            if decode_global_id(tenant) is not None or _is_uuid(tenant):
                ref = await registry.get(parse_uuid(tenant, "Organization", field="tenant"))
            else:
                ref = await registry.by_slug(tenant)
            store = build_store(get_settings())
            return await verify_anchored(db, store, Principal.system("cli", ref.id), ref.id, ref.scope, anchor=anchor)
        finally:
            await db.dispose()

    result = _run(main)
    if result.ok:
        typer.echo(
            f"ok: {result.entries_checked} entries verified against {result.anchors_checked} anchors; "
            f"head {result.head_hash}"
        )
        return
    typer.secho(
        f"BROKEN at entry {result.first_broken_seq}: {result.reason} "
        f"({result.entries_checked} entries verified before it)",
        err=True,
        fg="red",
    )
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(tenant: list[str] = typer.Option(None, help="Only these slugs (default: every active one).")) -> None:
    """Anchor the head of each audit chain in the platform schema and the object store; exit 1 if one fails."""
    from backend.audit.anchors import anchor_tenants
    from backend.services import build_store
    from backend.settings import get_settings
    from backend.tenants.registry import TenantRegistry

    async def main() -> Any:
        db = await _database()
        try:
            registry = TenantRegistry(db)
            refs = [await registry.by_slug(slug) for slug in tenant] if tenant else await registry.active()
            store = build_store(get_settings())
            return await anchor_tenants(db, store, [(r.id, r.slug, r.scope) for r in refs])
        finally:
            await db.dispose()

    run = _run(main)
    for slug, seq in run.anchored.items():
        typer.echo(f"{slug}: anchored at entry {seq}")
    for slug in run.unchanged:
        typer.echo(f"{slug}: nothing new since the last anchor")
    for slug, reason in run.failed.items():
        typer.secho(f"{slug}: FAILED: {reason}", err=True, fg="red")
    if run.failed:
        raise typer.Exit(1)


@asynccontextmanager
async def _tenant_uow(slug: str) -> AsyncIterator[Any]:
    """One unit of work in an organisation's schema, as the CLI; jobs it defers go through the outbox."""
    from backend.settings import get_settings
    from backend.tenants.registry import TenantRegistry

    db = await _database()
    queue = None
    if get_settings().redis_url:
        from arq.connections import ArqRedis

        from backend.outbox import OutboxRelay

        # deferred jobs wait in the outbox; this hands them over after commit (else the worker's relay does)
        queue = ArqRedis.from_url(get_settings().redis_url, socket_connect_timeout=2.0, socket_timeout=5.0)
        db.relay = OutboxRelay(db, queue)
    try:
        ref = await TenantRegistry(db).by_slug(slug)
        async with db.tenant(ref.scope) as session:
            yield session
    finally:
        if queue is not None:
            await queue.aclose()
        await db.dispose()


def _batch_id(value: str) -> Any:
    from backend.ids import parse_uuid

    return parse_uuid(value, "IngestBatch", field="batch")


def _installation_id(value: str) -> Any:
    from backend.ids import parse_uuid

    return parse_uuid(value, "Installation", field="installation")


@quarantine_app.command("list")
def quarantine_list(
    tenant: str = typer.Option(..., help="Slug of the organisation."),
    installation: str = typer.Option(None, help="Only this installation (id)."),
) -> None:
    """Quarantined deliveries, oldest first: id, installation, readings, reason."""
    from backend.metering import quarantine

    async def main() -> list[Any]:
        async with _tenant_uow(tenant) as db:
            return await quarantine.operator_list(db, _installation_id(installation) if installation else None)

    rows = _run(main)
    for b in rows:
        since = b.status_changed_at.isoformat(timespec="seconds") if b.status_changed_at else "-"
        typer.echo(f"{b.id}  installation {b.installation_id}  {b.readings} readings  since {since}  {b.status_reason}")
    typer.echo(f"{len(rows)} quarantined", err=True)


@quarantine_app.command("inspect")
def quarantine_inspect(
    tenant: str = typer.Option(..., help="Slug of the organisation."), batch: str = typer.Option(..., help="Its id.")
) -> None:
    """One delivery as JSON: its status and reason, and its readings per meter and quantity."""
    from backend.metering import quarantine

    async def main() -> dict[str, Any]:
        async with _tenant_uow(tenant) as db:
            return await quarantine.operator_inspect(db, _batch_id(batch))

    typer.echo(json.dumps(_run(main), indent=2))


@quarantine_app.command("release")
def quarantine_release(
    tenant: str = typer.Option(..., help="Slug of the organisation."),
    batch: str = typer.Option(None, help="Its id."),
    installation: str = typer.Option(None, help="Instead of --batch: every quarantined delivery of it (id)."),
) -> None:
    """Give quarantined deliveries back to derivation (once the cause is fixed) and queue them; audited."""
    from backend.db import tenant_scope_of
    from backend.errors import FieldError
    from backend.identity.principal import Principal
    from backend.metering import quarantine

    if (batch is None) == (installation is None):
        typer.secho("error (INVALID): give either --batch or --installation", err=True, fg="red")
        raise typer.Exit(2)

    async def main() -> list[Any]:
        async with _tenant_uow(tenant) as db:
            actor = Principal.system("cli", tenant_scope_of(db).tenant_id)
            if batch is not None:
                return [await quarantine.release(db, actor, _batch_id(batch))]
            rows = await quarantine.operator_list(db, _installation_id(installation))
            if not rows:
                raise FieldError(f"installation {installation} has no quarantined delivery", field="installation")
            return [await quarantine.release(db, actor, row.id) for row in rows]

    for row in _run(main):
        typer.echo(f"released {row.id}: queued for derivation")


@quarantine_app.command("discard")
def quarantine_discard(
    tenant: str = typer.Option(..., help="Slug of the organisation."),
    batch: str = typer.Option(..., help="Its id."),
    reason: str = typer.Option(..., help="Why; kept in the audit trail."),
) -> None:
    """Set a quarantined delivery aside for good: its readings stay as evidence, never derived; audited."""
    from backend.db import tenant_scope_of
    from backend.identity.principal import Principal
    from backend.metering import quarantine

    async def main() -> None:
        async with _tenant_uow(tenant) as db:
            await quarantine.discard(
                db, Principal.system("cli", tenant_scope_of(db).tenant_id), _batch_id(batch), reason
            )

    _run(main)
    typer.echo(f"discarded {batch}")


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


@statement_app.command("verify")
def statement_verify(
    file: str = typer.Argument(..., help="The statement: a file holding its compact JWS."),
    jwks: str = typer.Option(
        None,
        help="The verifier's published keys: a JWKS file or URL. Default: the jwks_uri the statement names.",
    ),
) -> None:
    """Verify a statement offline: its signature, and that the key is the issuing verifier's. Prints the payload.

    Exit codes: 0 verified, 1 does not verify (the reason on stderr), 2 unreadable input.
    """
    from pathlib import Path

    from backend.verification.statements import StatementInput, verify_statement

    try:
        token = Path(file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        typer.secho(f"error: cannot read {file}: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    try:
        outcome = verify_statement(token, jwks)
    except StatementInput as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    if outcome.reason is not None:
        typer.secho(f"NOT VERIFIED: {outcome.reason}", err=True, fg="red")
        raise typer.Exit(1)
    typer.secho(f"verified: signed by key {outcome.kid} of {outcome.keys_from}", err=True)
    typer.echo(json.dumps(outcome.payload, indent=2, ensure_ascii=False))


@statement_app.command("rotate-key")
def statement_rotate_key(tenant: str = typer.Option(..., help="Slug of the verifier organisation.")) -> None:
    """Sign the organisation's next statements with a new key; the old key stays published."""
    from backend.settings import get_settings
    from backend.verification.signing import rotate_key

    settings = get_settings()

    async def main() -> str:
        async with _platform() as session:
            row = await _tenant_by_slug(session, tenant)
            key = await rotate_key(session, row.id, secret=settings.resolved_secret_key())
        return key.kid

    typer.echo(f"active statement key: {_run(main)}")


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
def recompute(bundle: str = typer.Argument(..., help="Calculation bundle (.zip) to recompute.")) -> None:
    """Recompute a calculation bundle: print the output hash, whether it matches, and the products."""
    from backend.calculations.bundle import BundleError
    from backend.calculations.recompute import format_products, recompute_bundle

    try:
        outcome = recompute_bundle(bundle)
    except BundleError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    typer.echo(f"output hash: {outcome.output_digest}")
    verdict = {None: "no hash recorded in the manifest", True: "matches the manifest", False: "DOES NOT MATCH"}
    typer.echo(f"recorded:    {outcome.expected_digest or '-'} ({verdict[outcome.matches]})")
    typer.echo(format_products(outcome.result, outcome.products))
    if outcome.matches is False:
        raise typer.Exit(1)


def main() -> None:
    app()
