"""Event feeds of the exchange: events addressed to a recipient organisation, read by query, pushed
to its webhook endpoints (signed CloudEvents) and streamed to GraphQL subscriptions.

Other domains call :func:`emit` inside their own unit of work with one of the type constants.
"""

from backend.feeds.events import (
    EVENT_TYPES,
    FOOTPRINT_PUBLISHED,
    FOOTPRINT_SUPERSEDED,
    REQUEST_CANCELLED,
    REQUEST_CREATED,
    REQUEST_FULFILLED,
    REQUEST_REJECTED,
    REQUEST_REMINDER,
    emit,
)

__all__ = [
    "EVENT_TYPES",
    "FOOTPRINT_PUBLISHED",
    "FOOTPRINT_SUPERSEDED",
    "REQUEST_CANCELLED",
    "REQUEST_CREATED",
    "REQUEST_FULFILLED",
    "REQUEST_REJECTED",
    "REQUEST_REMINDER",
    "emit",
]
