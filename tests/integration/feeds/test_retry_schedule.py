"""The retry schedule: its default delays and window, jitter bounds, and the sweep for lost jobs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from sqlalchemy import update

from backend.feeds.delivery import RetrySchedule, schedule_of
from backend.feeds.models import WebhookDelivery
from backend.settings import Settings
from tests.factories.feeds import emit_event
from tests.factories.jobs import clear_job_queue, work_off_queue
from tests.factories.receiver import Receiver, free_port
from tests.factories.tenants import login, make_tenant
from tests.operations import operation

START = datetime(2026, 12, 1, tzinfo=UTC)


def attempt_times(schedule: RetrySchedule, rng: random.Random | None = None) -> list[float]:
    """Hours after the start of each attempt when every attempt fails at once."""
    times, now, failed = [0.0], START, 1
    while (at := schedule.next_attempt_at(START, now, failed, rng)) is not None:
        times.append((at - START).total_seconds() / 3600)
        now, failed = at, failed + 1
    return times


def test_the_default_schedule_retries_for_26_hours_then_hourly():
    # given: the documented defaults, without jitter
    defaults = Settings()
    schedule = RetrySchedule(tuple(defaults.webhook_retry_delays_s), defaults.webhook_retry_window_s, 0.0)
    # when
    times = attempt_times(schedule)
    # then: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then hourly, the last within 26 h
    seconds = [round(t * 3600) for t in times[:7]]
    assert seconds == [0, 5, 35, 155, 755, 2555, 6155]
    assert all(round((b - a) * 3600) == 3600 for a, b in pairwise(times[6:]))
    assert 25 < times[-1] <= 26
    assert len(times) == 31


def test_jitter_keeps_each_delay_within_its_share():
    schedule = RetrySchedule((100.0,), 10_000.0, 0.2)
    rng = random.Random(7)
    delays = [(schedule.next_attempt_at(START, START, 1, rng) - START).total_seconds() for _ in range(500)]
    assert min(delays) >= 80 and max(delays) <= 120
    assert max(delays) - min(delays) > 20  # spread, not one value


async def test_the_sweep_queues_again_a_pending_delivery_whose_job_was_lost(services, http):
    # given: a delivery whose job vanished from Redis before it ran
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        body = await session.gql(operation("CreateWebhookEndpoint"), {"input": {"url": receiver.url}})
        assert body["data"]["createWebhookEndpoint"]["errors"] == []
        event = await emit_event(services, a, b)
        from workers.jobs.feeds import fan_out_event, sweep_deliveries

        await fan_out_event({"services": services}, str(event))
        await clear_job_queue(services.queue)
        async with services.db.tenant(b.tenant.scope()) as db:
            await db.execute(update(WebhookDelivery).values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=5)))
        # when: the sweep runs
        result = await sweep_deliveries({"services": services})
        await work_off_queue(services)
    finally:
        await receiver.stop()
    # then
    assert result["queued"] == {b.tenant.slug: 1}
    assert [r.headers["webhook-id"] for r in receiver.received] == [str(event)]
    assert schedule_of(services).jitter == 0.0
