"""The tenant schema as one DDL script, and the privileges of a tenant's role.

A new tenant gets the current schema from the model metadata in a single round trip and is
stamped at the migrations' head, instead of replaying every revision. A test keeps this script
and the migration history equal.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import create_mock_engine

from backend.db import TenantBase, quote_ident

# tables whose rows may be added but never changed or removed by the application
APPEND_ONLY_TABLES = ("audit_entries", "counter_readings")


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


def role_ddl(role: str) -> str:
    """Create the tenant's NOLOGIN role if missing, and let the connecting role switch to it."""
    literal = role.replace("'", "''")
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{literal}') THEN "
        f"CREATE ROLE {quote_ident(role)} NOLOGIN; END IF; END $$;\n"
        f"GRANT {quote_ident(role)} TO CURRENT_USER;"
    )


def privileges_ddl(schema: str, role: str) -> str:
    """Idempotent: the tenant role may use its schema; append-only tables refuse UPDATE and DELETE."""
    s, r = quote_ident(schema), quote_ident(role)
    lines = [
        f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC;",
        f"GRANT USAGE ON SCHEMA {s} TO {r};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r};",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.alembic_version FROM {r};",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r};",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r};",
    ]
    lines += [f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.{quote_ident(t)} FROM {r};" for t in APPEND_ONLY_TABLES]
    return "\n".join(lines)
