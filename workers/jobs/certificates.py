"""certificates.expire: write the expired state of certificates whose expiry day has come, per tenant.

Reads already show an active certificate past its expiry as expired and refuse to change it; this
job makes the stored state (and the audit trail) say so too. One unit of work per tenant: a failing
tenant is rolled back alone and the others go on.
"""

from __future__ import annotations

from typing import Any

from backend.certificates.service import expire_certificates
from backend.identity.principal import Principal
from backend.logging import get_logger


async def expire_due_certificates(ctx: dict[str, Any]) -> dict[str, Any]:
    services = ctx["services"]
    expired: dict[str, int] = {}
    failed: dict[str, str] = {}
    for ref in await services.tenants.active():
        try:
            async with services.db.tenant(ref.scope) as db:
                count = await expire_certificates(db, Principal.system("certificates.expire", ref.id))
        except Exception as exc:  # one tenant's failure must not stop the others
            failed[ref.slug] = f"{type(exc).__name__}: {exc}"
            get_logger(__name__).error("certificates.expire_failed", tenant=ref.slug, reason=failed[ref.slug])
            continue
        if count:
            expired[ref.slug] = count
    return {"expired": expired, "failed": failed}
