"""GraphQL of the emission factor library: browse, look one up, select by rule, add the organisation's own."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import (
    Connection,
    GrantorArg,
    NodeRef,
    Page,
    decode_cursor,
    grantor_uuid,
    node_uuid,
    page_size,
    to_connection,
)
from backend.errors import FieldError, ValidationFailed
from backend.evidence.gql import EvidenceDocument
from backend.factors import models, service
from backend.factors.loaders import documents_by_id
from backend.factors.schemas import (
    Factor,
    FactorFilter,
    FuelDensityData,
    FuelUse,
    OwnGenerationData,
    Selection,
    Source,
    SupplierFactorData,
)
from backend.identity.principal import Principal
from backend.ids import parse_key
from backend.supply.shared import read_factors

EmissionFactorKind = strawberry.enum(
    models.FactorKind,
    name="EmissionFactorKind",
    description="What a factor is: a published default or standard value, or the organisation's own.",
)
# the types of other domains whose ids name a factor's subject
CONTRACT_TYPES = ("SupplyContract",)
GENERATOR_TYPES = ("GenerationPlant", "SupplyContract")


@strawberry.type(description="Where a factor's value comes from.")
class FactorProvenance:
    document: str = strawberry.field(
        description="The document, e.g. Commission Implementing Regulation (EU) 2025/2621."
    )
    table: str = strawberry.field(description="The table or section in it.")
    date: date | None = strawberry.field(description="The document's date.")
    url: str | None = strawberry.field(description="Where to read it, if public.")
    licence_note: str = strawberry.field(description="Terms of use of the values.")
    edition: str | None = strawberry.field(description="The packaged data edition a published factor was seeded from.")


@strawberry.type(description="One version of an emission factor, valid over [validFrom, validTo).")
class EmissionFactor(relay.Node):
    id: relay.NodeID[str]
    kind: EmissionFactorKind = strawberry.field(description="What the factor is.")  # type: ignore[valid-type]
    subject: str = strawberry.field(
        description="What it applies to: a country code, a fuel code, 'CN code|country', a contract or generator id."
    )
    subject_label: str = strawberry.field(description="The subject in words.")
    version: int = strawberry.field(description="Version of this factor for its subject (1, 2, ...).")
    value: Decimal = strawberry.field(description="The value, in `unit`.")
    unit: str = strawberry.field(description="tCO2e/MWh, tCO2/TJ, TJ/t, tCO2e/t or 1.")
    valid_from: date = strawberry.field(description="First day it applies.")
    valid_to: date | None = strawberry.field(description="First day it no longer applies; null: until superseded.")
    provenance: FactorProvenance = strawberry.field(description="Document, table, date, URL and licence note.")
    notes: str = strawberry.field(description="Caveats.")
    formula: str | None = strawberry.field(description="How a computed factor was computed.")
    parameters: JSON = strawberry.field(description="Inputs of a computed factor; base value and mark-up of a default.")
    published: bool = strawberry.field(description="True: published for everyone; false: the organisation's own.")
    evidence_sha256: str | None = strawberry.field(description="SHA-256 of the disclosure or evidence document.")
    created_at: datetime = strawberry.field(description="When this version was stored.")
    supersedes: relay.GlobalID | None = strawberry.field(description="The version this one superseded.")
    _document_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The supplier's disclosure or the generation evidence, if any.")
    async def evidence_document(self, info: strawberry.Info[Context, None]) -> EvidenceDocument | None:
        if self._document_id is None:
            return None
        loader = info.context.loader("factor_documents_by_id", documents_by_id)
        rows = await loader.load(self._document_id)
        return EvidenceDocument.of(rows[0]) if rows else None

    @classmethod
    def of(cls, f: Factor, *, shared: bool = False) -> EmissionFactor:
        node = cls(
            id=str(f.id),
            kind=f.kind,
            subject=f.subject,
            subject_label=f.subject_label,
            version=f.version,
            value=f.value,
            unit=f.unit,
            valid_from=f.valid_from,
            valid_to=f.valid_to,
            provenance=FactorProvenance(
                document=f.provenance.document,
                table=f.provenance.table,
                date=f.provenance.date,
                url=f.provenance.url,
                licence_note=f.provenance.licence_note,
                edition=f.provenance.edition,
            ),
            notes=f.notes,
            formula=f.formula,
            parameters=f.parameters,
            published=f.published,
            evidence_sha256=f.evidence_sha256,
            created_at=f.created_at,
            supersedes=relay.GlobalID("EmissionFactor", str(f.supersedes_id)) if f.supersedes_id else None,
        )
        # read through a grant: the evidence is named by its hash (the document itself through sharedEvidence)
        node._document_id = None if shared else f.evidence_document_id
        return node


@strawberry.type(description="The factor a rule chose for a subject on a date, and how.")
class EmissionFactorSelection:
    factor: EmissionFactor = strawberry.field(description="The factor chosen.")
    rule: str = strawberry.field(description="The rule applied, with its source.")
    requested_subject: str = strawberry.field(description="The subject asked for, as normalised.")
    on: date = strawberry.field(description="The date asked for.")
    fallback: str | None = strawberry.field(description="The fallback the rule used, in words; null: none.")

    @classmethod
    def of(cls, s: Selection) -> EmissionFactorSelection:
        return cls(
            factor=EmissionFactor.of(s.factor),
            rule=s.rule,
            requested_subject=s.requested_subject,
            on=s.on,
            fallback=s.fallback,
        )


@strawberry.input(description="Which factors to list; every field narrows the list.")
class EmissionFactorFilter:
    kind: EmissionFactorKind | None = None  # type: ignore[valid-type]
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2 code (grid, goods).")
    fuel: str | None = strawberry.field(default=None, description="Fuel code, e.g. natural_gas.")
    cn_code: str | None = strawberry.field(default=None, description="CN code or its start (goods defaults).")
    subject: str | None = strawberry.field(default=None, description="Exact subject key.")
    valid_on: date | None = strawberry.field(default=None, description="Only versions valid on this day.")
    search: str | None = strawberry.field(default=None, description="Words in subject, label, source or notes.")
    published: bool | None = strawberry.field(default=None, description="True: published only; false: own only.")

    def to_filter(self) -> FactorFilter:
        return FactorFilter(
            kind=self.kind,
            country=self.country,
            fuel=self.fuel,
            cn_code=self.cn_code,
            subject=self.subject,
            valid_on=self.valid_on,
            search=self.search,
            published=self.published,
        )


@strawberry.input(description="A supplier-specific factor of a grid supply contract, with the supplier's disclosure.")
class AddSupplierEmissionFactorInput:
    contract_id: NodeRef = strawberry.field(description="The supply contract (its id).")
    value: Decimal = strawberry.field(description="The factor [tCO2e/MWh].")
    valid_from: date = strawberry.field(description="First day it applies.")
    disclosure_document_id: NodeRef = strawberry.field(description="The supplier's disclosure (evidence document).")
    valid_to: date | None = strawberry.field(default=None, description="First day it no longer applies.")
    supplier: str = strawberry.field(default="", description="The supplier's name.")
    source_document: str = strawberry.field(default="", description="The disclosure's name; default: its title.")
    source_table: str = strawberry.field(default="", description="Where in it, e.g. 'Fuel mix disclosure 2025'.")
    source_date: date | None = strawberry.field(default=None, description="The disclosure's date.")
    source_url: str | None = strawberry.field(default=None, description="Where it is published.")
    licence_note: str = strawberry.field(default="", description="Terms of use.")
    notes: str = strawberry.field(default="", description="Caveats.")
    supersedes: NodeRef | None = strawberry.field(default=None, description="The version this one replaces.")

    def to_data(self) -> SupplierFactorData:
        return SupplierFactorData(
            contract_id=node_uuid(self.contract_id, *CONTRACT_TYPES, field="contractId"),
            value=self.value,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            disclosure_document_id=node_uuid(
                self.disclosure_document_id, "EvidenceDocument", field="disclosureDocumentId"
            ),
            supplier=self.supplier,
            source=Source(
                document=self.source_document,
                table=self.source_table,
                date=self.source_date,
                url=self.source_url,
                licence_note=self.licence_note,
                notes=self.notes,
            ),
            supersedes_id=node_uuid(self.supersedes, "EmissionFactor", field="supersedes") if self.supersedes else None,
        )


@strawberry.input(description="A fuel's density from its supplier (or measured), to convert metered volume to tonnes.")
class AddFuelDensityInput:
    fuel: str = strawberry.field(description="Fuel code, e.g. natural_gas.")
    value: Decimal = strawberry.field(description="Density [t/m3] at the meters' reference conditions.")
    valid_from: date = strawberry.field(description="First day it applies.")
    valid_to: date | None = strawberry.field(default=None, description="First day it no longer applies.")
    supplier: str = strawberry.field(default="", description="The fuel supplier's name.")
    source_document: str = strawberry.field(
        default="", description="The document it comes from, e.g. the gas quality certificate; default: its title."
    )
    evidence_document_id: NodeRef | None = strawberry.field(default=None, description="That document as evidence.")
    source_table: str = strawberry.field(default="", description="Where in it.")
    source_date: date | None = strawberry.field(default=None, description="The document's date.")
    source_url: str | None = strawberry.field(default=None, description="Where it is published.")
    licence_note: str = strawberry.field(default="", description="Terms of use.")
    notes: str = strawberry.field(default="", description="Caveats, e.g. the reference conditions.")
    supersedes: NodeRef | None = strawberry.field(default=None, description="The version this one replaces.")

    def to_data(self) -> FuelDensityData:
        return FuelDensityData(
            fuel=self.fuel,
            value=self.value,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            supplier=self.supplier,
            source=Source(
                document=self.source_document,
                table=self.source_table,
                date=self.source_date,
                url=self.source_url,
                licence_note=self.licence_note,
                notes=self.notes,
            ),
            evidence_document_id=node_uuid(self.evidence_document_id, "EvidenceDocument", field="evidenceDocumentId")
            if self.evidence_document_id
            else None,
            supersedes_id=node_uuid(self.supersedes, "EmissionFactor", field="supersedes") if self.supersedes else None,
        )


@strawberry.input(description="A fuel burnt for own generation; NCV, EF and oxidation factor default to the library's.")
class FuelUseInput:
    fuel: str = strawberry.field(description="Fuel code, e.g. natural_gas.")
    quantity_t: Decimal = strawberry.field(description="Quantity burnt [t].")
    ncv_tj_per_t: Decimal | None = strawberry.field(default=None, description="Measured NCV [TJ/t].")
    ef_t_per_tj: Decimal | None = strawberry.field(default=None, description="Measured EF [tCO2/TJ].")
    oxidation_factor: Decimal | None = strawberry.field(default=None, description="Measured oxidation factor.")
    waste_gas: bool = strawberry.field(default=False, description="A waste gas (its EF is capped at 56.1).")


@strawberry.input(description="The monitored inputs of Eq. 38 for one generator of the installation.")
class ComputeOwnGenerationFactorInput:
    generator_id: NodeRef = strawberry.field(description="The generator (plant or own-generation contract).")
    fuels: list[FuelUseInput] = strawberry.field(description="Fuels burnt over the period.")
    net_generation_mwh: Decimal = strawberry.field(description="Net electricity produced over the period [MWh].")
    period_start: date = strawberry.field(description="First day of the monitoring period.")
    period_end: date = strawberry.field(description="Day after the monitoring period.")
    valid_from: date = strawberry.field(description="First day the factor applies.")
    valid_to: date | None = strawberry.field(default=None, description="First day it no longer applies.")
    flue_gas_cleaning_t: Decimal = strawberry.field(default=Decimal("0"), description="Em_FGC [tCO2].")
    evidence_document_id: NodeRef | None = strawberry.field(default=None, description="The monitoring evidence.")
    notes: str = strawberry.field(default="", description="Caveats.")
    supersedes: NodeRef | None = strawberry.field(default=None, description="The version this one replaces.")

    def to_data(self) -> OwnGenerationData:
        return OwnGenerationData(
            generator_id=node_uuid(self.generator_id, *GENERATOR_TYPES, field="generatorId"),
            fuels=[
                FuelUse(f.fuel, f.quantity_t, f.ncv_tj_per_t, f.ef_t_per_tj, f.oxidation_factor, f.waste_gas)
                for f in self.fuels
            ],
            net_generation_mwh=self.net_generation_mwh,
            period_start=self.period_start,
            period_end=self.period_end,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            flue_gas_cleaning_t=self.flue_gas_cleaning_t,
            evidence_document_id=(
                node_uuid(self.evidence_document_id, "EvidenceDocument", field="evidenceDocumentId")
                if self.evidence_document_id
                else None
            ),
            notes=self.notes,
            supersedes_id=node_uuid(self.supersedes, "EmissionFactor", field="supersedes") if self.supersedes else None,
        )


@strawberry.type(description="The stored factor, or why nothing was stored.")
class EmissionFactorPayload:
    emission_factor: EmissionFactor | None = strawberry.field(description="The new version.")
    errors: list[UserError] = strawberry.field(description="Why nothing was stored.")


def _subject(kind: models.FactorKind, subject: str) -> str:
    """A contract's or generator's global id given as the subject is read as its UUID."""
    if kind == models.FactorKind.SUPPLIER_SPECIFIC:
        return parse_key(subject, *CONTRACT_TYPES, field="subject")
    if kind == models.FactorKind.OWN_GENERATION:
        return parse_key(subject, *GENERATOR_TYPES, field="subject")
    return subject


@strawberry.type
class FactorQuery:
    @strawberry.field(description="Emission factors, published and the organisation's own, by kind and subject.")
    async def emission_factors(
        self,
        info: strawberry.Info[Context, None],
        filter: EmissionFactorFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EmissionFactor]:
        limit = page_size(first)
        cursor = decode_cursor(after)
        if cursor is not None and len(cursor) != 4:
            raise ValidationFailed([FieldError("not a cursor of this connection", field="after")])
        wanted = (filter or EmissionFactorFilter()).to_filter()
        rows = await info.context.in_tenant(
            lambda db, p: service.list_factors(
                db, p, wanted, after=(cursor[0], cursor[1], cursor[2], cursor[3]) if cursor else None, limit=limit + 1
            )
        )
        return to_connection(
            Page(rows, limit, cursor is not None),
            EmissionFactor.of,
            lambda f: [f.kind.value, f.subject, f.valid_from.isoformat(), f.id],
        )

    @strawberry.field(description="One emission factor version with its provenance.")
    async def emission_factor(self, info: strawberry.Info[Context, None], id: NodeRef) -> EmissionFactor:
        factor_id = node_uuid(id, "EmissionFactor")
        return EmissionFactor.of(await info.context.in_tenant(lambda db, p: service.get_factor(db, p, factor_id)))

    @strawberry.field(
        description="The factor the rule of its kind chooses for a subject on a date; an error names what is missing."
    )
    async def select_emission_factor(
        self,
        info: strawberry.Info[Context, None],
        kind: EmissionFactorKind,  # type: ignore[valid-type]
        subject: str,
        on: date,
    ) -> EmissionFactorSelection:
        async def action(db: AsyncSession, principal: Principal) -> Selection:
            principal.require("site:read")
            return await service.select_factor(db, kind, _subject(kind, subject), on)

        return EmissionFactorSelection.of(await info.context.in_tenant(action))

    @strawberry.field(
        description="The emission factors another organisation's installation uses in [start, end), read through a "
        "live supply grant: the versions its calculations over periods inside it used, and the supplier-specific "
        "factors of its contracts delivering in it; by kind, subject and start of validity."
    )
    async def shared_emission_factors(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
    ) -> list[EmissionFactor]:
        rows = await read_factors(
            info.context.services,
            info.context.require_principal(),
            grantor_uuid(grantor_id),
            node_uuid(installation_id, "Installation", field="installationId"),
            (start, end),
        )
        return [EmissionFactor.of(f, shared=True) for f in rows]


@strawberry.type
class FactorMutation:
    @strawberry.mutation(description="Add (or supersede) a supplier-specific factor with its disclosure document.")
    async def add_supplier_emission_factor(
        self, info: strawberry.Info[Context, None], input: AddSupplierEmissionFactorInput
    ) -> EmissionFactorPayload:
        async def action(db: AsyncSession, principal: Principal) -> EmissionFactorPayload:
            row = await service.add_supplier_factor(db, principal, input.to_data())
            return EmissionFactorPayload(emission_factor=EmissionFactor.of(Factor.of(row)), errors=[])

        return await mutations.in_tenant(info, action, lambda e: EmissionFactorPayload(emission_factor=None, errors=e))

    @strawberry.mutation(
        description="Add (or supersede) a fuel's density [t/m3]: calculations convert a volume-metered fuel with it."
    )
    async def add_fuel_density(
        self, info: strawberry.Info[Context, None], input: AddFuelDensityInput
    ) -> EmissionFactorPayload:
        async def action(db: AsyncSession, principal: Principal) -> EmissionFactorPayload:
            row = await service.add_fuel_density(db, principal, input.to_data())
            return EmissionFactorPayload(emission_factor=EmissionFactor.of(Factor.of(row)), errors=[])

        return await mutations.in_tenant(info, action, lambda e: EmissionFactorPayload(emission_factor=None, errors=e))

    @strawberry.mutation(description="Compute (or recompute, superseding) an own-generation factor by Eq. 38.")
    async def compute_own_generation_factor(
        self, info: strawberry.Info[Context, None], input: ComputeOwnGenerationFactorInput
    ) -> EmissionFactorPayload:
        async def action(db: AsyncSession, principal: Principal) -> EmissionFactorPayload:
            row = await service.compute_own_generation_factor(db, principal, input.to_data())
            return EmissionFactorPayload(emission_factor=EmissionFactor.of(Factor.of(row)), errors=[])

        return await mutations.in_tenant(info, action, lambda e: EmissionFactorPayload(emission_factor=None, errors=e))
