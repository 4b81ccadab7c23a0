"""Errors of the feeds domain."""

from backend.errors import Conflict, NotFound


class WebhookEndpointNotFound(NotFound):
    code = "WEBHOOK_ENDPOINT_NOT_FOUND"


class FeedEventNotFound(NotFound):
    """No event with this id was addressed to the caller (another organisation's events are never named)."""

    code = "FEED_EVENT_NOT_FOUND"


class WebhookEndpointNotEnabled(Conflict):
    """Deliveries go only to an enabled endpoint: enable it first, then replay."""

    code = "WEBHOOK_ENDPOINT_NOT_ENABLED"


class WebhookEndpointLimit(Conflict):
    code = "WEBHOOK_ENDPOINT_LIMIT"
