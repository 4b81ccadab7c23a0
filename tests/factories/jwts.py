"""Builders for access tokens made outside the token endpoint: valid look-alikes and forgeries."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from backend.services import Services


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def decode_segment(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))  # type: ignore[no-any-return]


def token_header(token: str) -> dict[str, Any]:
    return decode_segment(token.split(".")[0])


def token_claims(token: str) -> dict[str, Any]:
    return decode_segment(token.split(".")[1])


def access_claims(
    services: Services, *, client_id: str, tenant_id: uuid.UUID | str, scope: str, **overrides: Any
) -> dict[str, Any]:
    """Claims an access token of this client would carry (RFC 9068), with overrides applied."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": services.settings.issuer,
        "sub": client_id,
        "aud": services.settings.jwt_audience,
        "exp": now + 600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": scope,
        "tenant": str(tenant_id),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def active_signing_key(services: Services) -> ECKey:
    keyset = await services.keys.signing_keys()
    key = keyset.keys[0]
    assert isinstance(key, ECKey) and key.kid
    return key


def sign(claims: dict[str, Any], key: ECKey, *, kid: str | None = None, typ: str = "at+jwt") -> str:
    header = {"alg": "ES256", "typ": typ, "kid": kid or key.kid}
    return jwt.encode(header, claims, key)


def unsigned(claims: dict[str, Any], *, kid: str | None = None) -> str:
    """An ``alg: none`` token: header and claims, empty signature."""
    header: dict[str, Any] = {"alg": "none", "typ": "at+jwt"}
    if kid:
        header["kid"] = kid
    return f"{b64url_json(header)}.{b64url_json(claims)}."


def stranger_key(kid: str) -> ECKey:
    """A fresh ES256 key that no JWKS of ours contains, under whatever kid the caller wants."""
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})


def tamper_signature(token: str) -> str:
    """Change one byte in the middle of the signature (not a padding bit at its end)."""
    header, claims, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{header}.{claims}.{b64url(bytes(raw))}"
