"""Liveness and readiness: ready means the database, Redis and the object store all answer."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get
from sqlalchemy import text

from backend.api.auth import services_of


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", operation_id="Live")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", operation_id="Ready")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        services = services_of(request)

        async def database() -> None:
            async with services.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        async def redis() -> None:
            await services.redis.ping()

        checks = {"database": database(), "redis": redis(), "object_store": services.store.check()}
        results: dict[str, Any] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check, timeout=3)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"failed: {type(exc).__name__}: {exc}"
        ready = all(v == "ok" for v in results.values())
        return Response(
            {"status": "ok" if ready else "unavailable", "checks": results}, status_code=200 if ready else 503
        )
