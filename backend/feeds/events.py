"""Events of the exchange: their types, and ``emit``, which other domains call in their own unit of work.

An event is written in the source organisation's transaction, so it exists exactly when the change
that caused it commits. After the commit the outbox hands ``feeds.fan_out`` to the queue, which
publishes the event to live subscriptions and creates a delivery for each of the recipient's
webhook endpoints that wants it.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import defer_job, new_id, tenant_scope_of, utcnow
from backend.errors import FieldError, ValidationFailed
from backend.feeds.models import FeedEvent

FOOTPRINT_PUBLISHED = "cbamx.footprint.published"
FOOTPRINT_SUPERSEDED = "cbamx.footprint.superseded"
REQUEST_CREATED = "cbamx.request.created"
REQUEST_FULFILLED = "cbamx.request.fulfilled"
REQUEST_REJECTED = "cbamx.request.rejected"
REQUEST_CANCELLED = "cbamx.request.cancelled"
REQUEST_REMINDER = "cbamx.request.reminder"

# a new kind of event is added here, so endpoints can subscribe to it and filters can name it
EVENT_TYPES: frozenset[str] = frozenset(
    {
        FOOTPRINT_PUBLISHED,
        FOOTPRINT_SUPERSEDED,
        REQUEST_CREATED,
        REQUEST_FULFILLED,
        REQUEST_REJECTED,
        REQUEST_CANCELLED,
        REQUEST_REMINDER,
    }
)

MAX_SUBJECT = 500
MAX_DATA_BYTES = 256 * 1024
FAN_OUT_JOB = "feeds.fan_out"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def event_type_errors(types: list[str], *, field: str) -> list[FieldError]:
    """Each unknown type named by its position, with the known ones listed once."""
    known = ", ".join(sorted(EVENT_TYPES))
    return [
        FieldError(f"unknown event type {value!r}; known types: {known}", field=f"{field}.{i}")
        for i, value in enumerate(types)
        if value not in EVENT_TYPES
    ]


def _json_object(data: Any) -> tuple[dict[str, Any] | None, FieldError | None]:
    if not isinstance(data, dict):
        return None, FieldError("a JSON object", field="data")
    try:
        text = json.dumps(data, allow_nan=False, ensure_ascii=False, default=_refuse)
    except (TypeError, ValueError) as error:
        return None, FieldError(f"JSON values only ({error})", field="data")
    if len(text.encode()) > MAX_DATA_BYTES:
        return None, FieldError(f"at most {MAX_DATA_BYTES} bytes as JSON", field="data")
    return json.loads(text), None


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not a JSON value")


async def emit(
    session: AsyncSession,
    *,
    type: str,
    source_tenant_id: uuid.UUID,
    recipient_tenant_id: uuid.UUID,
    recipient_client_id: uuid.UUID | None = None,
    subject: str,
    data: dict[str, Any],
) -> uuid.UUID:
    """Write an event in the source organisation's unit of work and return its id.

    ``session`` must be a tenant unit of work of ``source_tenant_id`` (``Database.tenant``): the row
    is inserted as that organisation's role and commits or rolls back with the caller's change.
    ``recipient_client_id`` (a machine client's ``OAuthClient.id``) narrows the event to that client
    among the recipient's machine clients; the recipient's people see it too. ``data`` is a JSON
    object; ids inside it should be strings. The id returned is the event's for ever: the
    ``feedEvents`` id, the CloudEvents ``id`` and the ``webhook-id`` header.
    """
    scope = tenant_scope_of(session)
    errors: list[FieldError] = []
    if scope.tenant_id != source_tenant_id:
        errors.append(FieldError("must be the organisation of this unit of work", field="sourceTenantId"))
    if type not in EVENT_TYPES:
        errors += event_type_errors([type], field="type")
    if not subject.strip() or len(subject) > MAX_SUBJECT or _CONTROL.search(subject):
        errors.append(FieldError(f"1 to {MAX_SUBJECT} characters, no control characters", field="subject"))
    payload, data_error = _json_object(data)
    if data_error:
        errors.append(data_error)
    if errors:
        raise ValidationFailed(errors)
    event_id = new_id()
    # a plain INSERT without RETURNING: tenant roles may add events but never read them back
    await session.execute(
        insert(FeedEvent).values(
            id=event_id,
            type=type,
            source_tenant_id=source_tenant_id,
            recipient_tenant_id=recipient_tenant_id,
            recipient_client_id=recipient_client_id,
            subject=subject,
            data=payload,
            occurred_at=utcnow(),
        )
    )
    defer_job(session, FAN_OUT_JOB, str(event_id), job_id=f"{FAN_OUT_JOB}:{event_id}")
    return event_id
