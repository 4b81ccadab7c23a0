"""The job queue in tests: emptying it, and working off what is due through an arq worker as the worker
process would run it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from arq.worker import Worker

from backend.services import Services

# what arq keeps in Redis: the queue, job definitions, in-progress and retry markers, results, aborts
ARQ_KEYS = "arq:*"


async def clear_job_queue(queue: Any) -> None:
    """Drop every job and marker arq holds in this Redis database.

    The Redis database is shared by all tests of one process: without this, a job one test left
    deferred (a provisional footprint's follow-up, a retry of a batch that has not ended) would be
    run inside whichever later test works off the queue.
    """
    keys = [key async for key in queue.scan_iter(match=ARQ_KEYS, count=1000)]
    if keys:
        await queue.delete(*keys)


def job_worker(services: Services) -> Worker:
    """An arq worker with the platform's jobs on the services' own Redis pool; it is driven by
    :func:`work_off_queue`, never started with ``main()``."""
    from workers.jobs import FUNCTIONS

    return Worker(
        functions=FUNCTIONS,
        redis_pool=services.queue,
        burst=True,
        handle_signals=False,
        ctx={"services": services, "redis": services.queue},
        poll_delay=0.05,
        keep_result=0,
        log_results=False,
    )


async def work_off_queue(services: Services, *, horizon_s: float = 30.0) -> None:
    """Run the jobs that are due (or become due within ``horizon_s``) and return once none is left.

    The worker is driven one step at a time rather than through ``Worker.main()``: burst mode would
    wait for every job in the queue, deferred ones included (a follow-up deferred for hours), and
    cancelling ``main()`` mid-poll can leave it polling forever when the cancellation lands inside
    a Redis call. Here every started job is awaited to its end and nothing is cancelled. Jobs a run
    re-queues (a retry, a follow-up) are run too when they fall due within the horizon.
    """
    worker = job_worker(services)
    queue = services.queue
    while True:
        now_ms = time.time() * 1000
        due = await queue.zrangebyscore(worker.queue_name, "-inf", now_ms)
        if due:
            await worker.start_jobs(due)
            started = list(worker.tasks.values())
            worker.tasks.clear()
            for outcome in await asyncio.gather(*started, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome
            continue
        if await queue.zcount(worker.queue_name, now_ms, now_ms + horizon_s * 1000) == 0:
            return
        await asyncio.sleep(0.05)
