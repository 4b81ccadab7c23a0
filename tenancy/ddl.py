"""The tenant schema as one DDL script, and the database roles with what each may do.

Three kinds of role (see docs/tenancy-and-security.md): the owner (the DSN migrations and
provisioning use) owns every schema and table; the runtime role (the API's and workers' login)
owns nothing and holds only the platform rows it serves plus an append-only share of each tenant's
audit trail; each tenant's role logs in for its own transactions and reaches only its own schema.

A new tenant gets the current schema from the model metadata in a single round trip and is
stamped at the migrations' head, instead of replaying every revision. A test keeps this script
and the migration history equal.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import create_mock_engine

from backend.db import PLATFORM_SCHEMA, PUBLISHED_SCHEMA, TenantBase, quote_ident

# tables whose rows may be added but never changed or removed by the application
APPEND_ONLY_TABLES = (
    "audit_entries",
    "counter_readings",
    "meter_changes",
    "cancellation_statements",
    "certificate_claims",
)


@lru_cache(maxsize=1)
def tenant_schema_ddl() -> str:
    """CREATE statements for every tenant table, unqualified: run them under a local search_path."""
    import backend.model_registry  # noqa: F401  (all tenant models must be mapped)

    statements: list[str] = []

    def collect(sql: Any, *multiparams: Any, **params: Any) -> None:
        statements.append(str(sql.compile(dialect=engine.dialect)).strip() + ";")

    engine = create_mock_engine("postgresql+asyncpg://", collect)  # type: ignore[arg-type]
    TenantBase.metadata.create_all(engine, checkfirst=False)  # type: ignore[arg-type]
    return "\n".join(statements)


def version_table_ddl(head: str) -> str:
    return (
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));\n"
        f"INSERT INTO alembic_version (version_num) VALUES ('{head}');"
    )


# tenant tables the runtime role reads or appends to from a platform transaction (grants, clients,
# memberships are audited in the tenant's trail; a grant checks the installations it names)
RUNTIME_TENANT_GRANTS = {"audit_entries": "SELECT, INSERT", "installations": "SELECT"}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _login_role_ddl(role: str, password: str | None) -> str:
    """Create a login role if missing (another process may be creating it at the same time)."""
    with_password = f" PASSWORD {_literal(password)}" if password else ""
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {_literal(role)}) THEN "
        f"CREATE ROLE {quote_ident(role)} LOGIN NOINHERIT{with_password}; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;"
    )


def role_ddl(role: str, password: str) -> str:
    """The tenant's login role with its derived password, and the owner's membership in it.

    The owner may switch to it (provisioning writes the first audit entry as the tenant); the
    runtime role is no member, so no connection of the runtime can become a tenant.
    """
    return "\n".join(
        [
            _login_role_ddl(role, password),
            f"ALTER ROLE {quote_ident(role)} LOGIN NOINHERIT PASSWORD {_literal(password)};",
            f"GRANT {quote_ident(role)} TO CURRENT_USER;",
        ]
    )


def runtime_role_ddl(role: str, password: str | None) -> str:
    """The runtime login role, created if missing; it owns nothing and is a member of no role."""
    return _login_role_ddl(role, password)


def platform_privileges_ddl(runtime: str) -> str:
    """Idempotent: the runtime role reads and writes the platform's rows, but never changes an anchor."""
    p, r = quote_ident(PLATFORM_SCHEMA), quote_ident(runtime)
    return "\n".join(
        [
            f"REVOKE ALL ON SCHEMA {p} FROM PUBLIC;",
            f"GRANT USAGE ON SCHEMA {p} TO {r};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {p} TO {r};",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {p} TO {r};",
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {p}.alembic_version FROM {r};",
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {p}.audit_anchors FROM {r};",
            append_only_guard_ddl(PLATFORM_SCHEMA, "audit_anchors"),
            *published_privileges_ddl(runtime),
            *feed_runtime_privileges_ddl(runtime),
        ]
    )


def feed_runtime_privileges_ddl(runtime: str) -> list[str]:
    """The runtime role serves each recipient its events: it reads the event log and never changes it."""
    from backend.feeds.models import FEEDS_SCHEMA

    f, r = quote_ident(FEEDS_SCHEMA), quote_ident(runtime)
    return [
        f"REVOKE ALL ON SCHEMA {f} FROM PUBLIC;",
        f"GRANT USAGE ON SCHEMA {f} TO {r};",
        f"GRANT SELECT ON {f}.events TO {r};",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {f}.events FROM {r};",
        append_only_guard_ddl(FEEDS_SCHEMA, "events"),
    ]


