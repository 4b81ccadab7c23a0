"""requests.remind: remind suppliers of open data requests whose due date is close, and on the day.

Each request gets at most one reminder of each kind (``backend.exchange.requests.send_reminders``), so the
job may run as often as wanted; it runs twice a day in case one run fails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.db import utcnow
from backend.exchange.requests import send_reminders


async def remind_due_requests(ctx: dict[str, Any], now: datetime | None = None) -> dict[str, int]:
    return await send_reminders(ctx["services"], now or utcnow())
