"""The owner's database handle: provisioning and migrations in tests, as `cbamx migrate` and
`cbamx tenant create` do (the application itself runs as the runtime role)."""

from __future__ import annotations

import os

from backend.db import Database

_owner: Database | None = None


def owner_db() -> Database:
    global _owner
    if _owner is None:
        _owner = Database.connect(os.environ["DATABASE_URL"], pool_size=2)
    return _owner


async def dispose_owner_db() -> None:
    global _owner
    if _owner is not None:
        await _owner.dispose()
        _owner = None
