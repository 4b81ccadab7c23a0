"""An organisation without people: for tests that act only through machine clients or SQL.

Skips the password hashing of ``make_tenant`` (Argon2 is slow by design); the principal is the
system acting for the tenant.
"""

from __future__ import annotations

import uuid

from backend.identity.principal import Principal
from backend.services import Services
from backend.tenants.models import TenantKind
from tenancy.provisioning import NewTenant, create_tenant
from tests.factories.owner import owner_db
from tests.factories.tenants import TenantWithOwner


async def make_org(services: Services, kind: TenantKind = TenantKind.EXPORTER) -> TenantWithOwner:
    slug = f"o-{uuid.uuid4().hex[:12]}"
    tenant = await create_tenant(
        owner_db(),
        NewTenant(name=f"Org {slug}", slug=slug, kind=kind, country="RS"),
        actor=Principal.system("tests"),
    )
    return TenantWithOwner(tenant, email="", principal=Principal.system("tests", tenant.id))
