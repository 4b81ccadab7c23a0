"""GraphQL types and fields of certificates: thin resolvers over ``service`` and ``reads``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import NewType

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import (
    Connection,
    GrantorArg,
    NodeRef,
    Page,
    decode_cursor,
    gid,
    grantor_uuid,
    node_uuid,
    page_size,
    to_connection,
)
from backend.certificates import models, reads, service
from backend.certificates.loaders import claims_by_certificate_id, statements_by_certificate_id
from backend.certificates.schemas import CertificateData, CertificateFilter, ClaimData, StatementData
from backend.developers.reads import developer_connection
from backend.identity.principal import Principal
from backend.supply import shared as supply_shared


def _whole_number(value: object) -> int:
    """An input identifier or count: a decimal string (or a number) of up to 64 bits."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        raise ValueError("a whole number from 0 to 9223372036854775807, as a string of digits")
    if not 0 <= number < 2**63:
        raise ValueError("a whole number from 0 to 9223372036854775807, as a string of digits")
    return number


BigInt = strawberry.scalar(
    NewType("BigInt", int),
    serialize=str,
    parse_value=_whole_number,
    description="A whole number of up to 64 bits (certificate identifiers, counts), written as a decimal string "
    "so that no client loses digits; inputs also take a number.",
)

CertificateScheme = strawberry.enum(models.CertificateScheme, description="The certificate scheme.")
CertificateState = strawberry.enum(
    models.CertificateState,
    description="ACTIVE: held and usable; TRANSFERRED: handed on (final); CANCELLED: used with a statement "
    "(final, may back a claim); EXPIRED: not cancelled in time (final).",
)


@strawberry.type(description="What a cancellation was for: beneficiary, consumption period and country, purpose.")
class CancellationStatement:
    beneficiary: str = strawberry.field(description="Who the certificates were cancelled for.")
    consumption_start_on: date = strawberry.field(description="First day of the consumption period.")
    consumption_end_on: date = strawberry.field(description="Day after the consumption period (exclusive).")
    consumption_country: str = strawberry.field(description="Country of consumption (ISO 3166-1 alpha-2).")
    purpose: str = strawberry.field(description="Purpose of the cancellation.")
    installation_id: relay.GlobalID | None = strawberry.field(description="The CBAM installation it covers.")
    statement_reference: str = strawberry.field(description="The registry's statement number.")
    cancelled_on: date = strawberry.field(description="Day of cancellation in the registry.")

    @classmethod
    def of(cls, row: models.CancellationStatement, *, shared: bool = False) -> CancellationStatement:
        return cls(
            beneficiary=row.beneficiary,
            consumption_start_on=row.consumption_start_on,
            consumption_end_on=row.consumption_end_on,
            consumption_country=row.consumption_country,
            purpose=row.purpose,
            # the holder's own installation ids mean nothing (and say too much) to a reader through a grant
            installation_id=gid("Installation", row.installation_id) if row.installation_id and not shared else None,
            statement_reference=row.statement_reference,
            cancelled_on=row.cancelled_on,
        )


@strawberry.type(description="A claim: a range of a cancelled certificate backing one use, exclusive on the exchange.")
class CertificateClaim(relay.Node):
    id: relay.NodeID[str]
    range_start: BigInt = strawberry.field(description="First identifier claimed.")
    range_end: BigInt = strawberry.field(description="Last identifier claimed (inclusive).")
    quantity: BigInt = strawberry.field(description="Certificates claimed (end - start + 1) [MWh].")
    installation_id: relay.GlobalID | None = strawberry.field(description="The installation it is claimed for.")
    period_start_on: date = strawberry.field(description="First day of the claimed period.")
    period_end_on: date = strawberry.field(description="Day after the claimed period (exclusive).")
    purpose: str = strawberry.field(description="What it is claimed for.")
    claimed_at: datetime = strawberry.field(description="When it was claimed.")

    @classmethod
    def of(cls, row: models.CertificateClaim) -> CertificateClaim:
        return cls(
            id=str(row.id),
            range_start=row.range_start,
            range_end=row.range_end,
            quantity=row.quantity,
            installation_id=gid("Installation", row.installation_id) if row.installation_id else None,
            period_start_on=row.period_start_on,
            period_end_on=row.period_end_on,
            purpose=row.purpose,
            claimed_at=row.claimed_at,
        )


