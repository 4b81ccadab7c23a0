"""Typed inputs of the feeds domain, validated once with every field error collected."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from backend.errors import FieldError, ValidationFailed
from backend.feeds.events import event_type_errors

MAX_URL = 2000
MAX_DESCRIPTION = 300
MAX_TYPES = 50
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def url_errors(url: str, *, field: str = "url") -> list[FieldError]:
    """https anywhere; plain http only to this machine (development receivers)."""
    if len(url) > MAX_URL:
        return [FieldError(f"at most {MAX_URL} characters", field=field)]
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises for a port that is not a number from 0 to 65535)
    except ValueError:
        return [FieldError("not a URL", field=field)]
    if parts.scheme not in ("https", "http") or not host:
        return [FieldError("an absolute https:// URL (http:// only for localhost)", field=field)]
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        return [FieldError("must use https:// (http:// is allowed for localhost only)", field=field)]
    if parts.username or parts.password:
        return [FieldError("must not carry a user name or password; the signature authenticates", field=field)]
    if parts.fragment:
        return [FieldError("must not have a #fragment", field=field)]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return []
    # cloud metadata services and link-local hosts are never receivers
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return [FieldError("must not point at a link-local, multicast or unspecified address", field=field)]
    return []


def _types_errors(types: list[str], field: str) -> list[FieldError]:
    if len(types) > MAX_TYPES:
        return [FieldError(f"at most {MAX_TYPES} event types", field=field)]
    return event_type_errors(types, field=field)


def _description_errors(description: str) -> list[FieldError]:
    if len(description) > MAX_DESCRIPTION:
        return [FieldError(f"at most {MAX_DESCRIPTION} characters", field="description")]
    return []


@dataclass(frozen=True, slots=True)
class EndpointData:
    url: str
    event_types: tuple[str, ...] = ()  # empty: every type
    description: str = ""

    def validate(self) -> None:
        errors = url_errors(self.url)
        errors += _types_errors(list(self.event_types), "eventTypes")
        errors += _description_errors(self.description)
        if errors:
            raise ValidationFailed(errors)


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None

    def validate(self) -> None:
        errors: list[FieldError] = []
        if self.url is not None:
            errors += url_errors(self.url)
        if self.event_types is not None:
            errors += _types_errors(list(self.event_types), "eventTypes")
        if self.description is not None:
            errors += _description_errors(self.description)
        if errors:
            raise ValidationFailed(errors)


@dataclass(frozen=True, slots=True)
class FeedFilter:
    types: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def validate(self, *, prefix: str = "filter.") -> None:
        errors = _types_errors(list(self.types), f"{prefix}types")
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.tzinfo is None:
                errors.append(FieldError("a time with its offset, e.g. 2026-12-01T00:00:00Z", field=prefix + name))
        if not errors and self.since and self.until and self.until <= self.since:
            errors.append(FieldError("must be after since", field=f"{prefix}until"))
        if errors:
            raise ValidationFailed(errors)
