"""Errors of the identity domain."""

from backend.errors import Conflict, DomainError, NotFound, Unauthenticated


class InvalidCredentials(Unauthenticated):
    code = "INVALID_CREDENTIALS"


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"


class ClientNotFound(NotFound):
    code = "CLIENT_NOT_FOUND"


class InvitationInvalid(DomainError):
    code = "INVITATION_INVALID"


class SessionExpired(Unauthenticated):
    code = "SESSION_EXPIRED"


class NotAMember(Unauthenticated):
    code = "NOT_A_MEMBER"
