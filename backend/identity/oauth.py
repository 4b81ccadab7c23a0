"""The OAuth2 client-credentials token endpoint (RFC 6749 §4.4), built on authlib's grant logic.

authlib's server side is synchronous, so the client is fetched asynchronously first and the
authorization server works on that prefetched row; tokens are RFC 9068 JWTs signed with the
active ES256 key.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from litestar import Response

from backend.db import utcnow
from backend.identity.models import OAuthClient
from backend.identity.principal import ALL_SCOPES
from backend.identity.secrets import matches


class _Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, row: OAuthClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        requested = scope.split() if scope else list(self.row.scopes)
        return " ".join(s for s in requested if s in self.row.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        if matches(client_secret, self.row.secret_hash):
            return True
        grace_until: datetime | None = self.row.previous_secret_expires_at
        return (
            grace_until is not None and grace_until > utcnow() and matches(client_secret, self.row.previous_secret_hash)
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class _Grant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        requested = set((self.request.payload.scope or "").split())
        if requested - set(self.request.client.row.scopes):
            raise InvalidScopeError("the client may not request these scopes")


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, form: dict[str, list[str]]) -> None:
        self._form = form

    @property
    def data(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._form.items() if v}

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return defaultdict(list, self._form)


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: Any, form: dict[str, list[str]]) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = _Payload(form)
        self._form = form

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._form.items() if v}

    @property
    def args(self) -> dict[str, str]:
        return {}


class _TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, *, issuer: str, audience: str, keyset: KeySet, ttl_s: int) -> None:
        super().__init__(issuer=issuer, alg="ES256", expires_generator=lambda client, grant_type: ttl_s)
        self._audience = audience
        self._keyset = keyset

    def get_jwks(self) -> KeySet:
        return self._keyset

    def get_audiences(self, client: _Client, user: Any, scope: str) -> list[str]:
        return [self._audience]

    def get_extra_claims(self, client: _Client, grant_type: str, user: Any, scope: str) -> dict[str, Any]:
        claims: dict[str, Any] = {"tenant": str(client.row.tenant_id)}
        if client.row.installation_id:
            claims["installation_id"] = str(client.row.installation_id)
        return claims


@dataclass(frozen=True, slots=True)
class TokenResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, client: OAuthClient | None, generator: _TokenGenerator) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self._client = client
        self.register_grant(_Grant)
        self.register_token_generator("default", generator)

    def query_client(self, client_id: str) -> _Client | None:
        if self._client is None or self._client.client_id != client_id or self._client.revoked_at is not None:
            return None
        return _Client(self._client)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Tokens are self-contained; revocation works through the client's status."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals are used."""

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def create_token_response(self, request: _Request | None = None) -> TokenResponse:
        # RFC 6749 §5.2: a missing required parameter is invalid_request (authlib would answer
        # unsupported_grant_type, which names a grant type the client did send)
        if request is not None and not request.payload.grant_type:
            return self.handle_error_response(
                request, InvalidRequestError(description="missing required parameter: grant_type")
            )
        return super().create_token_response(request)  # type: ignore[no-any-return]

    def handle_response(self, status: int, body: Any, headers: Any) -> TokenResponse:
        return TokenResponse(status, dict(body), dict(headers))


# RFC 6749 §3.2: parameters sent without a value are treated as omitted; none may be repeated
TOKEN_PARAMETER_MAX = 1024
CLIENT_ID_MAX = 64
# one sentence for every failed client authentication: an unknown client and a wrong secret must
# not be told apart (that would let anyone enumerate client ids)
INVALID_CLIENT = "client authentication failed"


def token_error(description: str, *, error: str = "invalid_request", status: int = 400) -> Response[Any]:
    return Response(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def token_form(body: bytes) -> dict[str, list[str]]:
    """The token request's form, or ValueError naming the parameter at fault."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not valid UTF-8 text")
    try:
        pairs = parse_qsl(text, keep_blank_values=False, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise ValueError("the body is not valid UTF-8 text")
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    for name, values in form.items():
        if len(values) > 1:
            raise ValueError(f"parameter {name} was sent more than once")
        if len(values[0]) > TOKEN_PARAMETER_MAX:
            raise ValueError(f"parameter {name} is longer than {TOKEN_PARAMETER_MAX} characters")
        if any(ord(c) < 0x20 or c == "\x7f" for c in values[0]):
            raise ValueError(f"parameter {name} contains control characters")
    return form


def basic_client_id(authorization: str | None) -> str | None:
    """The client id from an HTTP Basic header, to prefetch the client before authlib checks it.

    None when the header is absent or cannot name one of our clients (not base64, not UTF-8,
    control characters, longer than any client id): such a request fails client authentication.
    """
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id = unquote(decoded.partition(":")[0], errors="strict")
    if not client_id or len(client_id) > CLIENT_ID_MAX or not client_id.isprintable():
        return None
    return client_id


def authorization_is_unusable(headers: Any) -> bool:
    """A Basic header that is present but names no possible client: refused before authlib parses it."""
    authorization = headers.get("authorization")
    return bool(authorization) and authorization.lower().startswith("basic ") and basic_client_id(authorization) is None


def issue_token(
    *,
    client: OAuthClient | None,
    method: str,
    uri: str,
    headers: Any,
    form: dict[str, list[str]],
    issuer: str,
    audience: str,
    signing_keys: KeySet,
    ttl_s: int,
) -> TokenResponse:
    generator = _TokenGenerator(issuer=issuer, audience=audience, keyset=signing_keys, ttl_s=ttl_s)
    server = _Server(client, generator)
    if authorization_is_unusable(headers):
        return TokenResponse(
            401,
            {"error": "invalid_client", "error_description": INVALID_CLIENT},
            {"Cache-Control": "no-store", "Pragma": "no-cache", "WWW-Authenticate": 'Basic realm="cbamx"'},
        )
    response: TokenResponse = server.create_token_response(_Request(method, uri, headers, form))
    if response.body.get("error") == "invalid_client":
        response.body["error_description"] = INVALID_CLIENT
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Pragma", "no-cache")
    if response.status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Basic realm="cbamx"')
    return response
