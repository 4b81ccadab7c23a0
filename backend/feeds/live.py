"""Live events over Redis pub/sub: the fan-out publishes each committed event on its recipient's
channel, and every API process streams what it hears to its own subscribers.

Pub/sub keeps nothing: a subscriber that is not connected misses events, and reads them later from
``feedEvents`` with its last cursor. Delivery to a subscriber is at least once (the fan-out job may
run twice); the event id tells duplicates apart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from backend.feeds.models import FeedEvent

CHANNEL_PREFIX = "cbamx:feeds:"
POLL_S = 1.0


def channel(recipient_tenant_id: uuid.UUID) -> str:
    return f"{CHANNEL_PREFIX}{recipient_tenant_id}"


@dataclass(frozen=True, slots=True)
class LiveEvent:
    id: uuid.UUID
    type: str
    subject: str
    source_tenant_id: uuid.UUID
    recipient_tenant_id: uuid.UUID
    recipient_client_id: uuid.UUID | None
    occurred_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: FeedEvent) -> LiveEvent:
        return cls(
            event.id,
            event.type,
            event.subject,
            event.source_tenant_id,
            event.recipient_tenant_id,
            event.recipient_client_id,
            event.occurred_at,
            dict(event.data),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "subject": self.subject,
                "source_tenant_id": str(self.source_tenant_id),
                "recipient_tenant_id": str(self.recipient_tenant_id),
                "recipient_client_id": str(self.recipient_client_id) if self.recipient_client_id else None,
                "occurred_at": self.occurred_at.isoformat(),
                "data": self.data,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> LiveEvent:
        value = json.loads(raw)
        client = value.get("recipient_client_id")
        return cls(
            uuid.UUID(value["id"]),
            value["type"],
            value["subject"],
            uuid.UUID(value["source_tenant_id"]),
            uuid.UUID(value["recipient_tenant_id"]),
            uuid.UUID(client) if client else None,
            datetime.fromisoformat(value["occurred_at"]),
            value["data"],
        )

    def visible_to(self, tenant_id: uuid.UUID, client_pk: uuid.UUID | None) -> bool:
        """The same rule as the feed query: the organisation's, and no other client's."""
        if self.recipient_tenant_id != tenant_id:
            return False
        return client_pk is None or self.recipient_client_id in (None, client_pk)


async def publish(redis: Redis, event: LiveEvent) -> int:
    """Send to the recipient's channel; the number of API processes listening."""
    return int(await redis.publish(channel(event.recipient_tenant_id), event.to_json()))


async def listen(redis: Redis, recipient_tenant_id: uuid.UUID) -> AsyncIterator[LiveEvent]:
    """The recipient's events as they are published, until the consumer stops iterating."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(recipient_tenant_id))
    try:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
            if message is not None and message.get("type") == "message":
                yield LiveEvent.from_json(message["data"])
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
