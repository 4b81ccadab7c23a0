"""Reading an uploaded file from a multipart form, with its size limit."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import UploadFile

from backend.errors import FieldError, ValidationFailed


async def read_upload(form: dict[str, Any], *, what: str, max_bytes: int) -> tuple[bytes, str, str]:
    """(content, file name, content type) of the form's ``file`` part; reads at most one byte past the limit."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed([FieldError(f"attach the {what} as 'file'", field="file")])
    return await upload.read(max_bytes + 1), upload.filename or "", upload.content_type or ""
