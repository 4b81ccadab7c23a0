"""Verification of our JWT access tokens (RFC 9068 profile), with explicit claim checks."""

from __future__ import annotations

from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from backend.errors import Unauthenticated

ACCEPTED_ALGORITHMS = ["ES256"]


class InvalidToken(Unauthenticated):
    code = "INVALID_TOKEN"


class ExpiredToken(InvalidToken):
    """A good token past its expiry: the client should fetch a new one (PACT answers TokenExpired)."""


def verify_access_token(
    token: str, keyset: KeySet, *, issuer: str, audience: str, max_lifetime_s: int | None = None
) -> dict[str, Any]:
    """The token's claims if its signature, type, issuer, audience, expiry and lifetime hold; raises otherwise.

    ``max_lifetime_s`` bounds ``exp - iat``: a token minted to live for a year (by a bug, or with a
    leaked key) is refused even though its signature is good.
    """
    known_kids = {key.kid for key in keyset.keys}
    try:
        header = extract_compact(token.encode()).protected
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(f"malformed token: {getattr(exc, 'description', None) or exc}")
    # checked before any signature work: "none" and HMAC-with-public-key tricks never reach decode
    if header.get("alg") not in ACCEPTED_ALGORITHMS:
        raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
    if header.get("kid") not in known_kids:
        raise InvalidToken("the token was signed with a key that is not in our key set")
    try:
        decoded = jwt.decode(token, keyset, algorithms=ACCEPTED_ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise InvalidToken(f"invalid token: {getattr(exc, 'description', None) or exc}")
    if decoded.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidToken("not an access token (typ must be at+jwt)")
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        client_id={"essential": True},
        tenant={"essential": True},
    )
    try:
        registry.validate(decoded.claims)
    except ExpiredTokenError as exc:
        raise ExpiredToken(f"token refused: {exc.error} {exc.description or ''}".strip())
    except JoseError as exc:
        raise InvalidToken(f"token refused: {exc.error} {exc.description or ''}".strip())
    claims = dict(decoded.claims)
    if max_lifetime_s is not None:
        try:
            lifetime = int(claims["exp"]) - int(claims["iat"])
        except (TypeError, ValueError):
            raise InvalidToken("token refused: exp and iat must be numbers")
        if lifetime > max_lifetime_s:
            raise InvalidToken(f"token refused: its lifetime exceeds the maximum of {max_lifetime_s} s")
    return claims
