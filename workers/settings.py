"""arq worker settings: the jobs, their process pool, and the Redis connection."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from arq.connections import RedisSettings

from backend.logging import configure_logging
from backend.services import start_services
from backend.settings import get_settings
from workers.jobs import CRON_JOBS, FUNCTIONS


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings)
    ctx["services"] = await start_services(settings)
    # numpy work runs here, never on the event loop (arq cannot time out a blocked loop)
    ctx["pool"] = ProcessPoolExecutor(max_workers=2)


async def shutdown(ctx: dict[str, Any]) -> None:
    ctx["pool"].shutdown(wait=False, cancel_futures=True)
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
