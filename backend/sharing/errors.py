"""Errors of sharing: grants and subscriptions."""

from backend.errors import NotFound, PermissionDenied


class GrantNotFound(NotFound):
    code = "GRANT_NOT_FOUND"


class NoLiveGrant(PermissionDenied):
    code = "NO_LIVE_GRANT"


class GrantKindExcludes(PermissionDenied):
    """Live grants exist, but none names this kind of data."""

    code = "GRANT_KIND_EXCLUDES"


class GrantInstallationExcludes(PermissionDenied):
    code = "GRANT_INSTALLATION_EXCLUDES"


class GrantPeriodExcludes(PermissionDenied):
    code = "GRANT_PERIOD_EXCLUDES"


class GrantScopeMissing(PermissionDenied):
    """The grant names the data, but the caller itself lacks the permission to read that kind."""

    code = "GRANT_SCOPE_MISSING"


class OrganizationNotFound(NotFound):
    code = "ORGANIZATION_NOT_FOUND"


class GrantContractExcludes(PermissionDenied):
    """A live contract-scoped grant exists, but not for this contract."""

    code = "GRANT_CONTRACT_EXCLUDES"


class GrantProductExcludes(PermissionDenied):
    """A live footprint grant exists, but it is limited to other products or CN codes."""

    code = "GRANT_PRODUCT_EXCLUDES"
