"""Import every model module once, so both metadata objects are complete (alembic, DDL)."""

from backend import outbox as outbox_models
from backend.audit import models as audit_models
from backend.calculations import models as calculation_models
from backend.certificates import models as certificate_models
from backend.developers import models as developer_models
from backend.evidence import models as evidence_models
from backend.exchange import models as exchange_models
from backend.factors import models as factor_models
from backend.feeds import models as feed_models
from backend.identity import models as identity_models
from backend.ingest import models as ingest_models
from backend.installations import models as installation_models
from backend.metering import models as metering_models
from backend.pact import inbox_models as pact_inbox_models
from backend.pact import models as pact_models
from backend.production import models as production_models
from backend.provisional import models as provisional_models
from backend.sharing import models as sharing_models
from backend.shipments import models as shipment_models
from backend.supply import models as supply_models
from backend.tenants import models as tenant_models
from backend.verification import models as verification_models

__all__ = [
    "audit_models",
    "calculation_models",
    "certificate_models",
    "developer_models",
    "evidence_models",
    "exchange_models",
    "factor_models",
    "feed_models",
    "identity_models",
    "ingest_models",
    "installation_models",
    "metering_models",
    "outbox_models",
    "pact_inbox_models",
    "pact_models",
    "production_models",
    "provisional_models",
    "sharing_models",
    "shipment_models",
    "supply_models",
    "tenant_models",
    "verification_models",
]
