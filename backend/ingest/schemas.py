"""Wire format of agent deliveries (decoded with msgspec: it is the hot path)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

# Limits of every field an agent sends, so that nothing over a column's size or beyond what a
# PostgreSQL text or JSONB value can hold (NUL) gets past decoding: the answer is a 422 naming the
# field and the limit. Per-reading strings are only length-checked (the hot path): they are looked
# up, not stored, except ``reason``, whose NUL check is in the validation.
_NO_NUL = r"^[^\x00]*$"
AgentId = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=_NO_NUL)]
Version = Annotated[str, msgspec.Meta(max_length=32, pattern=_NO_NUL)]
Code = Annotated[str, msgspec.Meta(max_length=64)]
Word = Annotated[str, msgspec.Meta(max_length=16)]  # a unit, a quality
Reason = Annotated[str, msgspec.Meta(max_length=64)]
Text = Annotated[str, msgspec.Meta(max_length=2000, pattern=_NO_NUL)]
Name = Annotated[str, msgspec.Meta(max_length=200, pattern=_NO_NUL)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
BigCount = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
MAX_RAW_WORDS = 16  # four 64-bit registers
MAX_DEVICES = 1000


# gc=False: a batch decodes tens of thousands of these; they hold no reference cycles, so keeping
# them out of the cyclic garbage collector saves its repeated scans during decoding
class WireReading(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    meter: Code
    quantity: Code
    unit: Word
    ts: datetime
    value: float | None = None
    quality: Word = "good"
    reason: Reason | None = None
    raw: Annotated[list[int], msgspec.Meta(max_length=MAX_RAW_WORDS)] | None = None


class WireBatch(msgspec.Struct, forbid_unknown_fields=False):
    agent_id: AgentId
    readings: list[WireReading]
    agent_version: Version = ""
    sent_at: datetime | None = None


class WireDevice(msgspec.Struct, forbid_unknown_fields=False):
    name: Name
    ok: bool
    last_success_at: datetime | None = None
    last_error: Text | None = None
    error_count: BigCount = 0
    points: Count = 0


class WireStatus(msgspec.Struct, forbid_unknown_fields=False):
    agent_id: AgentId
    reported_at: datetime
    agent_version: Version = ""
    started_at: datetime | None = None
    last_upload_at: datetime | None = None
    buffer_depth: BigCount = 0
    oldest_pending_ts: datetime | None = None
    rejected_count: Count = 0
    devices: Annotated[list[WireDevice], msgspec.Meta(max_length=MAX_DEVICES)] = []
