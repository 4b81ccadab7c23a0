"""Errors of the emission factor library: each names exactly what is missing or wrong."""

from __future__ import annotations

from datetime import date

from backend.errors import Conflict, FieldError, NotFound


class FactorMissing(NotFound):
    """No factor of the kind is valid for the subject on the date, and the rule names no fallback (or the
    fallback is missing too). The message says which kind, which subject and which date."""

    code = "FACTOR_MISSING"

    def __init__(self, message: str, *, kind: str, subject: str, on: date, tried: list[str]) -> None:
        super().__init__(message, field="subject", kind=kind, subject=subject, on=on.isoformat(), tried=tried)


class FactorOutOfScope(FieldError):
    """The subject is outside CBAM for this kind (e.g. the grid of an EU member state): no factor applies."""

    code = "FACTOR_OUT_OF_SCOPE"


class FactorNotFound(NotFound):
    code = "FACTOR_NOT_FOUND"


class FactorOverlaps(Conflict):
    """Another version of the same factor is valid on some of the same dates: supersede it instead."""

    code = "FACTOR_OVERLAPS"


class FactorNotSupersedable(Conflict):
    """A published factor, or a version already superseded, cannot be superseded by a tenant."""

    code = "FACTOR_NOT_SUPERSEDABLE"


class DisclosureMissing(NotFound):
    """The evidence document named as a supplier's disclosure does not exist in the organisation."""

    code = "DISCLOSURE_NOT_FOUND"
