"""PACT jobs: one attempt to deliver an answer to the requester's host, and the sweep that re-queues answers
whose job was lost."""

from __future__ import annotations

import uuid
from typing import Any

from arq import Retry

from backend.pact.callbacks import deliver_answer, sweep_overdue


async def deliver_pact_answer(ctx: dict[str, Any], answer_id: str, now: bool = False) -> None:
    """One attempt; a failed one re-queues this job for the next attempt (exponential back-off, 3 days)."""
    delay_s = await deliver_answer(ctx["services"], uuid.UUID(answer_id), now_=now)
    if delay_s is not None:
        raise Retry(defer=max(delay_s, 0.0))


async def sweep_pact_answers(ctx: dict[str, Any]) -> int:
    return await sweep_overdue(ctx["services"])
