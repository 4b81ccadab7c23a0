"""The trusted GraphQL operation documents under graphql/operations, loaded by name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

OPERATIONS_DIR = Path(__file__).resolve().parent.parent / "graphql" / "operations"


@lru_cache
def all_operations() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(OPERATIONS_DIR.rglob("*.graphql"))}


def operation(name: str) -> str:
    return all_operations()[name]
