"""Isolation enforced by PostgreSQL itself, and the provisioning and migration of tenant schemas."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from backend.db import TenantBase, driver_connection
from backend.errors import ValidationFailed
from backend.identity.principal import Principal
from backend.tenants.models import Tenant, TenantKind
from tenancy.migrate import _upgrade, tenant_head, upgrade_tenants
from tenancy.provisioning import NewTenant, SlugTaken, create_tenant
from tests.factories.orgs import make_org
from tests.factories.owner import owner_db
from tests.factories.superuser import superuser_execute, superuser_fetch

SYSTEM = Principal.system("tests")


async def _catalog(keys: list[str]) -> tuple[set[str], set[str]]:
    """Schemas and roles that exist for these tenant keys (roles are cluster-wide, shared with other
    test workers, so only the keys under test are looked at)."""
    schemas = {
        r["nspname"]
        for r in await superuser_fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])", [f"tenant_{k}" for k in keys]
        )
    }
    roles = {
        r["rolname"]
        for r in await superuser_fetch(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])", [f"cbamx_t_{k}" for k in keys]
        )
    }
    return schemas, roles


def _fixed_keys(monkeypatch: pytest.MonkeyPatch, n: int) -> list[str]:
    """Make provisioning use known keys, so the test can look for exactly their schema and role."""
    keys = [f"k{uuid.uuid4().hex[:11]}" for _ in range(n)]
    supply = iter(keys)
    monkeypatch.setattr("tenancy.provisioning._new_key", lambda: next(supply))
    return keys


def _slug() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


# --- isolation in the database ---------------------------------------------------------------------------


async def test_a_tenant_transaction_cannot_read_another_tenants_schema(services):
    # given
    a = await make_org(services)
    b = await make_org(services)
    # when / then
    with pytest.raises(DBAPIError, match=f"permission denied for schema {b.tenant.schema}"):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(text(f'SELECT * FROM "{b.tenant.schema}".installations'))
    # and its own schema is readable
    async with services.db.tenant(a.tenant.scope()) as db:
        await db.execute(text(f'SELECT * FROM "{a.tenant.schema}".installations'))


async def test_the_driver_connection_of_a_unit_of_work_is_inside_its_transaction(services):
    # given: a tenant unit of work whose first statement goes straight to the driver (a cursor, a COPY)
    a = await make_org(services)
    with pytest.raises(RuntimeError, match="rolled back"):
        async with services.db.tenant(a.tenant.scope()) as db:
            driver = await driver_connection(db)
            # then: the driver is in the unit of work's transaction, as the tenant's role
            assert driver.is_in_transaction()
            assert await driver.fetchval("SELECT current_user") == a.tenant.scope().role
            await driver.execute(
                f'INSERT INTO "{a.tenant.schema}".job_outbox (id, function, args, created_at, attempts) '
                "VALUES (gen_random_uuid(), 'x', '[]', now(), 0)"
            )
            raise RuntimeError("rolled back")
    # and what it wrote went with the transaction
    async with services.db.tenant(a.tenant.scope()) as db:
        assert await db.scalar(text(f"SELECT count(*) FROM \"{a.tenant.schema}\".job_outbox WHERE function = 'x'")) == 0


async def test_a_tenant_transaction_cannot_write_another_tenants_schema(services):
    # given
    a = await make_org(services)
    b = await make_org(services)
    # when / then
    with pytest.raises(DBAPIError, match="permission denied for schema"):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(text(f'DELETE FROM "{b.tenant.schema}".audit_entries'))


async def test_a_tenant_role_is_not_a_member_of_another_tenants_role(services):
    # given
    a = await make_org(services)
    b = await make_org(services)
    # when
    rows = await superuser_fetch(
        "SELECT pg_has_role($1, $2, 'MEMBER') AS a_in_b, pg_has_role($2, $1, 'MEMBER') AS b_in_a",
        a.tenant.role,
        b.tenant.role,
    )
    # then
    assert rows[0]["a_in_b"] is False and rows[0]["b_in_a"] is False


async def test_a_tenant_transaction_cannot_switch_to_another_tenants_role(services):
    # given
    a = await make_org(services)
    b = await make_org(services)
    # when / then (SET LOCAL: should the switch succeed, the rollback below undoes it)
    with pytest.raises(DBAPIError, match=f'permission denied to set role "{b.tenant.role}"'):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(text(f'SET LOCAL ROLE "{b.tenant.role}"'))


async def test_reset_role_inside_a_tenant_transaction_gains_nothing(services):
    # given
    a = await make_org(services)
    b = await make_org(services)
    # when: a statement resets the role, then tries another tenant's role and the audit trail
    async with services.db.tenant(a.tenant.scope()) as db:
        await db.execute(text("RESET ROLE"))
        current = (await db.execute(text("SELECT current_user"))).scalar_one()
    # then: it is still the tenant's own login
    assert current == a.tenant.role
    with pytest.raises(DBAPIError, match=f'permission denied to set role "{b.tenant.role}"'):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(text("RESET ROLE"))
            await db.execute(text(f'SET ROLE "{b.tenant.role}"'))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(text("RESET ROLE"))
            await db.execute(text(f"UPDATE \"{a.tenant.schema}\".audit_entries SET note = 'x'"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {schema}.audit_entries SET note = 'rewritten'",
        "DELETE FROM {schema}.audit_entries",
        "TRUNCATE {schema}.audit_entries",
        "UPDATE {schema}.installations SET name = 'x'",
        "DROP TABLE {schema}.audit_entries",
        "UPDATE platform.audit_anchors SET hash = 'x'",
        "DELETE FROM platform.audit_anchors",
    ],
)
async def test_the_runtime_role_cannot_change_an_audit_entry(services, statement):
    # given: a tenant with an audit entry, and the runtime's own platform connection
    a = await make_org(services)
    before = await superuser_fetch(f'SELECT seq, hash, note FROM "{a.tenant.schema}".audit_entries ORDER BY seq')
    assert before
    # when / then
    with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
        async with services.db.platform() as session:
            await session.execute(text(statement.format(schema=f'"{a.tenant.schema}"')))
    after = await superuser_fetch(f'SELECT seq, hash, note FROM "{a.tenant.schema}".audit_entries ORDER BY seq')
    assert after == before


async def test_the_runtime_role_owns_nothing_and_is_no_member_of_a_tenant_role(services):
    # given
    a = await make_org(services)
    async with services.db.platform() as session:
        runtime = (await session.execute(text("SELECT current_user"))).scalar_one()
    # when
    owned = await superuser_fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1 "
        "UNION ALL SELECT n.nspname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE r.rolname = $1",
        runtime,
    )
    member = await superuser_fetch("SELECT pg_has_role($1, $2, 'MEMBER') AS m", runtime, a.tenant.role)
    # then
    assert runtime not in {"postgres", a.tenant.role}
    assert owned == []
    assert member[0]["m"] is False
    with pytest.raises(DBAPIError, match=f'permission denied to set role "{a.tenant.role}"'):
        async with services.db.platform() as session:
            await session.execute(text(f'SET LOCAL ROLE "{a.tenant.role}"'))


async def test_a_mistaken_grant_still_cannot_change_an_audit_entry(services):
    # given: a tenant role that was granted UPDATE and DELETE on its audit trail by mistake
    a = await make_org(services)
    await superuser_execute(f'GRANT UPDATE, DELETE ON "{a.tenant.schema}".audit_entries TO "{a.tenant.role}"')
    # when / then: the trigger behind the privileges refuses anyone but the owner
    for statement in (
        f"UPDATE \"{a.tenant.schema}\".audit_entries SET note = 'x'",
        f'DELETE FROM "{a.tenant.schema}".audit_entries',
    ):
        with pytest.raises(DBAPIError, match="audit_entries rows are append-only"):
            async with services.db.tenant(a.tenant.scope()) as db:
                await db.execute(text(statement))


async def test_a_tenant_transaction_runs_as_the_tenant_role(services):
    # given
    a = await make_org(services)
    # when
    async with services.db.tenant(a.tenant.scope()) as db:
        current = (await db.execute(text("SELECT current_user"))).scalar_one()
    # then
    assert current == a.tenant.role


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM platform.tenants",
        "SELECT * FROM platform.users",
        "SELECT * FROM platform.oauth_clients",
        "SELECT * FROM platform.signing_keys",
        "UPDATE platform.grants SET revoked_at = NULL",
    ],
)
async def test_the_platform_schema_is_not_reachable_from_a_tenant_transaction(services, statement):
    # given
    a = await make_org(services)
    # when / then
    with pytest.raises(DBAPIError, match="permission denied for schema platform"):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(text(statement))


async def test_the_role_is_reset_after_a_tenant_transaction(services):
    # given: a tenant transaction on a pooled connection
    a = await make_org(services)
    async with services.db.tenant(a.tenant.scope()) as db:
        await db.execute(text("SELECT 1"))
    # when: the next platform transaction
    async with services.db.platform() as session:
        current = (await session.execute(text("SELECT current_user"))).scalar_one()
        count = (await session.execute(text("SELECT count(*) FROM platform.tenants"))).scalar_one()
    # then
    assert current != a.tenant.role
    assert count >= 1


# --- provisioning ----------------------------------------------------------------------------------------


async def test_duplicate_slug_raises_slug_taken_and_leaves_nothing_behind(services, monkeypatch):
    # given
    slug = _slug()
    await create_tenant(owner_db(), NewTenant(name="First", slug=slug, kind=TenantKind.EXPORTER), actor=SYSTEM)
    keys = _fixed_keys(monkeypatch, 1)
    # when / then
    with pytest.raises(SlugTaken, match=f"the name '{slug}' is taken"):
        await create_tenant(owner_db(), NewTenant(name="Second", slug=slug, kind=TenantKind.IMPORTER), actor=SYSTEM)
    assert await _catalog(keys[:1]) == (set(), set())
    async with services.db.platform_session() as session:
        names = (await session.execute(select(Tenant.name).where(Tenant.slug == slug))).scalars().all()
    assert names == ["First"]


async def test_concurrent_creation_with_one_slug_makes_one_tenant_and_one_slug_taken(services, monkeypatch):
    # given
    slug = _slug()
    keys = _fixed_keys(monkeypatch, 2)

    async def attempt(name: str) -> Any:
        return await create_tenant(owner_db(), NewTenant(name=name, slug=slug, kind=TenantKind.EXPORTER), actor=SYSTEM)

    # when
    results = await asyncio.gather(attempt("One"), attempt("Two"), return_exceptions=True)
    # then
    made = [r for r in results if isinstance(r, Tenant)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], SlugTaken), repr(refused[0])
    assert await _catalog(keys) == ({made[0].schema}, {made[0].role})


async def test_invalid_tenant_is_refused_with_every_field_named(services, monkeypatch):
    # given
    keys = _fixed_keys(monkeypatch, 1)
    # when / then
    with pytest.raises(ValidationFailed, match="slug") as caught:
        await create_tenant(
            owner_db(),
            NewTenant(name=" ", slug="Not A Slug", kind=TenantKind.EXPORTER, country="Serbia"),
            actor=SYSTEM,
        )
    assert {e.field for e in caught.value.errors} == {"name", "slug", "country"}
    assert await _catalog(keys) == (set(), set())


async def test_provisioning_that_fails_half_way_leaves_no_schema_role_or_row(services, monkeypatch):
    # given: an actor whose label is too long for the audit trail, so the last step fails
    slug = _slug()
    keys = _fixed_keys(monkeypatch, 2)
    actor = Principal.system("x" * 400)
    # when / then
    with pytest.raises(DBAPIError, match="too long"):
        await create_tenant(owner_db(), NewTenant(name="Half", slug=slug, kind=TenantKind.EXPORTER), actor=actor)
    assert await _catalog(keys[:1]) == (set(), set())
    async with services.db.platform_session() as session:
        assert (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).first() is None
    # and the slug is free for a later attempt
    tenant = await create_tenant(owner_db(), NewTenant(name="Half", slug=slug, kind=TenantKind.EXPORTER), actor=SYSTEM)
    assert tenant.slug == slug


def _differences(connection: Any, schema: str) -> list[Any]:
    """Differences between the live schema and the tenant model metadata, as alembic sees them."""
    connection.execute(text("SELECT set_config('search_path', :s, true)"), {"s": schema})
    connection.dialect.default_schema_name = schema
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_name": lambda name, type_, parent: not (type_ == "table" and name == "alembic_version"),
        },
    )
    return list(compare_metadata(context, TenantBase.metadata))


def _shape(connection: Any, schema: str) -> dict[str, Any]:
    """Tables with their columns, keys, indexes and constraints, without the schema's name."""
    inspector = inspect(connection)
    shape: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names(schema=schema)):
        fks = inspector.get_foreign_keys(table, schema=schema)
        shape[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(table, schema=schema)
            ],
            "pk": inspector.get_pk_constraint(table, schema=schema),
            "fks": sorted(
                (f["name"], tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in fks
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table, schema=schema)
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table, schema=schema)
            ),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table, schema=schema)),
        }
    return shape


