"""Integration tests share one Redis database per test process: each starts with an empty job queue."""

from __future__ import annotations

import pytest

from backend.services import Services
from tests.factories.jobs import clear_job_queue


@pytest.fixture(autouse=True)
async def empty_job_queue(services: Services) -> None:
    await clear_job_queue(services.queue)
