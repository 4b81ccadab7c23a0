"""Errors of supply contracts."""

from backend.errors import Conflict, NotFound


class ContractNotFound(NotFound):
    code = "CONTRACT_NOT_FOUND"


class ContractReferenceTaken(Conflict):
    code = "CONTRACT_REFERENCE_TAKEN"