@strawberry.type(description="A range of certificate identifiers with one state; 1 certificate = 1 MWh.")
class Certificate(relay.Node):
    id: relay.NodeID[str]
    scheme: CertificateScheme = strawberry.field(description="GO_EECS, I_REC or OTHER.")
    issuing_body: str = strawberry.field(description="Issuing body's code, e.g. EMS.")
    issuing_country: str = strawberry.field(description="Country of issue (ISO 3166-1 alpha-2).")
    range_start: BigInt = strawberry.field(description="First identifier of the range.")
    range_end: BigInt = strawberry.field(description="Last identifier of the range (inclusive).")
    quantity: BigInt = strawberry.field(description="Number of certificates, end - start + 1 [MWh].")
    registry_reference: str = strawberry.field(description="The registry's own reference of this range.")
    device_id: str = strawberry.field(description="Production device id in the registry.")
    device_name: str = strawberry.field(description="Production device name.")
    device_country: str = strawberry.field(description="Country of the production device.")
    energy_source: str = strawberry.field(description="Energy source (EECS code for GO_EECS, e.g. F01010100).")
    technology: str = strawberry.field(description="Technology code, if given.")
    production_start_on: date = strawberry.field(description="First day of production.")
    production_end_on: date = strawberry.field(description="Day after the production period (exclusive).")
    issued_on: date = strawberry.field(description="Day of issue.")
    expires_on: date = strawberry.field(description="First day on which it is expired, by the country's rule.")
    expiry_rule: str = strawberry.field(description="The expiry rule applied.")
    state: CertificateState = strawberry.field(description="State as of today (expiry applied on read).")
    transferred_to: str = strawberry.field(description="Who it was transferred to, if transferred.")
    transferred_on: date | None = strawberry.field(description="Day of transfer.")
    supply_contract_id: relay.GlobalID | None = strawberry.field(description="The holder's supply contract.")
    ppa_connection_id: relay.GlobalID | None = strawberry.field(description="The PPA a developer filed it for.")
    split_from_id: relay.GlobalID | None = strawberry.field(description="The certificate it was split from.")
    evidence_sha256: list[str] = strawberry.field(description="SHA-256 of its evidence documents.")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    # read through a contract grant: the statement comes with it, the holder's claims do not
    shared_statement: strawberry.Private[models.CancellationStatement | None] = None
    shared: strawberry.Private[bool] = False
    # read through a supply grant: the claims made for the granted installation come with it
    shared_claims: strawberry.Private[list[models.CertificateClaim] | None] = None

    @strawberry.field(description="The cancellation statement, if cancelled.")
    async def statement(self, info: strawberry.Info[Context, None]) -> CancellationStatement | None:
        if self.shared:
            if self.shared_statement is None:
                return None
            # through a supply grant the installation is the granted one, which the reader knows
            return CancellationStatement.of(self.shared_statement, shared=self.shared_claims is None)
        rows = await info.context.loader("statements_by_certificate_id", statements_by_certificate_id).load(
            uuid.UUID(self.id)
        )
        return CancellationStatement.of(rows[0]) if rows else None

    @strawberry.field(
        description="The holder's claims on this certificate (through a PPA contract grant: none; through a "
        "supply grant: those made for the granted installation)."
    )
    async def claims(self, info: strawberry.Info[Context, None]) -> list[CertificateClaim]:
        if self.shared:
            return [CertificateClaim.of(c) for c in self.shared_claims or []]
        rows = await info.context.loader("claims_by_certificate_id", claims_by_certificate_id).load(uuid.UUID(self.id))
        return [CertificateClaim.of(r) for r in rows]

    @classmethod
    def of(
        cls,
        row: models.Certificate,
        *,
        today: date | None = None,
        shared: bool = False,
        statement: models.CancellationStatement | None = None,
        claims: list[models.CertificateClaim] | None = None,
    ) -> Certificate:
        return cls(
            id=str(row.id),
            scheme=row.scheme,
            issuing_body=row.issuing_body,
            issuing_country=row.issuing_country,
            range_start=row.range_start,
            range_end=row.range_end,
            quantity=row.quantity,
            registry_reference=row.registry_reference,
            device_id=row.device_id,
            device_name=row.device_name,
            device_country=row.device_country,
            energy_source=row.energy_source,
            technology=row.technology,
            production_start_on=row.production_start_on,
            production_end_on=row.production_end_on,
            issued_on=row.issued_on,
            expires_on=row.expires_on,
            expiry_rule=row.expiry_rule,
            state=service.state_on(row, today or service.today_utc()),
            transferred_to=row.transferred_to,
            transferred_on=row.transferred_on,
            supply_contract_id=(
                gid("SupplyContract", row.supply_contract_id)
                if row.supply_contract_id and (not shared or claims is not None)
                else None
            ),
            ppa_connection_id=gid("PpaConnection", row.ppa_connection_id) if row.ppa_connection_id else None,
            split_from_id=gid("Certificate", row.split_from_id) if row.split_from_id else None,
            evidence_sha256=list(row.evidence_sha256),
            created_at=row.created_at,
            shared_statement=statement,
            shared=shared,
            shared_claims=claims,
        )


