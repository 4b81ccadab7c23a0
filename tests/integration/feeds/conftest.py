"""Feed tests run with a feed that lists events at once and a retry schedule of fractions of a second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.services import Services


def with_settings(services: Services, **changes: Any) -> None:
    services.settings = services.settings.model_copy(update=changes)


@pytest.fixture(autouse=True)
def fast_feeds(services: Services) -> Iterator[None]:
    # the PostgreSQL server is shared by parallel test runs, whose long transactions (dropping a
    # database) would hold the feed back for the settle time; retries wait fractions of a second
    original = services.settings
    with_settings(
        services,
        feed_settle_s=0.0,
        webhook_retry_delays_s=[0.2, 0.4],
        webhook_retry_window_s=3600.0,
        webhook_retry_jitter=0.0,
        webhook_timeout_s=5.0,
    )
    try:
        yield
    finally:
        services.settings = original
