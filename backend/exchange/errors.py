"""Errors of the exchange: publishing, the directory, connections and shares."""

from backend.errors import Conflict, NotFound, PermissionDenied


class FootprintVersionNotFound(NotFound):
    code = "FOOTPRINT_VERSION_NOT_FOUND"


class AlreadyPublished(Conflict):
    """This footprint version has been published before; a publication is made once."""

    code = "FOOTPRINT_VERSION_ALREADY_PUBLISHED"


class NewerVersionPublished(Conflict):
    """A newer footprint version of the same product, installation and period is published already."""

    code = "NEWER_FOOTPRINT_VERSION_PUBLISHED"


class PublicationNotFound(NotFound):
    code = "PUBLISHED_FOOTPRINT_NOT_FOUND"


class NotAnExporter(PermissionDenied):
    code = "NOT_AN_EXPORTER"


class NotAnImporter(PermissionDenied):
    code = "NOT_AN_IMPORTER"


class SupplierNotListed(NotFound):
    """No listed supplier with this id: unlisted organisations are not reachable through the directory."""

    code = "SUPPLIER_NOT_LISTED"


class ConnectionNotFound(NotFound):
    code = "CONNECTION_NOT_FOUND"


class ConnectionStateConflict(Conflict):
    """The connection is not in a state that allows this step (for example, accepting an ended one)."""

    code = "CONNECTION_STATE_CONFLICT"


class ConnectionExists(Conflict):
    """A connection between the two organisations is requested or active already."""

    code = "CONNECTION_EXISTS"


class NotConnected(PermissionDenied):
    """Footprints are shared only with a customer whose connection is active."""

    code = "NOT_CONNECTED"


class ShareNotFound(NotFound):
    code = "SHARE_NOT_FOUND"


class DirectoryEntryNotFound(NotFound):
    code = "DIRECTORY_ENTRY_NOT_FOUND"


class MirrorEscalationNotFound(NotFound):
    code = "MIRROR_ESCALATION_NOT_FOUND"


class MirrorEscalationClosed(Conflict):
    """The escalation is resolved or accepted already: nothing more is asked or decided about it."""

    code = "MIRROR_ESCALATION_CLOSED"


class FootprintQuestionNotFound(NotFound):
    code = "FOOTPRINT_QUESTION_NOT_FOUND"


class FootprintQuestionAnswered(Conflict):
    """The question has its answer already; a further one is a new question."""

    code = "FOOTPRINT_QUESTION_ANSWERED"


class RequestNotFound(NotFound):
    code = "FOOTPRINT_REQUEST_NOT_FOUND"


class RequestStateConflict(Conflict):
    """The request is not in a state that allows this step (for example, fulfilling a cancelled one)."""

    code = "FOOTPRINT_REQUEST_STATE_CONFLICT"
