"""Configuration from the environment (prefix `P2HAM_`), with the embedded dev stack as the default."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "p2ham-dev-secret-not-for-production"
CACHED_CASES = 1000  # temporalio's own default for max_cached_workflows


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="P2HAM_")

    # `dev` (make run, the tests): the dev login page exists; `production` (the default): it does not.
    mode: Literal["dev", "production"] = "production"
    database_url: str = "sqlite:///.data/p2ham.db"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "p2ham"
    # HS256 with a shared secret for the embedded default; RS256 with the ministry SSO's public key (PEM) or JWKS file.
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str = DEV_SECRET
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    evidence_dir: Path = Path(".data/evidence")
    evidence_max_bytes: int = 10 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024  # any other request body
    # Email for reminders (SMTP); without a host, notifications go to the in-app feed only.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "p2ham@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    ditjen_email: str | None = None  # the Ditjen HAM supervisors' address, for escalations
    worker_cached_cases: int = CACHED_CASES  # case runs a worker keeps in memory; the others replay when they next wake
    worker_metrics_address: str | None = None  # e.g. 0.0.0.0:9464: temporalio's own worker metrics for Prometheus
    log_level: str = "INFO"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The web pages (/ui/): the session cookie is signed with this key (default: one derived from jwt_secret); the
    # session itself is kept in the database. Login by OpenID Connect against the ministry SSO when an issuer's
    # discovery URL is set; the claims that carry sub, name, role, unit and region are named here.
    session_secret: str | None = None
    session_hours: int = 8
    oidc_discovery_url: str | None = None  # e.g. https://sso.example.go.id/.well-known/openid-configuration
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid profile"
    oidc_claim_sub: str = "sub"
    oidc_claim_name: str = "name"
    oidc_claim_role: str = "role"
    oidc_claim_unit: str = "unit"
    oidc_claim_region: str = "region"


@lru_cache
def get_settings() -> Settings:
    return Settings()