@strawberry.input(description="Which certificates to list; every filter is optional and they combine.")
class CertificateFilterInput:
    states: list[CertificateState] | None = strawberry.field(default=None, description="States as of today.")
    scheme: CertificateScheme | None = strawberry.field(default=None, description="Scheme.")
    supply_contract_id: NodeRef | None = strawberry.field(default=None, description="Of this supply contract.")
    connection_id: NodeRef | None = strawberry.field(default=None, description="Filed for this PPA (developer).")
    production_from: date | None = strawberry.field(default=None, description="Production ends after this day.")
    production_to: date | None = strawberry.field(default=None, description="Production starts before this day.")
    device_id: str | None = strawberry.field(default=None, description="Of this production device.")

    def to_filter(self) -> CertificateFilter:
        return CertificateFilter(
            states=tuple(s.value for s in self.states or []),
            scheme=self.scheme,
            supply_contract_id=(
                node_uuid(self.supply_contract_id, "SupplyContract", field="supplyContractId")
                if self.supply_contract_id
                else None
            ),
            ppa_connection_id=(
                node_uuid(self.connection_id, "PpaConnection", field="connectionId") if self.connection_id else None
            ),
            production_from=self.production_from,
            production_to=self.production_to,
            device_id=self.device_id,
        )


@strawberry.input(description="A certificate range as the registry shows it.")
class RegisterCertificateInput:
    scheme: CertificateScheme = strawberry.field(description="GO_EECS, I_REC or OTHER.")
    issuing_body: str = strawberry.field(description="Issuing body's code, e.g. EMS.")
    issuing_country: str = strawberry.field(description="Country of issue, e.g. RS.")
    range_start: BigInt = strawberry.field(description="First identifier.")
    range_end: BigInt = strawberry.field(description="Last identifier (inclusive).")
    device_id: str = strawberry.field(description="Production device id in the registry.")
    device_name: str = strawberry.field(description="Production device name.")
    device_country: str = strawberry.field(description="Country of the device.")
    energy_source: str = strawberry.field(description="EECS energy source code for GO_EECS (F + 8 digits).")
    production_start_on: date = strawberry.field(description="First day of production.")
    production_end_on: date = strawberry.field(description="Day after the production period (exclusive).")
    issued_on: date = strawberry.field(description="Day of issue.")
    technology: str = strawberry.field(default="", description="Technology code (EECS: T + 6 digits).")
    registry_reference: str = strawberry.field(default="", description="The registry's reference.")
    supply_contract_id: NodeRef | None = strawberry.field(default=None, description="Your supply contract.")
    connection_id: NodeRef | None = strawberry.field(
        default=None, description="Developer: the PPA connection this issuance record is for."
    )
    evidence_sha256: list[str] = strawberry.field(default_factory=list, description="Evidence documents' SHA-256.")

    def to_data(self) -> CertificateData:
        return CertificateData(
            scheme=self.scheme,
            issuing_body=self.issuing_body,
            issuing_country=self.issuing_country,
            range_start=self.range_start,
            range_end=self.range_end,
            device_id=self.device_id,
            device_name=self.device_name,
            device_country=self.device_country,
            energy_source=self.energy_source,
            production_start_on=self.production_start_on,
            production_end_on=self.production_end_on,
            issued_on=self.issued_on,
            technology=self.technology,
            registry_reference=self.registry_reference,
            supply_contract_id=(
                node_uuid(self.supply_contract_id, "SupplyContract", field="supplyContractId")
                if self.supply_contract_id
                else None
            ),
            evidence_sha256=list(self.evidence_sha256),
        )


