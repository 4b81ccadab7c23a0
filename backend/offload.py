"""The one way blocking work (numpy, hashing, file and S3 I/O) leaves the event loop: a worker thread.

numpy releases the GIL in its inner loops, so a thread keeps the loop answering while the arrays
are computed, without pickling them to another process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread

P = ParamSpec("P")
T = TypeVar("T")


async def off_loop(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(*args, **kwargs)`` in a worker thread and await its result."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
