"""PACT's error shape at the edge: each kind of domain error as ``{code, message}`` with its HTTP status."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from backend.api.problems import pact_domain_error_handler, pact_unexpected_error_handler
from backend.errors import NotFound, PermissionDenied, RateLimited, ServiceUnavailable
from backend.identity.tokens import ExpiredToken, InvalidToken
from backend.pact.errors import InvalidEvent, InvalidQuery, NoDataOwner, UnsupportedCriterion, UnsupportedEvent

REQUEST = SimpleNamespace(method="GET", url=SimpleNamespace(path="/3/footprints"))


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ExpiredToken("token refused: expired_token"), 401, "TokenExpired"),
        (InvalidToken("malformed token"), 400, "BadRequest"),
        (PermissionDenied("needs footprints:read"), 403, "AccessDenied"),
        (NoDataOwner("no organisation shares footprints with you"), 403, "AccessDenied"),
        (NotFound("no footprint of this id", field="id"), 404, "NotFound"),
        (InvalidQuery("productId must be a URN", field="productId"), 400, "BadRequest"),
        (InvalidEvent("the event's specversion must be 1.0", field="specversion"), 400, "BadRequest"),
        (UnsupportedCriterion("no $filter", field="$filter"), 400, "NotImplemented"),
        (UnsupportedEvent("not processed", field="type"), 400, "NotImplemented"),
        (RateLimited("slow down", retry_after_s=3), 429, "BadRequest"),
        (ServiceUnavailable("database busy"), 503, "InternalError"),
    ],
)
def test_each_domain_error_has_its_pact_code_and_status(error, status, code):
    response = pact_domain_error_handler(REQUEST, error)  # type: ignore[arg-type]
    assert (response.status_code, response.content["code"]) == (status, code)
    assert response.media_type == "application/json"
    assert set(response.content) == {"code", "message"} and response.content["message"]


def test_the_message_names_the_field_at_fault():
    response = pact_domain_error_handler(REQUEST, InvalidQuery("must be a URN", field="companyId"))  # type: ignore[arg-type]
    assert response.content["message"] == "companyId: must be a URN"


def test_a_missing_token_asks_for_a_bearer_token():
    response = pact_domain_error_handler(REQUEST, InvalidToken("use a Bearer access token"))  # type: ignore[arg-type]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unexpected_error_is_an_internal_error_that_quotes_nothing_of_it():
    response = pact_unexpected_error_handler(REQUEST, RuntimeError("secret detail"))  # type: ignore[arg-type]
    assert (response.status_code, response.content["code"]) == (500, "InternalError")
    assert "secret detail" not in response.content["message"]
