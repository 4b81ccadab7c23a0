"""Errors of the certificates domain."""

from backend.errors import Conflict, NotFound


class CertificateNotFound(NotFound):
    code = "CERTIFICATE_NOT_FOUND"


class CertificateNotActive(Conflict):
    """Only an active certificate may be split, transferred or cancelled."""

    code = "CERTIFICATE_NOT_ACTIVE"


class CertificateExpired(Conflict):
    code = "CERTIFICATE_EXPIRED"


class CertificateNotCancelled(Conflict):
    """Only a cancelled certificate (with its statement) may back a claim."""

    code = "CERTIFICATE_NOT_CANCELLED"


class IdentifiersAlreadyHeld(Conflict):
    """The organisation already records some of these identifiers (same scheme and issuing body)."""

    code = "CERTIFICATE_IDENTIFIERS_HELD"


class RangeAlreadyClaimed(Conflict):
    """Some identifiers of the range already back a claim on the exchange; whose is never said."""

    code = "CERTIFICATE_RANGE_ALREADY_CLAIMED"


class ClaimOutsideStatement(Conflict):
    """A claim's period must lie inside the consumption period of the cancellation statement."""

    code = "CLAIM_OUTSIDE_STATEMENT"


class ContractNotShared(NotFound):
    """No live contract grant lets the caller read this contract's certificates."""

    code = "CONTRACT_NOT_SHARED"
