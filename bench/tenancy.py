"""Tenant provisioning time, and the time to migrate 100 tenants.

Provisioning: schema, role, every table at the current head, privileges and the genesis audit
entry, in one transaction. Migration: `upgrade_tenants` over 100 tenants, once forced through
alembic for every tenant (as after a new revision), once with all at head (the no-op run).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from bench.common import Timer, owner_db, report, scratch_platform, stats


async def main(n_tenants: int = 100) -> None:
    from backend.identity.principal import Principal
    from backend.tenants.models import TenantKind
    from tenancy.migrate import upgrade_tenants
    from tenancy.provisioning import NewTenant, create_tenant

    async with scratch_platform("tenancy"):
        samples = []
        for i in range(n_tenants):
            start = time.perf_counter()
            await create_tenant(
                owner_db(),
                NewTenant(name=f"Bench {i}", slug=f"bench-{uuid.uuid4().hex[:10]}", kind=TenantKind.EXPORTER),
                actor=Principal.system("bench"),
            )
            samples.append(time.perf_counter() - start)
        report(
            "tenant provisioning (schema+role+tables+audit), median",
            sorted(samples)[len(samples) // 2],
            "s",
            stats(samples),
        )
        with Timer() as forced:
            result = await upgrade_tenants(owner_db(), force=True)
        assert result.ok and len(result.migrated) == n_tenants
        report(
            f"migrate {n_tenants} tenants through alembic (forced)",
            forced.seconds,
            "s",
            f"{forced.seconds / n_tenants * 1000:.1f} ms per tenant",
        )
        with Timer() as noop:
            result = await upgrade_tenants(owner_db())
        assert len(result.skipped) == n_tenants
        report(f"migrate {n_tenants} tenants, all at head (no-op)", noop.seconds, "s")


if __name__ == "__main__":
    asyncio.run(main())
