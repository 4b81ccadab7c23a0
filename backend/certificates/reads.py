"""The offtaker's read of a developer's certificate records for their shared PPA, through the
contract grant that accepting the PPA connection created (backend/developers, backend/sharing).

The platform first checks that the caller's organisation is the connection's offtaker and that the
connection runs; the developer's tenant is then opened under the caller's live ``ppa_contract``
grants, only a grant naming this connection allows the read (``GRANT_CONTRACT_EXCLUDES``
otherwise), and the use is written to the developer's audit trail. Only records the developer
filed for this connection are listed: nothing of its other offtakers.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from backend.certificates import service
from backend.certificates.models import CancellationStatement, Certificate
from backend.certificates.schemas import CertificateFilter
from backend.developers.models import PpaConnection
from backend.developers.reads import shared_contract
from backend.identity.principal import Principal
from backend.services import Services

MAX_LISTED = 500


@dataclass(frozen=True, slots=True)
class ContractCertificates:
    connection: PpaConnection
    certificates: list[Certificate]
    statements: dict[uuid.UUID, CancellationStatement]


async def read_contract_certificates(
    services: Services, actor: Principal, connection_id: uuid.UUID, filters: CertificateFilter | None = None
) -> ContractCertificates:
    """The developer's issuance, transfer and cancellation records of the caller's PPA."""
    async with shared_contract(services, actor, connection_id, what="certificates") as (connection, read):
        # only this connection's records, whatever the caller's filter names
        wanted = dataclasses.replace(
            filters or CertificateFilter(), ppa_connection_id=connection.id, supply_contract_id=None
        )
        rows = await service.list_certificates(read.db, read.reader, wanted, limit=MAX_LISTED)
        statements = await service.statements_of(read.db, [r.id for r in rows])
    return ContractCertificates(connection, rows, {s.certificate_id: s for s in statements})
