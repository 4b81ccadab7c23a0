"""Errors of sharing: grants and subscriptions."""

from backend.errors import NotFound, PermissionDenied


class GrantNotFound(NotFound):
    code = "GRANT_NOT_FOUND"


class NoLiveGrant(PermissionDenied):
    code = "NO_LIVE_GRANT"
