"""What every driver provides to the agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from connectors.readings import Reading


class ReadFailure(Exception):
    """A read that produced no usable data; `reason` goes into the reading's `reason` field."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


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
