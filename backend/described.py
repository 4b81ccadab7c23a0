"""Descriptions on domain dataclass fields, written once and read by every edge that shows them."""

from __future__ import annotations


def doc(text: str) -> dict[str, str]:
    """Field metadata with its description: ``field(metadata=doc("..."))``, read by the GraphQL types."""
    return {"doc": text}
