"""Housekeeping: expired portal sessions and signing keys whose grace period has ended."""

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
