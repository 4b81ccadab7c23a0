"""Opaque secrets (session tokens, client secrets, invitation tokens): random, stored as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def secret_hash(secret: str) -> str:
    # these secrets carry 256 bits of entropy, so a fast hash is enough (no dictionary to attack)
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(secret_hash(secret), stored_hash)