async def test_provisioned_schema_equals_the_replayed_tenant_migrations(services):
    # given: a provisioned tenant, and a scratch schema built by replaying every tenant migration
    tenant = await make_org(services)
    scratch = f"tenant_replay{uuid.uuid4().hex[:8]}"
    async with owner_db().engine.connect() as conn:
        transaction = await conn.begin()
        default_schema = conn.dialect.default_schema_name
        try:
            await conn.run_sync(_upgrade, "tenant", tenant_schema=scratch)
            # when
            provisioned_diff = await conn.run_sync(_differences, tenant.tenant.schema)
            replayed_diff = await conn.run_sync(_differences, scratch)
            provisioned = await conn.run_sync(_shape, tenant.tenant.schema)
            replayed = await conn.run_sync(_shape, scratch)
            version = (await conn.execute(text(f'SELECT version_num FROM "{scratch}".alembic_version'))).scalar_one()
        finally:
            await transaction.rollback()  # the scratch schema goes with it
            conn.dialect.default_schema_name = default_schema  # reflection above pointed it elsewhere
    # then
    assert provisioned_diff == []
    assert replayed_diff == []
    assert provisioned == replayed
    assert version == tenant_head()
    assert "audit_entries" in provisioned and "alembic_version" in provisioned
    rows = await superuser_fetch(f'SELECT version_num FROM "{tenant.tenant.schema}".alembic_version')
    assert [r["version_num"] for r in rows] == [tenant_head()]


