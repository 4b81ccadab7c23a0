"""Field types for request bodies: the size a column can hold and no NUL characters, checked at
the edge so that a refusal names the field and its limit before anything reaches the database."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# sizes of the columns these fields end up in (platform.users, platform.tenants, ...)
EMAIL_MAX = 320
NAME_MAX = 200
SLUG_MAX = 63
SECRET_MAX = 1024  # passwords and tokens: enough for any pass phrase, bounded for the hash function


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Email = Annotated[str, StringConstraints(max_length=EMAIL_MAX), AfterValidator(refuse_nul)]
Name = Annotated[str, StringConstraints(max_length=NAME_MAX), AfterValidator(refuse_nul)]
Slug = Annotated[str, StringConstraints(max_length=SLUG_MAX), AfterValidator(refuse_nul)]
Secret = Annotated[str, StringConstraints(max_length=SECRET_MAX), AfterValidator(refuse_nul)]
