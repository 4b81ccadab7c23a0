"""Verifying a statement offline: no database, only the statement and its verifier's published keys.

The keys come from a JWKS file, a JWKS URL, or (when neither is given) the ``jwks_uri`` the statement
itself names. A key fetched from a URL belongs to the issuing verifier only if the URL is that
verifier's key address (``/organizations/{organization_id}/jwks.json``); a file is taken as the
verifier's keys on the word of whoever hands it over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jws
from joserfc.errors import JoseError

from backend.verification.errors import StatementInvalid
from backend.verification.signing import jwks_path, verify


class StatementInput(Exception):
    """The statement or the keys could not be read at all (not a verdict on the statement)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    reason: str | None  # None: verified
    kid: str | None = None
    keys_from: str = ""
    payload: dict[str, Any] | None = None


def unverified_payload(token: str) -> dict[str, Any]:
    """The payload a statement carries, read without checking its signature (for display only)."""
    try:
        payload = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, IndexError) as error:
        raise StatementInvalid(f"not a compact JWS: {error}") from None
    if not isinstance(payload, dict):
        raise StatementInvalid("the payload is not a JSON object")
    return payload


def _load_jwks(source: str) -> dict[str, Any]:
    try:
        if source.startswith(("http://", "https://")):
            response = httpx.get(source, timeout=20, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
        else:
            with open(source, encoding="utf-8") as handle:
                document = json.load(handle)
    except (OSError, ValueError, httpx.HTTPError) as error:
        raise StatementInput(f"cannot read the keys from {source}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise StatementInput(f"{source} is not a JWKS document (an object with a 'keys' list)")
    return document


def verify_statement(token: str, jwks_source: str | None) -> Outcome:
    """Check a statement's signature against its verifier's keys; ``reason`` says why it does not verify."""
    try:
        claimed = unverified_payload(token)
        verifier = claimed.get("verifier") if isinstance(claimed.get("verifier"), dict) else {}
        organization_id = str(verifier.get("organization_id", ""))
        source = jwks_source or str(verifier.get("jwks_uri") or "")
        if not source:
            raise StatementInvalid("the statement names no jwks_uri: give the verifier's keys with --jwks")
        is_url = source.startswith(("http://", "https://"))
        if is_url and not urlsplit(source).path.endswith(jwks_path(organization_id)):
            raise StatementInvalid(
                f"the keys at {source} are not the issuing verifier's ({jwks_path(organization_id)})"
            )
        header, payload = verify(token, _load_jwks(source))
    except StatementInvalid as error:
        return Outcome(error.reason)
    return Outcome(None, str(header.get("kid")), source, payload)
