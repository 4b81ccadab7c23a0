"""Errors of developers' plants, PPA connections and settlement data."""

from backend.errors import Conflict, NotFound, PermissionDenied


class PlantNotFound(NotFound):
    code = "PLANT_NOT_FOUND"


class PlantNameTaken(Conflict):
    code = "PLANT_NAME_TAKEN"


class ConnectionNotFound(NotFound):
    code = "CONNECTION_NOT_FOUND"


class ConnectionNotActive(PermissionDenied):
    """The connection was declined, revoked or has ended (or is not yet accepted): nothing crosses it."""

    code = "CONNECTION_NOT_ACTIVE"


class ConnectionStateConflict(Conflict):
    code = "CONNECTION_STATE_CONFLICT"


class UploadNotFound(NotFound):
    code = "UPLOAD_NOT_FOUND"