@strawberry.input(description="Split a range after its first `quantity` certificates.")
class SplitCertificateInput:
    id: NodeRef = strawberry.field(description="The certificate.")
    quantity: BigInt = strawberry.field(description="Certificates in the first part.")


@strawberry.input(description="Record a transfer to another account holder.")
class TransferCertificateInput:
    id: NodeRef = strawberry.field(description="The certificate.")
    to: str = strawberry.field(description="The account holder it went to (e.g. the offtaker).")
    transferred_on: date = strawberry.field(description="Day of transfer.")
    quantity: BigInt | None = strawberry.field(default=None, description="Only the first `quantity` certificates.")


@strawberry.input(description="A cancellation statement.")
class CancellationStatementInput:
    beneficiary: str = strawberry.field(description="Who the certificates are cancelled for.")
    consumption_start_on: date = strawberry.field(description="First day of the consumption period.")
    consumption_end_on: date = strawberry.field(description="Day after the consumption period (exclusive).")
    consumption_country: str = strawberry.field(description="Country of consumption, e.g. RS.")
    purpose: str = strawberry.field(description="Purpose, e.g. CBAM indirect emissions.")
    cancelled_on: date = strawberry.field(description="Day of cancellation in the registry.")
    installation_id: NodeRef | None = strawberry.field(default=None, description="Your CBAM installation.")
    statement_reference: str = strawberry.field(default="", description="The registry's statement number.")

    def to_data(self) -> StatementData:
        return StatementData(
            beneficiary=self.beneficiary,
            consumption_start_on=self.consumption_start_on,
            consumption_end_on=self.consumption_end_on,
            consumption_country=self.consumption_country,
            purpose=self.purpose,
            cancelled_on=self.cancelled_on,
            installation_id=(
                node_uuid(self.installation_id, "Installation", field="installationId")
                if self.installation_id
                else None
            ),
            statement_reference=self.statement_reference,
        )


@strawberry.input(description="Cancel a certificate (or its first `quantity`) with its statement.")
class CancelCertificateInput:
    id: NodeRef = strawberry.field(description="The certificate.")
    statement: CancellationStatementInput = strawberry.field(description="The cancellation statement.")
    quantity: BigInt | None = strawberry.field(default=None, description="Only the first `quantity` certificates.")


