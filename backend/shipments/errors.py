"""Errors of shipments."""

from backend.errors import Conflict, NotFound


class ShipmentNotFound(NotFound):
    code = "SHIPMENT_NOT_FOUND"


class ShipmentReferenceTaken(Conflict):
    """A shipment, invoice or customs reference already recorded in this organisation."""

    code = "SHIPMENT_REFERENCE_TAKEN"


class BatchOverShipped(Conflict):
    """The shipment would take more from a batch than the batch's net output mass left."""

    code = "BATCH_OVER_SHIPPED"
