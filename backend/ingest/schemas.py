"""Wire format of agent deliveries (decoded with msgspec: it is the hot path)."""

from __future__ import annotations

from datetime import datetime

import msgspec


# gc=False: a batch decodes tens of thousands of these; they hold no reference cycles, so keeping
# them out of the cyclic garbage collector saves its repeated scans during decoding
class WireReading(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    meter: str
    quantity: str
    unit: str
    ts: datetime
    value: float | None = None
    quality: str = "good"
    reason: str | None = None
    raw: list[int] | None = None


class WireBatch(msgspec.Struct, forbid_unknown_fields=False):
    agent_id: str
    readings: list[WireReading]
    agent_version: str = ""
    sent_at: datetime | None = None


class WireDevice(msgspec.Struct, forbid_unknown_fields=False):
    name: str
    ok: bool
    last_success_at: datetime | None = None
    last_error: str | None = None
    error_count: int = 0
    points: int = 0


class WireStatus(msgspec.Struct, forbid_unknown_fields=False):
    agent_id: str
    reported_at: datetime
    agent_version: str = ""
    started_at: datetime | None = None
    last_upload_at: datetime | None = None
    buffer_depth: int = 0
    oldest_pending_ts: datetime | None = None
    rejected_count: int = 0
    devices: list[WireDevice] = []
