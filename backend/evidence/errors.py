"""Errors of the evidence domain."""

from backend.errors import DomainError, NotFound


class DocumentTooLarge(DomainError):
    code = "DOCUMENT_TOO_LARGE"


class ContentTypeRefused(DomainError):
    code = "CONTENT_TYPE_REFUSED"


class DocumentNotFound(NotFound):
    code = "DOCUMENT_NOT_FOUND"
