"""arq worker settings: the jobs, their process pool, and the Redis connection."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from backend.logging import configure_logging
from backend.services import start_services
from backend.settings import get_settings
from workers.jobs import CRON_JOBS, FUNCTIONS


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings)
    # numpy work leaves the event loop through backend.offload (a worker thread), so that arq can
    # still time out a job and answer Redis while arrays are computed
    ctx["services"] = await start_services(settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["services"].close()


def redis_settings() -> RedisSettings:
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    job_timeout = 600
    keep_result = 60

    @staticmethod
    def redis_settings_factory() -> RedisSettings:
        return redis_settings()
