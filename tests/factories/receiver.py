"""A real HTTP server receiving webhooks in the test's event loop, on a port chosen in advance, so that
it can be down at first (connections refused) and come up later on the same URL."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    status: int = 200
    received: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/cbamx"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode()) not in ("\r\n", "\n", ""):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status, answer, content_type = self.respond(Received(request_line.split(" ")[1], headers, body))
            reason = "OK" if status < 300 else "Error"
            head = (
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n"
                f"content-length: {len(answer)}\r\nconnection: close\r\n\r\n"
            )
            writer.write(head.encode() + answer)
            await writer.drain()
        finally:
            writer.close()

    def respond(self, message: Received) -> tuple[int, bytes, str]:
        """Record the message; answer with ``status``. A receiver with routes overrides this."""
        self.received.append(message)
        answer = b"received" if self.status < 300 else b"receiver is failing"
        return self.status, answer, "text/plain"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
