"""Aluminium extrusion plant simulator (Modbus TCP gateway + OPC UA server)."""

from connectors.simulator.modbus_server import MODBUS_LAYOUT, MeterLayout
from connectors.simulator.opcua_server import NAMESPACE_URI, OPCUA_MACHINES
from connectors.simulator.plant import MeterState, PlantModel
from connectors.simulator.runner import PlantSimulator, free_port

__all__ = [
    "MODBUS_LAYOUT",
    "NAMESPACE_URI",
    "OPCUA_MACHINES",
    "MeterLayout",
    "MeterState",
    "PlantModel",
    "PlantSimulator",
    "free_port",
]
