"""What every driver provides to the agent."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Protocol

from connectors.readings import Reading


class ReadFailure(Exception):
    """A read that produced no usable data; `reason` goes into the reading's `reason` field."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def transport_failure(exc: BaseException, where: str) -> ReadFailure:
    """Name what went wrong reaching a device, so that each points to its own fix.

    dns_failure: the host name does not resolve (spelling, DNS server); connection_refused: the host
    answered but nothing listens on that port (port, service, firewall rejecting); connect_timeout:
    nothing answered the connection attempt (address, routing, firewall dropping, device off).
    """
    if isinstance(exc, socket.gaierror):
        return ReadFailure("dns_failure", f"{where}: the host name does not resolve ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return ReadFailure("connection_refused", f"{where}: connection refused")
    if isinstance(exc, TimeoutError):
        return ReadFailure("connect_timeout", f"{where}: no answer to the connection attempt")
    return ReadFailure("connection", f"{where}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class PointInfo:
    name: str
    meter: str
    quantity: str
    unit: str


class DevicePoller(Protocol):
    name: str
    transport_key: str

    @property
    def points(self) -> list[PointInfo]: ...

    async def read(self) -> list[Reading]:
        """Read every point once. Never raises for device or network problems."""
        ...

    async def close(self) -> None: ...
