"""The reading record shared by drivers, buffer and uplink."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Quality = Literal["good", "missing", "uncertain"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_ms(moment: datetime) -> str:
    """UTC timestamp with millisecond precision and a 'Z' suffix (the wire format)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Reading:
    meter: str
    quantity: str
    unit: str
    ts: str
    value: float | int | None
    quality: Quality
    reason: str | None
    raw: list[int] | None
    # Local context for commissioning output and device health; never uploaded.
    device: str = ""
    point: str = ""

    def payload(self) -> dict[str, object]:
        return {
            "meter": self.meter,
            "quantity": self.quantity,
            "unit": self.unit,
            "ts": self.ts,
            "value": self.value,
            "quality": self.quality,
            "reason": self.reason,
            "raw": self.raw,
        }


# Reasons that mean "the device could not be reached at all" (as opposed to one bad value).
TRANSPORT_REASONS = frozenset(
    {
        "dns_failure",
        "connection_refused",
        "connect_timeout",
        "timeout",
        "connection",
        "protocol_error",
        "sunspec_not_found",
    }
)
