"""The app served by uvicorn in the test's own event loop, for WebSocket clients (GraphQL subscriptions).

It shares the session's services (database pools, Redis) with the rest of the test, so it must run
in the same loop: a test client that runs the app in a thread of its own cannot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets

from tests.factories.receiver import free_port

PROTOCOL = "graphql-transport-ws"


@asynccontextmanager
async def live_server(app: Any) -> AsyncIterator[str]:
    """The server's ws:// URL of /graphql while the block runs."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="websockets")
    server = uvicorn.Server(config)
    # _serve: without serve()'s signal handlers, which would take over the test runner's
    task = asyncio.get_running_loop().create_task(server._serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task


class GraphQLSocket:
    """A graphql-transport-ws client: connection_init, subscribe, next/error/complete."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout_s: float = 10.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout_s))  # type: ignore[no-any-return]

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None, op_id: str = "1") -> None:
        await self.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})


@asynccontextmanager
async def graphql_socket(
    url: str, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[GraphQLSocket]:
    """A connection that has sent connection_init with ``payload`` (the ack is left to the caller)."""
    async with websockets.connect(url, subprotocols=[PROTOCOL], additional_headers=headers or {}) as connection:
        socket = GraphQLSocket(connection)
        await socket.send({"type": "connection_init", "payload": payload or {}})
        yield socket
