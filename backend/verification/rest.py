"""Each verifier organisation's statement keys, published for anyone to verify its statements offline."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get

from backend.api.auth import services_of
from backend.verification import service


class StatementKeysController(Controller):
    path = "/organizations"

    @get("/{tenant_id:uuid}/jwks.json", operation_id="StatementJsonWebKeySet")
    async def jwks(self, request: Request[Any, Any, Any], tenant_id: uuid.UUID) -> Response[dict[str, Any]]:
        """The organisation's statement-signing public keys (JWKS): the active one and every retired one."""
        document = await service.statement_jwks(services_of(request), tenant_id)
        return Response(document, headers={"Cache-Control": "public, max-age=300"})
