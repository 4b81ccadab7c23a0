"""Schema of a register map: the format of the built-in profile files and of inline `registers:`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.decoding import RegisterType, word_count

QUANTITIES: frozenset[str] = frozenset(
    {
        "active_energy_import",
        "active_energy_export",
        "reactive_energy_import",
        "reactive_energy_export",
        "active_power",
        "reactive_power",
        "apparent_power",
        "voltage_l1n",
        "voltage_l2n",
        "voltage_l3n",
        "current_l1",
        "current_l2",
        "current_l3",
        "current_total",
        "frequency",
        "power_factor",
        "gas_volume",
        "flow",
        "heat_energy",
        "water_volume",
        "temperature",
    }
)


def check_quantity(value: str) -> str:
    if value not in QUANTITIES:
        raise ValueError(f"unknown quantity {value!r}; expected one of: {', '.join(sorted(QUANTITIES))}")
    return value


class RegisterPoint(BaseModel):
    """One value in a Modbus register map. Addresses are PDU (0-based, as sent on the wire)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: str
    function_code: Literal[3, 4]
    address: int = Field(ge=0, le=65535)
    doc_ref: str | None = None
    type: RegisterType
    word_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    scale_factor_address: int | None = Field(default=None, ge=0, le=65535)
    unit: str = Field(min_length=1)
    sentinels: list[int] = Field(default_factory=list)
    kind: Literal["counter", "instantaneous"]
    meter: str | None = None
    description: str | None = None

    _check_quantity = field_validator("quantity")(check_quantity)

    @field_validator("type", "word_order", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        # Manuals write FLOAT32, Float32 or float32; all mean the same type.
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("doc_ref", mode="before")
    @classmethod
    def _doc_ref_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("scale")
    @classmethod
    def _scale_not_zero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("scale must not be 0")
        return value

    @model_validator(mode="after")
    def _fits_address_space(self) -> RegisterPoint:
        if self.address + word_count(self.type) > 65536:
            raise ValueError(f"a {self.type} at address {self.address} runs past register 65535")
        return self

    @property
    def words(self) -> int:
        return word_count(self.type)


class Profile(BaseModel):
    """A meter model's register map.

    For SunSpec profiles (`sunspec_model` set) addresses are offsets from the model's ID register,
    which is located by discovery at run time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    manufacturer: str | None = None
    source: str | None = None
    sunspec_model: int | None = None
    registers: dict[str, RegisterPoint] = Field(min_length=1)
