"""Signed webhook messages: the CloudEvents 1.0 envelope and the Standard Webhooks signature.

Headers sent with each attempt::

    webhook-id: <event id>            the same for every attempt and replay: receivers deduplicate by it
    webhook-timestamp: <unix seconds> the attempt's time; receivers refuse old ones (replay attack)
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

The secret is ``whsec_`` + base64 of 32 random bytes; the HMAC key is the decoded bytes. After a
rotation both the new and the previous secret sign (space-separated signatures) until the previous
one expires, so a receiver can switch secrets without losing a message.

This module has no database or network: :func:`verify_signature` is what a Python receiver needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
TOLERANCE_S = 300
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


class InvalidSignature(Exception):
    """The message is not signed with the secret, is too old or too new, or lacks a header."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One signature, ``v1,<base64>``, of ``{message_id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(secrets: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": CONTENT_TYPE,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, message_id, timestamp, body) for secret in secrets),
    }


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Raise :class:`InvalidSignature` unless ``body`` was signed with ``secret`` within ``tolerance_s``.

    ``headers`` may use any case. ``body`` must be the raw bytes received, before any JSON parsing.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    message_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not message_id or not timestamp or not signatures:
        raise InvalidSignature("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not a whole number of seconds")
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        raise InvalidSignature("webhook-timestamp is outside the tolerance")
    expected = sign(secret, message_id, sent_at, body).encode()
    for candidate in signatures.split():
        if candidate.startswith(f"{SIGNATURE_VERSION},") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise InvalidSignature("no signature matches")


def cloud_event(
    *,
    event_id: str,
    source: str,
    type: str,
    subject: str,
    time: datetime,
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """The CloudEvents 1.0 structured-mode envelope of one event."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type,
        "subject": subject,
        "time": time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": dict(data),
    }


def envelope_body(envelope: Mapping[str, Any]) -> bytes:
    """The bytes that are signed and sent: compact JSON, the same for every attempt of a message."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


# --- secrets at rest --------------------------------------------------------------------------------


def _sealing_key(app_secret: str) -> bytes:
    return hashlib.sha256(b"cbamx-webhook-secret-seal:" + app_secret.encode()).digest()


def seal(secret: str, app_secret: str) -> str:
    """The endpoint secret encrypted with a key derived from the platform's secret key."""
    nonce = os.urandom(12)
    sealed = AESGCM(_sealing_key(app_secret)).encrypt(nonce, secret.encode(), b"whsec")
    return base64.b64encode(nonce + sealed).decode()


def unseal(sealed: str, app_secret: str) -> str:
    blob = base64.b64decode(sealed)
    return AESGCM(_sealing_key(app_secret)).decrypt(blob[:12], blob[12:], b"whsec").decode()
