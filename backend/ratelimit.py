"""Fixed-window rate limits in Redis, shared by every API process."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from backend.errors import RateLimited


async def hit(redis: Redis, key: str, *, limit: int, window_s: int = 60) -> None:
    """Count one attempt; raise ``RateLimited`` once ``limit`` attempts fall in the current window."""
    window = int(time.time() // window_s)
    redis_key = f"ratelimit:{key}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_s + 1)
        count, _ = await pipe.execute()
    if int(count) > limit:
        retry = window_s - int(time.time() % window_s)
        raise RateLimited("too many attempts; try again shortly", retry_after_s=max(retry, 1))
