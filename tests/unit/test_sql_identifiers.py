"""Raw SQL that names a schema quotes it through ``quote_ident`` (or ``TenantScope.quoted_schema``),
which also refuses anything that is not a plain identifier; hand-made quotes and bare names are not
allowed anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.db import TenantScope, quote_ident

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("backend", "tenancy", "workers", "migrations") for p in (ROOT / d).rglob("*.py")]
# an f-string piece of SQL that interpolates something named like a schema
SCHEMA_IN_SQL = re.compile(
    r"""f["'][^"']*\b(FROM|INTO|UPDATE|JOIN|SCHEMA|ON|TABLE)\s+(?P<name>"?\{[^}]*schema[^}]*\}"?)""", re.IGNORECASE
)
SAFE = re.compile(r"^\{(quote_ident\(.*\)|[\w.]*quoted_schema|s)\}$")


def test_sql_names_schemas_only_through_quoted_identifiers():
    offenders = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in SCHEMA_IN_SQL.finditer(line):
                if not SAFE.match(match.group("name")):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_quoted_schema_refuses_anything_but_a_plain_identifier():
    scope = TenantScope(tenant_id=None, schema="tenant_abc123", role="cbamx_t_abc123")  # type: ignore[arg-type]
    assert scope.quoted_schema == '"tenant_abc123"'
    for bad in ('tenant"; DROP SCHEMA x; --', "Tenant", "a b", ""):
        with pytest.raises(ValueError, match="not a valid identifier"):
            quote_ident(bad)
