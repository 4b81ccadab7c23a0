"""How a requester's host is compared with the credentials registered for it, and the answers' retry window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from backend.feeds.delivery import RetrySchedule
from backend.pact.callbacks import normal_host
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
