"""The reference for the exchange's read benchmark: a bare Litestar app serving a fixed body from memory.

It answers ``GET /3/footprints`` with the bytes of the file ``CBAMX_BENCH_REFERENCE_BODY`` names (the
same 20 documents the PACT host answered), read once at start: no authentication, database or
serialisation per request, so its figures are what uvicorn, Litestar and the load generator cost alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, Response, get


def create_app() -> Litestar:
    body = Path(os.environ["CBAMX_BENCH_REFERENCE_BODY"]).read_bytes()

    @get("/3/footprints", sync_to_thread=False)
    def footprints() -> Response[bytes]:
        return Response(body, media_type="application/json")

    @get("/health/live", sync_to_thread=False)
    def live() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[footprints, live], debug=False)