# --- migrations across tenants ---------------------------------------------------------------------------


async def test_upgrade_skips_tenants_at_head_and_migrates_only_the_one_behind(services):
    # given: every tenant at head, then one recorded as not migrated
    first = await make_org(services)
    second = await make_org(services)
    initial = await upgrade_tenants(owner_db())  # whatever other tests left behind is at head after this
    assert {first.tenant.slug, second.tenant.slug} <= set(initial.skipped)
    await superuser_execute("UPDATE platform.tenants SET schema_revision = NULL WHERE id = $1", first.id)
    # when
    report = await upgrade_tenants(owner_db())
    # then
    assert report.migrated == [first.tenant.slug]
    assert second.tenant.slug in report.skipped and first.tenant.slug not in report.skipped
    assert report.failed.keys() == initial.failed.keys()
    rows = await superuser_fetch("SELECT schema_revision FROM platform.tenants WHERE id = $1", first.id)
    assert rows[0]["schema_revision"] == tenant_head()
    # a third run has nothing to do
    assert (await upgrade_tenants(owner_db())).migrated == []


async def test_a_failing_tenant_is_rolled_back_alone_and_retried_next_run(services):
    # given: two tenants behind, one of which cannot be migrated
    good = await make_org(services)
    bad = await make_org(services)
    await superuser_execute(
        "UPDATE platform.tenants SET schema_revision = NULL WHERE id = ANY($1::uuid[])", [good.id, bad.id]
    )
    await superuser_execute(f"UPDATE \"{bad.tenant.schema}\".alembic_version SET version_num = 'deadbeef0000'")
    # when
    report = await upgrade_tenants(owner_db(), only=[good.tenant.slug, bad.tenant.slug])
    # then
    assert report.migrated == [good.tenant.slug]
    assert list(report.failed) == [bad.tenant.slug]
    assert "deadbeef0000" in report.failed[bad.tenant.slug]
    assert not report.ok
    rows = await superuser_fetch("SELECT schema_revision FROM platform.tenants WHERE id = $1", bad.id)
    assert rows[0]["schema_revision"] is None
    # when the cause is repaired, the next run picks it up
    await superuser_execute(f'UPDATE "{bad.tenant.schema}".alembic_version SET version_num = $1', tenant_head())
    retry = await upgrade_tenants(owner_db(), only=[good.tenant.slug, bad.tenant.slug])
    assert retry.migrated == [bad.tenant.slug] and retry.skipped == [good.tenant.slug] and retry.ok


