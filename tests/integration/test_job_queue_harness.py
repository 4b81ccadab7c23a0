"""The test harness's job queue: each test starts with an empty queue, and working it off runs what is due
without waiting for (or stopping the worker in the middle of) work deferred for hours."""

from __future__ import annotations

import asyncio
import uuid

from arq.jobs import Job, JobStatus

from tests.factories.jobs import clear_job_queue, work_off_queue
from tests.factories.tenants import make_tenant


async def queue_keys(services) -> list[bytes]:
    return [key async for key in services.queue.scan_iter(match="arq:*")]


async def test_a_test_starts_with_nothing_on_the_job_queue(services):
    # the autouse fixture emptied what earlier tests on this worker left behind
    assert await services.queue.zcard("arq:queue") == 0
    assert not [k for k in await queue_keys(services) if k.startswith((b"arq:job:", b"arq:in-progress:"))]


async def test_clearing_the_queue_drops_queued_deferred_and_retried_jobs(services):
    # given: a job due now, one deferred for hours, and a retry marker as a failed try leaves it
    await services.queue.enqueue_job("calculations.provisional", str(uuid.uuid4()), str(uuid.uuid4()))
    await services.queue.enqueue_job("calculations.provisional", "x", "y", _defer_by=6 * 3600)
    await services.queue.set("arq:retry:some-job", 1)
    # when
    await clear_job_queue(services.queue)
    # then: nothing of arq's is left, and the connection still serves
    assert await services.queue.zcard("arq:queue") == 0
    assert await queue_keys(services) == []
    assert await services.queue.ping()


async def test_working_off_runs_what_is_due_and_leaves_what_is_deferred_for_hours(services):
    # given: a provisional footprint due now (its batch does not exist: the job answers and ends) and a
    # follow-up deferred for six hours
    owner = await make_tenant(services)
    due = await services.queue.enqueue_job(
        "calculations.provisional", str(owner.tenant.id), str(uuid.uuid4()), _job_id=f"due-{uuid.uuid4()}"
    )
    later = await services.queue.enqueue_job(
        "calculations.provisional",
        str(owner.tenant.id),
        str(uuid.uuid4()),
        _job_id=f"later-{uuid.uuid4()}",
        _defer_by=6 * 3600,
    )
    # when: the queue is worked off (bounded: a hang is a failure, not a timeout of the whole suite)
    await asyncio.wait_for(work_off_queue(services), timeout=30)
    # then: the due job ran and left the queue; the deferred one waits for its time
    assert await due.status() == JobStatus.not_found
    assert await later.status() == JobStatus.deferred
    assert not [k for k in await queue_keys(services) if k.startswith(b"arq:in-progress:")]
    # and working off again, with only the deferred job left, returns at once
    await asyncio.wait_for(work_off_queue(services), timeout=5)
    assert await Job(later.job_id, services.queue).status() == JobStatus.deferred
