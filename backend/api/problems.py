"""Domain errors at the HTTP edge: RFC 9457 problem details with the field and the reason."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from backend.api.errors import (
    INTERNAL_ERROR,
    data_error,
    internal_error_message,
    service_unavailable,
    undecodable_body,
)
from backend.api.request_id import current_request_id
from backend.errors import DomainError, RateLimited, ServiceUnavailable, ValidationFailed
from backend.logging import get_logger

_log = get_logger("cbamx.api")

STATUS_BY_KIND = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "unauthenticated": 401,
    "rate_limited": 429,
    "unavailable": 503,
}


# PACT v3 error codes and their HTTP status (spec/v3/openapi.yaml Error.code); a missing or invalid token is
# BadRequest (what the conformance suite expects), an expired one TokenExpired
PACT_BY_KIND = {
    "invalid": ("BadRequest", 400),
    "not_found": ("NotFound", 404),
    "forbidden": ("AccessDenied", 403),
    "conflict": ("BadRequest", 400),
    "unauthenticated": ("BadRequest", 400),
    "rate_limited": ("BadRequest", 429),
    "unavailable": ("InternalError", 503),
}
PACT_BY_CODE = {
    "UNSUPPORTED_CRITERION": ("NotImplemented", 400),
    "UNSUPPORTED_EVENT": ("NotImplemented", 400),
}


def pact_error(code: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(
        {"code": code, "message": message}, status_code=status, media_type="application/json", headers=headers
    )


def pact_domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    """A domain error as PACT's ``{code, message}``; the message names the field at fault."""
    from backend.identity.tokens import ExpiredToken

    if isinstance(exc, ExpiredToken):
        code, status = "TokenExpired", 401
    else:
        code, status = PACT_BY_CODE.get(exc.code) or PACT_BY_KIND.get(exc.kind, ("BadRequest", 400))
    headers: dict[str, str] | None = None
    if exc.kind == "unauthenticated":
        headers = {"WWW-Authenticate": 'Bearer realm="cbamx"'}
    elif isinstance(exc, (RateLimited, ServiceUnavailable)):
        headers = {"Retry-After": str(exc.retry_after_s), "Cache-Control": "no-store"}
    message = f"{exc.field}: {exc.message}" if exc.field and not exc.message.startswith(exc.field) else exc.message
    return pact_error(code, status, message, headers)


def pact_http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    code = {404: "NotFound", 403: "AccessDenied", 401: "BadRequest"}.get(exc.status_code, "BadRequest")
    if exc.status_code >= 500:
        code = "InternalError"
    return pact_error(code, exc.status_code, str(exc.detail), exc.headers)


def pact_unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        return pact_error("BadRequest", 400, str(exc.detail))
    response = unexpected_error_handler(request, exc)
    body = response.content if isinstance(response.content, dict) else {}
    status = response.status_code
    code = "InternalError" if status >= 500 else "BadRequest"
    return pact_error(code, status, str(body.get("detail", "")), dict(response.headers) or None)


def field_errors(error: DomainError) -> list[dict[str, Any]]:
    if isinstance(error, ValidationFailed):
        return [{"field": e.field, "code": e.code, "message": e.message} for e in error.errors]
    return [{"field": error.field, "code": error.code, "message": error.message}]


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if status >= 500:
        body["requestId"] = current_request_id()
    if status in (429, 503):
        # a refusal that depends on the moment must never be served from a cache
        headers = {**(headers or {}), "Cache-Control": "no-store"}
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = STATUS_BY_KIND.get(exc.kind, 422)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, (RateLimited, ServiceUnavailable)) else None
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="cbamx"'}
    return problem(
        status,
        exc.code.replace("_", " ").capitalize(),
        exc.message,
        code=exc.code,
        errors=field_errors(exc),
        headers=headers,
    )


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {"field": e.get("key"), "code": "INVALID", "message": e.get("message")} for e in extra if isinstance(e, dict)
    ]
    return problem(400, "Bad request", str(exc.detail), code="BAD_REQUEST", errors=errors or None)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    errors = None
    if exc.status_code == 413:
        errors = [{"field": "body", "code": "TOO_LARGE", "message": "the request body is larger than allowed"}]
    elif exc.status_code == 400:
        # litestar's own 400s (validation has its handler above) are bodies it could not decode
        errors = [{"field": "body", "code": "BAD_REQUEST", "message": str(exc.detail)}]
    return problem(
        exc.status_code,
        str(exc.detail),
        str(exc.detail),
        code=f"HTTP_{exc.status_code}",
        errors=errors,
        headers=exc.headers,
    )


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Values the database refused are the caller's mistake (422); anything else is ours: logged in
    full with the request id, and answered with that id only."""
    undecodable = undecodable_body(exc)
    if undecodable is not None:
        return problem(400, "Bad request", undecodable.message, code="BAD_REQUEST", errors=field_errors(undecodable))
    unavailable = service_unavailable(exc)
    if unavailable is not None:
        _log.warning(
            "http.service_unavailable",
            method=request.method,
            path=request.url.path,
            error=f"{type(exc).__name__}: {exc}",
        )
        return domain_error_handler(request, unavailable)
    rejected = data_error(exc)
    if rejected is not None:
        _log.info("http.value_rejected", path=request.url.path, code=rejected.code, field=rejected.field)
        return domain_error_handler(request, rejected)
    _log.error("http.unexpected_error", method=request.method, path=request.url.path, exc_info=exc)
    return problem(500, "Internal error", internal_error_message(current_request_id()), code=INTERNAL_ERROR)