async def test_migrated_tenant_keeps_its_append_only_privileges(services):
    # given: a tenant migrated again (privileges are re-applied)
    owner = await make_org(services)
    await superuser_execute("UPDATE platform.tenants SET schema_revision = NULL WHERE id = $1", owner.id)
    report = await upgrade_tenants(owner_db(), only=[owner.tenant.slug])
    assert report.migrated == [owner.tenant.slug]
    # when / then
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await db.execute(text(f"UPDATE \"{owner.tenant.schema}\".audit_entries SET note = 'x'"))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await db.execute(text(f'DELETE FROM "{owner.tenant.schema}".alembic_version'))


async def test_a_role_set_for_the_session_does_not_outlive_the_connections_return_to_the_pool(services):
    # given: one pooled connection, on which a statement sets a tenant role for the whole session
    from backend.db import Database

    owner = await make_org(services)
    db = Database.connect(os.environ["DATABASE_URL"], pool_size=1)
    try:
        async with db.engine.connect() as conn:
            login_user = (await conn.exec_driver_sql("SELECT current_user")).scalar_one()
            await conn.exec_driver_sql(f'SET ROLE "{owner.tenant.role}"')
            await conn.commit()
            assert (await conn.exec_driver_sql("SELECT current_user")).scalar_one() == owner.tenant.role
        # when: the connection is taken from the pool again
        async with db.engine.connect() as conn:
            current = (await conn.exec_driver_sql("SELECT current_user")).scalar_one()
    finally:
        await db.dispose()
    # then: it is the login user again
    assert current == login_user


