"""Configuration from the environment (prefix `P2HAM_`), with the embedded dev stack as the default."""

import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "p2ham-dev-secret-not-for-production"
MIN_SECRET_BYTES = 32  # HS256: a shorter shared secret can be brute-forced offline from one token
CACHED_CASES = 1000  # temporalio's own default for max_cached_workflows
HISTORY_RETENTION = timedelta(days=3653)  # ten years: an award is valid a year, audits come years later
_DAYS = re.compile(r"^\s*(\d+)\s*d\s*$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="P2HAM_")

    # production (the default) refuses to start with the dev secret or without a verifiable issuer and audience;
    # dev is what `make run` / `p2ham dev`, the demo and the tests use.
    mode: Literal["dev", "production"] = "production"

    database_url: str = "sqlite:///.data/p2ham.db"
    language: Literal["id", "en"] = "id"  # of emails and the command line's words (the API follows each request)
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "p2ham"
    # mTLS to the Temporal frontend (production): the CA that signed the frontend's certificate, and this client's own.
    temporal_tls_ca_file: Path | None = None
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    temporal_tls_server_name: str | None = None  # the name in the frontend's certificate, if not the address's host
    # How long Temporal keeps a closed case's history (namespace retention), e.g. `3653d`; set by `p2ham dev` and
    # deploy/temporal-setup.sh when they create the namespace. The archive keeps it beyond that.
    history_retention: timedelta = HISTORY_RETENTION
    # Where every closed case's history is exported: a directory, or an S3-compatible bucket when a bucket is set.
    archive_dir: Path = Path(".data/archive")
    archive_s3_bucket: str | None = None
    archive_s3_endpoint: str = "s3.amazonaws.com"
    archive_s3_access_key: str | None = None
    archive_s3_secret_key: str | None = None
    archive_s3_secure: bool = True
    archive_s3_prefix: str = "p2ham-histories/"
    # HS256 with a shared secret for the embedded default; RS256 with the ministry SSO's public key (PEM) or JWKS file.
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str = DEV_SECRET
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_max_hours: float = Field(default=12, gt=0, le=24 * 31)  # a token whose `exp` is further away is refused
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
    worker_graceful_shutdown_seconds: float = 20  # on SIGTERM, how long running activities may take to finish
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
    # Long jobs started from a page (service/background.py): the process running one writes its progress and a
    # heartbeat this often; a run without a heartbeat for the second interval (a few heartbeats at least) lost its
    # process: its page says it stopped, and it may be started again.
    job_heartbeat_seconds: float = Field(default=1, gt=0)
    job_stopped_after_seconds: float = Field(default=30, gt=0)
    # The service's address as the public reaches it: the award letter's QR code points to its verification page.
    public_url: str = "http://127.0.0.1:8000"

    @field_validator("history_retention", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        """`3653d`, as the Temporal CLI's --retention takes it; ISO 8601 (`P3653D`) and seconds work too."""
        if isinstance(value, str) and (days := _DAYS.match(value)):
            return timedelta(days=int(days.group(1)))
        return value

    # Where the API serves its OpenAPI docs and Prometheus metrics; empty turns them off (e.g. in production, where
    # the metrics are scraped from the worker's own port and the docs are read from a staging instance).
    # Abuse limits per caller (service/ratelimit.py): `limits` notation; storage memory:// or redis://host:port.
    rate_limit_storage: str = "memory://"
    rate_limit_refused: str = "30/minute"
    rate_limit_expensive: str = "20/minute"
    evidence_quota_bytes: int = 2 * 1024 * 1024 * 1024  # per unit: all its uploads together
    audit_pack_max_bytes: int = 512 * 1024 * 1024
    docs_path: str = "/docs"
    metrics_path: str = "/metrics"

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe to serve production tokens with, each naming its variable."""
        if self.mode != "production":
            return []
        problems = []
        if self.jwt_algorithm == "HS256":
            if self.jwt_secret == DEV_SECRET:
                problems.append("P2HAM_JWT_SECRET is the public dev secret; set a secret of your own")
            elif len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
                problems.append(f"P2HAM_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes")
        elif not (self.jwt_public_key_file or self.jwt_jwks_file):
            problems.append("RS256 needs P2HAM_JWT_PUBLIC_KEY_FILE or P2HAM_JWT_JWKS_FILE")
        if self.jwt_algorithm == "RS256" and len((self.session_secret or "").encode()) < MIN_SECRET_BYTES:
            # With HS256 the pages' cookies are signed with a key derived from the JWT secret; with RS256 there is
            # no secret to derive one from, so the web sessions need their own.
            problems.append(f"P2HAM_SESSION_SECRET must be set (at least {MIN_SECRET_BYTES} bytes) with RS256")
        if not self.jwt_issuer:
            problems.append("P2HAM_JWT_ISSUER is not set: tokens of any issuer would be accepted")
        if not self.jwt_audience:
            problems.append("P2HAM_JWT_AUDIENCE is not set: tokens meant for other services would be accepted")
        return problems


class UnsafeSettings(Exception):
    """Raised at start in production mode when the settings would accept forged or foreign tokens."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "refusing to start in P2HAM_MODE=production: " + "; ".join(problems) + " (P2HAM_MODE=dev for development)"
        )


def check_production(settings: Settings) -> None:
    problems = settings.production_problems()
    if problems:
        raise UnsafeSettings(problems)


@lru_cache
def get_settings() -> Settings:
    return Settings()