def feed_privileges_ddl(role: str) -> list[str]:
    """A tenant role adds events it is the source of and reads none: it may set only the event's own
    columns, so ``source_role`` (``current_user``) always names the role that really wrote the row."""
    from backend.feeds.models import EMITTED_COLUMNS, FEEDS_SCHEMA

    f, r = quote_ident(FEEDS_SCHEMA), quote_ident(role)
    return [
        f"GRANT USAGE ON SCHEMA {f} TO {r};",
        f"GRANT INSERT ({', '.join(EMITTED_COLUMNS)}) ON {f}.events TO {r};",
    ]


def published_privileges_ddl(role: str) -> list[str]:
    """Read-only access to the published reference data (e.g. emission factors from regulations).

    It lives in a schema of its own, seeded by platform migrations: the runtime role and every tenant
    role read it (a tenant transaction selects published factors together with its own), nobody but
    the owner writes it, and the platform schema stays out of a tenant's reach.
    """
    s, r = quote_ident(PUBLISHED_SCHEMA), quote_ident(role)
    return [
        f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC;",
        f"GRANT USAGE ON SCHEMA {s} TO {r};",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r};",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {s} FROM {r};",
        # a published table added later by a platform migration is readable without a tenant migration
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {r};",
    ]


def append_only_guard_ddl(schema: str, table: str) -> str:
    """Triggers that refuse UPDATE, DELETE and TRUNCATE of a table to anyone but its owner.

    A second line behind the privileges: a grant given by mistake still cannot change a row.
    """
    s, t = quote_ident(schema), quote_ident(table)
    function = f"{s}.{quote_ident(f'{table}_append_only')}"
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
    RAISE EXCEPTION '% rows are append-only: % refused for role %', TG_TABLE_NAME, TG_OP, current_user
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $f$;
DROP TRIGGER IF EXISTS append_only_rows ON {s}.{t};
CREATE TRIGGER append_only_rows BEFORE UPDATE OR DELETE ON {s}.{t} FOR EACH ROW EXECUTE FUNCTION {function}();
DROP TRIGGER IF EXISTS append_only_table ON {s}.{t};
CREATE TRIGGER append_only_table BEFORE TRUNCATE ON {s}.{t} FOR EACH STATEMENT EXECUTE FUNCTION {function}();
""".strip()


def privileges_ddl(schema: str, role: str, runtime: str) -> str:
    """Idempotent: the tenant role may use its schema; append-only tables refuse UPDATE and DELETE.

    The runtime role gets the narrow share named in ``RUNTIME_TENANT_GRANTS`` and nothing else.
    """
    s, r, rt = quote_ident(schema), quote_ident(role), quote_ident(runtime)
    lines = [
        f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC;",
        f"GRANT USAGE ON SCHEMA {s} TO {r};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r};",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.alembic_version FROM {r};",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r};",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r};",
        f"GRANT USAGE ON SCHEMA {s} TO {rt};",
    ]
    lines += [f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.{quote_ident(t)} FROM {r};" for t in APPEND_ONLY_TABLES]
    lines += [f"GRANT {what} ON {s}.{t} TO {rt};" for t, what in RUNTIME_TENANT_GRANTS.items()]
    lines.append(append_only_guard_ddl(schema, "audit_entries"))
    lines += published_privileges_ddl(role)
    lines += claim_registry_privileges_ddl(role)
    lines += feed_privileges_ddl(role)
    return "\n".join(lines)


def claim_registry_privileges_ddl(role: str) -> list[str]:
    """A tenant role adds its claims to the exchange-wide registry and reads none of it: its
    exclusion constraint then refuses an overlap without naming whose claim it overlaps."""
    from backend.certificates.models import CLAIMS_SCHEMA

    c, r = quote_ident(CLAIMS_SCHEMA), quote_ident(role)
    return [f"GRANT USAGE ON SCHEMA {c} TO {r};", f"GRANT INSERT ON {c}.claim_registry TO {r};"]
