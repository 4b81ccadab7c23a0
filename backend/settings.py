"""Settings from environment variables, with defaults that run the platform on one machine.

Every variable is documented in ``docs/operations/configuration.md``. ``DATABASE_URL`` and
``REDIS_URL`` are read without prefix (the usual names on hosting platforms); everything else
carries the ``CBAMX_`` prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DemoLogin(BaseModel):
    """A log-in of the demo, shown on the start page while the demo runs."""

    email: str
    organisation: str
    kind: str
    password: str


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CBAMX_", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Field(default=Path(".cbamx"), description="Embedded services, local evidence, keys.")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "CBAMX_DATABASE_URL"),
        description="The owner's DSN: migrations and provisioning (it owns every schema and table).",
    )
    runtime_database_url: str | None = Field(
        default=None,
        description="The API's and workers' DSN (a login role that owns nothing); derived from DATABASE_URL if unset.",
    )
    db_runtime_role: str = Field(default="cbamx_app", description="The runtime login role, when its DSN is derived.")
    db_tenant_pools: int = Field(default=32, description="Tenant connection pools a process keeps open at most.")
    db_tenant_pool_size: int = Field(
        default=1, description="Connections a tenant's pool keeps between units of work (more are opened while busy)."
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "CBAMX_REDIS_URL"))
    db_pool_size: int = 10
    db_statement_cache_size: int = 1000

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"

    secret_key: str | None = Field(
        default=None, description="Seals token signing keys at rest and signs local evidence download links."
    )
    jwt_audience: str = "cbamx-api"
    access_token_ttl_s: int = 3600
    signing_key_grace_s: int = 7200
    session_ttl_s: int = 8 * 3600
    invitation_ttl_s: int = 7 * 24 * 3600
    # log-in attempts per address and account pair; per address alone; per account from anywhere
    login_rate_per_minute: int = 10
    login_address_rate_per_minute: int = 60
    login_account_rate_per_minute: int = 20
    # token requests per client; per address (many clients behind one gateway)
    token_rate_per_minute: int = 60
    token_address_rate_per_minute: int = 600
    # access tokens living longer than this are refused even with a valid signature
    access_token_max_ttl_s: int = 24 * 3600

    s3_endpoint_url: str | None = None
    s3_bucket: str = "cbamx-evidence"
    s3_region: str = "eu-central-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_object_lock_days: int = 0
    evidence_max_bytes: int = 50 * 1024 * 1024
    evidence_url_ttl_s: int = 300

    graphql_max_depth: int = 10
    graphql_max_tokens: int = 5000
    graphql_max_aliases: int = 15
    graphql_ide: bool | None = None

    ingest_max_future_skew_s: int = 300
    # readings before this instant are refused: a device clock reset (1970, year 1) would otherwise
    # make derivation walk decades of empty days
    ingest_min_reading_ts: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    # how long before its meter device's recorded installation a reading is still accepted
    ingest_install_tolerance_s: int = 86_400
    # a file import still queued or running after this long is failed by the sweep (its job died);
    # longer than the import job's own timeout
    ingest_import_stale_s: int = 3600
    ingest_max_batch: int = 50_000
    ingest_max_body_bytes: int = 64 * 1024 * 1024

    derivation_max_days_per_run: int = Field(
        default=31, ge=1, le=366, description="UTC days one derivation run covers at most; the rest follows."
    )
    derivation_floor: date = Field(
        default=date(2000, 1, 1), description="No day before this is ever derived, whatever readings hold."
    )
    demo_logins: list[DemoLogin] = Field(
        default_factory=list, description="Set by the demo (`cbamx-demo`, JSON): the demo's log-ins for the start page."
    )

    feed_settle_s: float = Field(
        default=30.0,
        ge=0,
        description="feedEvents lists an event once older transactions have ended, or once it is this old.",
    )
    # webhook deliveries: after the n-th failed attempt wait delays[n-1] seconds (the last one repeats),
    # each within +/- jitter; no attempt later than the window after the delivery began
    webhook_retry_delays_s: list[float] = Field(
        default=[5, 30, 120, 600, 1800, 3600],
        min_length=1,
        description="Seconds between webhook attempts; the last delay repeats until the window ends.",
    )
    webhook_retry_window_s: float = Field(default=26 * 3600, gt=0, description="How long a delivery is retried.")
    webhook_retry_jitter: float = Field(default=0.2, ge=0, lt=1, description="Share by which a delay may vary.")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Seconds a receiver has to answer.")
    # answers to PACT data requests (RequestFulfilledEvent / RequestRejectedEvent to the requester's host):
    # exponential back-off, no attempt later than three days after the answer (the PACT spec's limit)
    pact_answer_retry_delays_s: list[float] = Field(
        default=[30 * 2**n for n in range(10)] + [6 * 3600],
        min_length=1,
        description="Seconds between attempts to deliver a PACT answer; the last delay repeats until the window ends.",
    )
    pact_answer_retry_window_s: float = Field(default=3 * 86400, gt=0, description="How long a PACT answer is retried.")
    pact_answer_retry_jitter: float = Field(default=0.2, ge=0, lt=1, description="Share by which a delay may vary.")
    pact_answer_timeout_s: float = Field(default=15.0, gt=0, description="Seconds the requester's host has to answer.")

    log_json: bool | None = None
    log_level: str = "INFO"

    def resolved_runtime_database_url(self) -> str:
        """The runtime DSN: the configured one, or the owner's with the runtime role and its derived password."""
        if self.runtime_database_url:
            return self.runtime_database_url
        if not self.database_url:
            raise RuntimeError("CBAMX_RUNTIME_DATABASE_URL (or DATABASE_URL to derive it from) must be set")
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url).set(
            username=self.db_runtime_role, password=self.role_password(self.db_runtime_role)
        )
        return url.render_as_string(hide_password=False)

    def role_password(self, role: str) -> str:
        """A database role's password, derived from the secret key: the owner sets it, the runtime logs in with it.

        Tenant roles log in with their own password, so a tenant's connection cannot become another
        tenant (PostgreSQL checks SET ROLE against the login role).
        """
        mac = hmac.new(self.resolved_secret_key().encode(), f"cbamx-db-role:{role}".encode(), hashlib.sha256)
        return mac.hexdigest()

    @model_validator(mode="after")
    def _token_lifetime_within_maximum(self) -> Settings:
        if self.access_token_ttl_s > self.access_token_max_ttl_s:
            raise ValueError("CBAMX_ACCESS_TOKEN_TTL_S must not exceed CBAMX_ACCESS_TOKEN_MAX_TTL_S")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def wants_json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json

    @property
    def wants_graphql_ide(self) -> bool:
        return (not self.is_production) if self.graphql_ide is None else self.graphql_ide

    @property
    def issuer(self) -> str:
        return self.public_url.rstrip("/")

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        if self.is_production:
            raise RuntimeError("CBAMX_SECRET_KEY must be set in production")
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