@strawberry.input(description="Claim a cancelled certificate (or a range inside it) for one use.")
class ClaimCertificateInput:
    certificate_id: NodeRef = strawberry.field(description="The cancelled certificate.")
    period_start_on: date = strawberry.field(description="First day of the claimed period.")
    period_end_on: date = strawberry.field(description="Day after the claimed period (exclusive).")
    purpose: str = strawberry.field(description="What it is claimed for.")
    installation_id: NodeRef | None = strawberry.field(default=None, description="The installation.")
    range_start: BigInt | None = strawberry.field(default=None, description="First identifier (default: all).")
    range_end: BigInt | None = strawberry.field(default=None, description="Last identifier (default: all).")

    def to_data(self) -> ClaimData:
        return ClaimData(
            certificate_id=node_uuid(self.certificate_id, "Certificate", field="certificateId"),
            period_start_on=self.period_start_on,
            period_end_on=self.period_end_on,
            purpose=self.purpose,
            installation_id=(
                node_uuid(self.installation_id, "Installation", field="installationId")
                if self.installation_id
                else None
            ),
            range_start=self.range_start,
            range_end=self.range_end,
        )


@strawberry.type(description="The certificate, or why nothing changed.")
class CertificatePayload:
    certificate: Certificate | None = strawberry.field(description="The certificate as it is now.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Both parts of a split, or why nothing changed.")
class SplitCertificatePayload:
    first: Certificate | None = strawberry.field(description="The first part (keeps the id).")
    rest: Certificate | None = strawberry.field(description="The rest (a new certificate).")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="The claim, or why it was refused.")
class CertificateClaimPayload:
    claim: CertificateClaim | None = strawberry.field(description="The claim made.")
    errors: list[UserError] = strawberry.field(description="Why nothing was claimed.")


def _certificate_payload(errors: list[UserError]) -> CertificatePayload:
    return CertificatePayload(certificate=None, errors=errors)


