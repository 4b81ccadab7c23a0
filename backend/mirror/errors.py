"""Errors of the mirror checks: a document that cannot be judged names every field at fault."""

from __future__ import annotations

from backend.errors import FieldError, ValidationFailed


class FootprintDocumentInvalid(ValidationFailed):
    """The published footprint document lacks a field the checks need, or holds a value of the wrong kind.

    ``errors`` holds one :class:`~backend.errors.FieldError` per field, its ``field`` the dotted path in
    the document (``specificEmissions.direct``, ``electricity.sources[2].share``).
    """

    code = "FOOTPRINT_DOCUMENT_INVALID"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors)


class MirrorContextInvalid(FieldError):
    """The context given to the checks is unusable (e.g. a check time without a time zone)."""

    code = "MIRROR_CONTEXT_INVALID"
