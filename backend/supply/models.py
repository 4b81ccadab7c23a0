"""Electricity supply contracts of an exporter (tenant schema): grid supply, PPA, direct technical
link, own generation; the meters and grid connection points each delivers through, and its evidence.

One table holds every kind; the columns a kind does not use stay empty, and the service checks
per kind which ones it needs.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, str_enum, utcnow


class ContractKind(enum.StrEnum):
    GRID = "grid"  # supply from the public grid through a supplier
    PPA = "ppa"  # power purchase agreement with a generator
    DIRECT_LINK = "direct_link"  # a direct technical link to a generator
    OWN_GENERATION = "own_generation"  # the installation's own generator


class PpaSettlement(enum.StrEnum):
    PHYSICAL = "physical"
    FINANCIAL = "financial"  # virtual: settles the price difference only


class DeliveryShape(enum.StrEnum):
    PAY_AS_PRODUCED = "pay_as_produced"
    BASELOAD = "baseload"
    SHAPED = "shaped"


class BalancingResponsibility(enum.StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    SUPPLIER = "supplier"  # a licensed supplier or trader in between (Serbia: the rule)


class PlantTechnology(enum.StrEnum):
    SOLAR_PV = "solar_pv"
    WIND_ONSHORE = "wind_onshore"
    WIND_OFFSHORE = "wind_offshore"
    HYDRO_RUN_OF_RIVER = "hydro_run_of_river"
    HYDRO_RESERVOIR = "hydro_reservoir"
    BIOMASS = "biomass"
    BIOGAS = "biogas"
    GEOTHERMAL = "geothermal"
    NATURAL_GAS = "natural_gas"
    COAL = "coal"
    OIL = "oil"
    CHP_GAS = "chp_gas"
    OTHER = "other"


FOSSIL_TECHNOLOGIES = frozenset(
    {PlantTechnology.NATURAL_GAS, PlantTechnology.COAL, PlantTechnology.OIL, PlantTechnology.CHP_GAS}
)


class DocumentRole(enum.StrEnum):
    CONTRACT = "contract"  # the supply contract / PPA itself
    TRIPARTITE_CONTRACT = "tripartite_contract"  # the single contract of the three parties (intermediary)
    GRID_CONNECTION = "grid_connection"  # TSO/authority evidence of the physical grid connection
    SINGLE_LINE_DIAGRAM = "single_line_diagram"
    OFFTAKE_AGREEMENT = "offtake_agreement"  # several generators/installations on one link, or intra-company
    SUPPLIER_DISCLOSURE = "supplier_disclosure"  # the supplier's fuel-mix / factor disclosure
    INVOICE = "invoice"
    METER_DATA = "meter_data"
    OTHER = "other"


class SupplyContract(TenantBase):
    __tablename__ = "supply_contracts"
    __table_args__ = (
        UniqueConstraint("installation_id", "reference"),
        CheckConstraint("period_end IS NULL OR period_end > period_start", name="period_order"),
        CheckConstraint("capacity_kw IS NULL OR capacity_kw > 0", name="capacity_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[ContractKind] = mapped_column(str_enum(ContractKind))
    reference: Mapped[str] = mapped_column(String(64))  # the contract number, unique per installation
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime | None]  # open-ended grid supply
    # the other party: the supplier (grid), the PPA counterparty, the generator's owner (direct link)
    counterparty: Mapped[str] = mapped_column(String(200), default="")
    # grid supply: the supplier-specific factor in the factor library (EmissionFactor.id)
    supplier_factor_id: Mapped[uuid.UUID | None]
    # PPA: an intermediary (licensed supplier or trader), if any
    intermediary: Mapped[str] = mapped_column(String(200), default="")
    settlement: Mapped[PpaSettlement | None] = mapped_column(str_enum(PpaSettlement))
    delivery_shape: Mapped[DeliveryShape | None] = mapped_column(str_enum(DeliveryShape))
    contracted_volume_mwh: Mapped[float | None] = mapped_column(Float)
    balancing_responsibility: Mapped[BalancingResponsibility | None] = mapped_column(str_enum(BalancingResponsibility))
    # the generating plant (PPA, direct link, own generation)
    plant_name: Mapped[str] = mapped_column(String(200), default="")
    technology: Mapped[PlantTechnology | None] = mapped_column(str_enum(PlantTechnology))
    capacity_kw: Mapped[float | None] = mapped_column(Float)
    commissioning_date: Mapped[date | None] = mapped_column(Date)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    plant_country: Mapped[str | None] = mapped_column(String(2))
    bidding_zone: Mapped[str | None] = mapped_column(String(32))
    # the generator's own meter in this tenant (direct link, own generation, or a PPA metered on site)
    generator_meter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"))
    # own generation: the fuel, if the generator burns one
    fuel: Mapped[str] = mapped_column(String(120), default="")
    # direct link: several generators or installations share the link (needs an off-take contract)
    shared_link: Mapped[bool] = mapped_column(default=False)
    # the counterparty is the same legal entity (needs an intra-company off-take agreement)
    same_legal_entity: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContractDeliveryPoint(TenantBase):
    """A meter or a grid connection point a contract delivers through (exactly one of the two)."""

    __tablename__ = "supply_contract_delivery_points"
    __table_args__ = (
        CheckConstraint("(meter_id IS NULL) <> (grid_connection_point_id IS NULL)", name="one_target"),
        UniqueConstraint("contract_id", "meter_id"),
        UniqueConstraint("contract_id", "grid_connection_point_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("supply_contracts.id", ondelete="CASCADE"), index=True)
    meter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"))
    grid_connection_point_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("grid_connection_points.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContractDocument(TenantBase):
    """An evidence document of a contract, in a role; linked by the document and its hash."""

    __tablename__ = "supply_contract_documents"
    __table_args__ = (
        UniqueConstraint("contract_id", "document_id", "role"),
        Index("ix_supply_contract_documents_sha256", "sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("supply_contracts.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[DocumentRole] = mapped_column(str_enum(DocumentRole))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
