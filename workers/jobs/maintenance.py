"""Housekeeping: expired portal sessions and signing keys whose grace period has ended; audit anchors."""

from __future__ import annotations

from typing import Any

from backend.identity import keys, sessions


async def platform_housekeeping(ctx: dict[str, Any]) -> dict[str, int]:
    """platform.housekeeping: purge expired sessions, retire keys past their grace period."""
    services = ctx["services"]
    async with services.db.platform() as session:
        purged = await sessions.purge_expired(session)
        retired = await keys.retire_expired(session)
    return {"sessions_purged": purged, "keys_retired": retired}


async def anchor_audit_chains(ctx: dict[str, Any]) -> dict[str, Any]:
    """audit.anchor: anchor every active tenant's audit chain head outside its schema."""
    from backend.audit.anchors import anchor_tenants
    from backend.logging import get_logger

    services = ctx["services"]
    refs = await services.tenants.active()
    run = await anchor_tenants(services.db, services.store, [(r.id, r.slug, r.scope) for r in refs])
    for slug, reason in run.failed.items():
        get_logger(__name__).error("audit.anchor_failed", tenant=slug, reason=reason)
    return {"anchored": len(run.anchored), "unchanged": len(run.unchanged), "failed": run.failed}
