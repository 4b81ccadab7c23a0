"""Log setup for the command line: key/value lines for people, JSON lines for log shippers."""

from __future__ import annotations

import logging
import sys
from typing import Literal

LogFormat = Literal["console", "json"]

# Library loggers that are chatty about conditions the agent already reports per device.
_QUIET = {
    "pymodbus": logging.CRITICAL,
    "asyncua": logging.ERROR,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}


def configure_logging(level: str = "info", fmt: LogFormat = "console") -> None:
    import structlog

    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        processor=renderer,
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, quiet_level in _QUIET.items():
        logging.getLogger(name).setLevel(quiet_level)
