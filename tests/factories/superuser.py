"""Statements run behind the application's back, as the database superuser (tampering, clock moves)."""

from __future__ import annotations

import os
from typing import Any

import asyncpg


async def superuser_execute(sql: str, *args: Any) -> str:
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        return await conn.execute(sql, *args)  # type: ignore[no-any-return]
    finally:
        await conn.close()


async def superuser_fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        return await conn.fetch(sql, *args)  # type: ignore[no-any-return]
    finally:
        await conn.close()