@strawberry.type
class CertificatesQuery:
    @strawberry.field(description="Your organisation's certificates, filtered.")
    async def certificates(
        self,
        info: strawberry.Info[Context, None],
        filter: CertificateFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Certificate]:
        principal = info.context.require_principal()
        filters = filter.to_filter() if filter else CertificateFilter()
        limit = page_size(first)
        cursor = decode_cursor(after)
        async with info.context.tenant_uow() as db:
            rows = await service.list_certificates(
                db, principal, filters, after=(cursor[0], cursor[1]) if cursor else None, limit=limit + 1
            )
        today = service.today_utc()
        return to_connection(
            Page(rows, limit, cursor is not None),
            lambda r: Certificate.of(r, today=today),
            lambda r: [r.created_at.isoformat(), r.id],
        )

    @strawberry.field(description="One certificate of your organisation.")
    async def certificate(self, info: strawberry.Info[Context, None], id: NodeRef) -> Certificate:
        return Certificate.of(
            await info.context.in_tenant(lambda db, p: service.get_certificate(db, p, node_uuid(id, "Certificate")))
        )

    @strawberry.field(
        description="Offtaker: the developer's certificate records of a shared, active PPA, read through its grant."
    )
    async def shared_ppa_certificates(
        self,
        info: strawberry.Info[Context, None],
        connection_id: NodeRef,
        filter: CertificateFilterInput | None = None,
    ) -> list[Certificate]:
        principal = info.context.require_principal()
        found = await reads.read_contract_certificates(
            info.context.services,
            principal,
            node_uuid(connection_id, "PpaConnection", field="connectionId"),
            filter.to_filter() if filter else None,
        )
        return [Certificate.of(r, shared=True, statement=found.statements.get(r.id)) for r in found.certificates]

    @strawberry.field(
        description="Certificates of another organisation's installation, read through a live supply grant: those "
        "produced in [start, end) or cancelled or claimed for consumption in it (tied to the installation by its "
        "supply contract, a cancellation statement or a claim), with their cancellation statements and the claims "
        "made for the installation; by recording time."
    )
    async def shared_certificates(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Certificate]:
        limit = page_size(first)
        cursor = decode_cursor(after)
        found = await supply_shared.read_certificates(
            info.context.services,
            info.context.require_principal(),
            grantor_uuid(grantor_id),
            node_uuid(installation_id, "Installation", field="installationId"),
            (start, end),
            after=(datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None,
            limit=limit + 1,
        )
        today = service.today_utc()
        return to_connection(
            Page(found.certificates, limit, cursor is not None),
            lambda r: Certificate.of(
                r, today=today, shared=True, statement=found.statements.get(r.id), claims=found.claims.get(r.id, [])
            ),
            lambda r: [r.created_at.isoformat(), r.id],
        )


@strawberry.type
class CertificatesMutation:
    @strawberry.mutation(description="Record a certificate range (an issuance record, or a holding).")
    async def register_certificate(
        self, info: strawberry.Info[Context, None], input: RegisterCertificateInput
    ) -> CertificatePayload:
        async def action(db: AsyncSession, principal: Principal) -> CertificatePayload:
            connection = None
            if input.connection_id is not None:
                connection_id = node_uuid(input.connection_id, "PpaConnection", field="connectionId")
                connection = await developer_connection(info.context.services, principal, connection_id)
            row = await service.register_certificate(db, principal, input.to_data(), connection=connection)
            return CertificatePayload(certificate=Certificate.of(row), errors=[])

        return await mutations.in_tenant(info, action, _certificate_payload)

    @strawberry.mutation(description="Split an active range in two; both keep quantity = end - start + 1.")
    async def split_certificate(
        self, info: strawberry.Info[Context, None], input: SplitCertificateInput
    ) -> SplitCertificatePayload:
        async def action(db: AsyncSession, principal: Principal) -> SplitCertificatePayload:
            split = await service.split_certificate(db, principal, node_uuid(input.id, "Certificate"), input.quantity)
            return SplitCertificatePayload(
                first=Certificate.of(split.first), rest=Certificate.of(split.rest), errors=[]
            )

        return await mutations.in_tenant(
            info, action, lambda e: SplitCertificatePayload(first=None, rest=None, errors=e)
        )

    @strawberry.mutation(description="Record a transfer of an active range (or its first part) to another holder.")
    async def transfer_certificate(
        self, info: strawberry.Info[Context, None], input: TransferCertificateInput
    ) -> CertificatePayload:
        async def action(db: AsyncSession, principal: Principal) -> CertificatePayload:
            row = await service.transfer_certificate(
                db,
                principal,
                node_uuid(input.id, "Certificate"),
                to=input.to,
                transferred_on=input.transferred_on,
                quantity=input.quantity,
            )
            return CertificatePayload(certificate=Certificate.of(row), errors=[])

        return await mutations.in_tenant(info, action, _certificate_payload)

    @strawberry.mutation(description="Cancel an active range (or its first part) with its cancellation statement.")
    async def cancel_certificate(
        self, info: strawberry.Info[Context, None], input: CancelCertificateInput
    ) -> CertificatePayload:
        async def action(db: AsyncSession, principal: Principal) -> CertificatePayload:
            row, _ = await service.cancel_certificate(
                db, principal, node_uuid(input.id, "Certificate"), input.statement.to_data(), quantity=input.quantity
            )
            return CertificatePayload(certificate=Certificate.of(row), errors=[])

        return await mutations.in_tenant(info, action, _certificate_payload)

    @strawberry.mutation(description="Claim a cancelled range for one use; an identifier backs one claim only.")
    async def claim_certificate(
        self, info: strawberry.Info[Context, None], input: ClaimCertificateInput
    ) -> CertificateClaimPayload:
        async def action(db: AsyncSession, principal: Principal) -> CertificateClaimPayload:
            row = await service.claim_certificate(db, principal, input.to_data())
            return CertificateClaimPayload(claim=CertificateClaim.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: CertificateClaimPayload(claim=None, errors=e))
