"""Errors of the verification workspace."""

from backend.errors import Conflict, NotFound, PermissionDenied


class EngagementNotFound(NotFound):
    """No engagement of the caller's organisation has this id (other organisations' look the same)."""

    code = "ENGAGEMENT_NOT_FOUND"


class EngagementState(Conflict):
    """The engagement's state does not allow this step (e.g. accepting an ended engagement)."""

    code = "ENGAGEMENT_STATE"


class NotOnTeam(PermissionDenied):
    """Only the people the exporter named on the verifier's team act in the engagement."""

    code = "NOT_ON_VERIFICATION_TEAM"


class ExtensionNotFound(NotFound):
    code = "EXTENSION_NOT_FOUND"


class SampleItemNotFound(NotFound):
    code = "SAMPLE_ITEM_NOT_FOUND"


class FindingNotFound(NotFound):
    code = "FINDING_NOT_FOUND"


class FindingState(Conflict):
    code = "FINDING_STATE"


class StatementInvalid(Exception):
    """A statement that does not verify: its signature, its key or its form (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
