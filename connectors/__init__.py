"""On-site connector agent: reads plant meters and forwards interval readings to cbamx."""

__version__ = "0.1.0"
