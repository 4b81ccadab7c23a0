"""Settings from environment variables, with defaults that run the platform on one machine.

Every variable is documented in ``docs/operations/configuration.md``. ``DATABASE_URL`` and
``REDIS_URL`` are read without prefix (the usual names on hosting platforms); everything else
carries the ``CBAMX_`` prefix.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CBAMX_", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Field(default=Path(".cbamx"), description="Embedded services, local evidence, keys.")

    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "CBAMX_DATABASE_URL"))
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
    login_rate_per_minute: int = 10
    token_rate_per_minute: int = 60

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

    log_json: bool | None = None
    log_level: str = "INFO"

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
