"""Errors of the site model."""

from backend.errors import Conflict, NotFound


class InstallationNotFound(NotFound):
    code = "INSTALLATION_NOT_FOUND"


class ProcessNotFound(NotFound):
    code = "PROCESS_NOT_FOUND"


class LineNotFound(NotFound):
    code = "LINE_NOT_FOUND"


class CodeTaken(Conflict):
    code = "CODE_TAKEN"
