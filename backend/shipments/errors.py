"""Errors of shipments. The field-level ones are collected with the other field errors of a shipment,
so that every reason it was refused comes back at once."""

from backend.errors import FieldError, NotFound


class ShipmentNotFound(NotFound):
    code = "SHIPMENT_NOT_FOUND"


class ShipmentReferenceTaken(FieldError):
    """A shipment, invoice or customs reference already recorded in this organisation."""

    code = "SHIPMENT_REFERENCE_TAKEN"
    kind = "conflict"


class BatchOverShipped(FieldError):
    """The shipment would take more from a batch than the batch's net output mass has left."""

    code = "BATCH_OVER_SHIPPED"
    kind = "conflict"