async def test_a_process_keeps_few_tenant_pools_open(services):
    # given: a runtime handle that keeps at most two tenant pools
    from backend.db import Database

    tenants = [await make_org(services) for _ in range(4)]
    db = Database.connect(
        services.settings.resolved_runtime_database_url(),
        pool_size=2,
        tenant_password=services.settings.role_password,
        max_tenant_pools=2,
    )
    try:
        # when: each tenant is served in turn
        for org in tenants:
            async with db.tenant(org.tenant.scope()) as session:
                assert (await session.execute(text("SELECT current_user"))).scalar_one() == org.tenant.role
        await asyncio.sleep(0.2)  # closing an evicted pool runs in the background
        rows = await superuser_fetch(
            "SELECT usename FROM pg_stat_activity WHERE usename = ANY($1::text[])", [t.tenant.role for t in tenants]
        )
    finally:
        await db.dispose()
    # then: only the two most recent tenants still hold a connection
    assert sorted(r["usename"] for r in rows) == sorted(t.tenant.role for t in tenants[2:])


async def test_a_meters_change_history_cannot_be_rewritten_by_the_tenant(services):
    # given: a tenant (its role writes meter changes as the application does)
    owner = await make_org(services)
    # when / then: rewriting or deleting a kept change is refused to the tenant's own role
    for statement in (
        f"UPDATE \"{owner.tenant.schema}\".meter_changes SET reason = 'x'",
        f'DELETE FROM "{owner.tenant.schema}".meter_changes',
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with services.db.tenant(owner.tenant.scope()) as db:
                await db.execute(text(statement))
