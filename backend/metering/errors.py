"""Errors of metering."""

from backend.errors import Conflict, NotFound


class MeterNotFound(NotFound):
    code = "METER_NOT_FOUND"


class MeterCodeTaken(Conflict):
    code = "METER_CODE_TAKEN"


class DeviceStillInstalled(Conflict):
    code = "DEVICE_STILL_INSTALLED"


class BatchNotFound(NotFound):
    code = "BATCH_NOT_FOUND"


class BatchNotQuarantined(Conflict):
    code = "BATCH_NOT_QUARANTINED"


class MeterRetired(Conflict):
    code = "METER_RETIRED"
