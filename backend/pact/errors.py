"""Errors of the PACT host; ``backend.pact.routes`` maps them to PACT's error codes at the edge."""

from __future__ import annotations

from backend.errors import DomainError, NotFound, PermissionDenied


class InvalidQuery(DomainError):
    """A query parameter or event criterion with a bad value; ``field`` names it."""

    code = "INVALID_QUERY"


class UnsupportedCriterion(DomainError):
    """A criterion this host does not implement (OData ``$filter``, an unknown ``x-`` filter)."""

    code = "UNSUPPORTED_CRITERION"


class InvalidEvent(DomainError):
    """An event that is not a well-formed PACT v3 CloudEvent."""

    code = "INVALID_EVENT"


class UnsupportedEvent(DomainError):
    """A PACT event type this host does not process."""

    code = "UNSUPPORTED_EVENT"


class FootprintNotFound(NotFound):
    code = "FOOTPRINT_NOT_FOUND"


class NoDataOwner(PermissionDenied):
    """A request that names no organisation sharing footprints with the requester."""

    code = "NO_DATA_OWNER"
