"""How a requester's host is compared with the credentials registered for it, and the answers' retry window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from backend.feeds.delivery import RetrySchedule
from backend.pact.callbacks import normal_host, peer_url_allowed
from backend.pact.errors import InvalidEvent
from backend.pact.service import parse_event
from backend.settings import Settings


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://PACT.Importer.example/", "https://pact.importer.example"),
        ("https://pact.importer.example:443/pact/", "https://pact.importer.example/pact"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("HTTP://host.example:80", "http://host.example"),
        ("ftp://host.example", None),
        ("https://user:pw@host.example", None),
        ("https://host.example/?q=1", None),
        ("not a url", None),
        ("https://host.example:99999", None),
    ],
)
def test_a_host_is_compared_by_its_normal_form(given, normal):
    assert normal_host(given) == normal


def test_answers_back_off_exponentially_and_stop_after_three_days():
    fields = Settings.model_fields
    delays = fields["pact_answer_retry_delays_s"].get_default(call_default_factory=True)
    window = fields["pact_answer_retry_window_s"].default
    assert window == 3 * 86400
    assert all(b == 2 * a for a, b in pairwise(delays[:10])) and max(delays) == 6 * 3600
    schedule = RetrySchedule(tuple(delays), window, 0.0)
    start = now = datetime(2026, 12, 3, tzinfo=UTC)
    failed = 0
    while (at := schedule.next_attempt_at(start, now, failed + 1)) is not None:
        failed, now = failed + 1, at
    assert now <= start + timedelta(days=3) and now > start + timedelta(days=3) - timedelta(hours=6)
    assert 15 < failed < 30


def _settings(public_url: str, environment: str) -> Settings:
    return Settings(public_url=public_url, environment=environment, secret_key="x" * 32)


@pytest.mark.parametrize(
    ("public_url", "environment", "peer", "allowed"),
    [
        # a platform on plain HTTP (development, tests) talks to peers on either
        ("http://127.0.0.1:8000", "development", "http://pact.example", True),
        # a platform on HTTPS asks HTTPS of other hosts ...
        ("https://127.0.0.1:8443", "development", "http://pact.example", False),
        ("https://127.0.0.1:8443", "development", "https://pact.example", True),
        # ... but outside production a host on this machine may speak plain HTTP (a conformance
        # runner's listener beside the demo)
        ("https://127.0.0.1:8443", "development", "http://localhost:8080", True),
        ("https://127.0.0.1:8443", "development", "http://127.0.0.1:8080", True),
        ("https://127.0.0.1:8443", "development", "http://[::1]:8080", True),
        # never in production
        ("https://cbamx.example", "production", "http://localhost:8080", False),
    ],
)
def test_a_peer_host_may_use_plain_http_only_where_the_platform_allows(public_url, environment, peer, allowed):
    assert peer_url_allowed(peer, _settings(public_url, environment)) is allowed


def _request_event(source: str) -> dict[str, object]:
    return {
        "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "specversion": "1.0",
        "id": "run-12",
        "source": source,
        "time": "2026-12-03T10:00:00Z",
        "data": {"productId": ["urn:gtin:4712345060507"]},
    }


def test_a_request_from_a_runner_beside_an_https_demo_is_taken_and_a_plain_http_stranger_is_not():
    demo = _settings("https://127.0.0.1:8443", "development")
    assert parse_event(_request_event("http://localhost:8080"), demo).source == "http://localhost:8080"
    with pytest.raises(InvalidEvent) as refused:
        parse_event(_request_event("http://pact.example"), demo)
    assert refused.value.field == "source"
