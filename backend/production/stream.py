"""The body an MES posts when a batch closes (JSON), decoded into the row every way in checks."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import msgspec

from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.identity.principal import Principal
from backend.production.schemas import BatchRow, PrecursorData

MAX_BODY_BYTES = 256 * 1024
_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class StreamedPrecursor(msgspec.Struct, forbid_unknown_fields=True):
    mass_t: float
    cn_code: str = ""
    description: str = ""
    supplier_installation: str = ""
    supplier_installation_id: str = ""
    embedded_tco2e_per_t: float | None = None
    emissions_source: str = ""


class StreamedBatch(msgspec.Struct, forbid_unknown_fields=True):
    batch_number: str
    product: str
    started_at: datetime
    ended_at: datetime
    net_mass_t: float
    line: str = ""
    process: str = ""
    alloy: str = ""
    scrap_t: float = 0.0
    order_ref: str = ""
    shipment_ref: str = ""
    precursors: list[StreamedPrecursor] = msgspec.field(default_factory=list)
    # needed unless the client is bound to one installation
    installation_id: str | None = None


def decode_batch(body: bytes) -> StreamedBatch:
    """The posted batch, or a 422 naming the field (``$.precursors[0].mass_t`` -> ``precursors.0.mass_t``)."""
    if len(body) > MAX_BODY_BYTES:
        raise ValidationFailed([FieldError(f"the body exceeds {MAX_BODY_BYTES} bytes: post one batch", field="body")])
    try:
        batch = msgspec.json.decode(body, type=StreamedBatch)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT_PATH.search(message)
        path = match.group("path") if match else ""
        field = re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".") or "body"
        raise ValidationFailed([FieldError(_AT_PATH.sub("", message), field=field)]) from None
    except msgspec.DecodeError as exc:
        raise ValidationFailed([FieldError(f"not valid JSON: {exc}", field="body")]) from None
    errors = [
        FieldError("a time with its UTC offset, e.g. 2026-11-03T06:00:00Z", field=name)
        for name, value in (("started_at", batch.started_at), ("ended_at", batch.ended_at))
        if value.tzinfo is None
    ]
    if errors:
        raise ValidationFailed(errors)
    return batch


def require_stream_client(principal: Principal) -> None:
    """Only a machine client with the production:write scope posts batches here."""
    if principal.kind != "client":
        raise PermissionDenied("this endpoint is for an MES machine client (OAuth2 client credentials)")
    principal.require("production:write")


def installation_of(principal: Principal, batch: StreamedBatch) -> uuid.UUID:
    from backend.ids import parse_uuid

    if principal.installation_id is not None:
        return principal.installation_id
    if not batch.installation_id:
        raise ValidationFailed(
            [FieldError("name the installation (the client is bound to none)", field="installation_id")]
        )
    return parse_uuid(batch.installation_id, "Installation", field="installation_id")


def row_of(batch: StreamedBatch) -> BatchRow:
    return BatchRow(
        batch_number=batch.batch_number,
        product=batch.product,
        started_at=batch.started_at,
        ended_at=batch.ended_at,
        net_mass_t=batch.net_mass_t,
        line=batch.line,
        process=batch.process,
        alloy=batch.alloy,
        scrap_t=batch.scrap_t,
        order_ref=batch.order_ref,
        shipment_ref=batch.shipment_ref,
        precursors=tuple(
            PrecursorData(
                mass_t=p.mass_t,
                cn_code=p.cn_code,
                description=p.description,
                supplier_installation=p.supplier_installation,
                supplier_installation_id=p.supplier_installation_id,
                embedded_tco2e_per_t=p.embedded_tco2e_per_t,
                emissions_source=p.emissions_source,
            )
            for p in batch.precursors
        ),
    )
