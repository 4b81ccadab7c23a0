"""Reading an uploaded file from a multipart form, with its size limit."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.datastructures import UploadFile

from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.ids import parse_uuid


async def read_upload(form: dict[str, Any], *, what: str, max_bytes: int) -> tuple[bytes, str, str]:
    """(content, file name, content type) of the form's ``file`` part; reads at most one byte past the limit."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed([FieldError(f"attach the {what} as 'file'", field="file")])
    return await upload.read(max_bytes + 1), upload.filename or "", upload.content_type or ""


def upload_installation(form: dict[str, Any], principal: Principal) -> uuid.UUID:
    """The installation a multipart upload names (``installation_id``), else the one its client is bound to."""
    installation = form.get("installation_id") or (str(principal.installation_id) if principal.installation_id else "")
    return parse_uuid(str(installation), "Installation", field="installation_id")
