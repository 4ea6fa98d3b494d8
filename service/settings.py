"""Configuration from the environment (prefix `P2HAM_`), with the embedded dev stack as the default."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "p2ham-dev-secret-not-for-production"
CACHED_CASES = 1000  # temporalio's own default for max_cached_workflows


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="P2HAM_")

    database_url: str = "sqlite:///.data/p2ham.db"
    language: Literal["id", "en"] = "id"  # of emails and the command line's words (the API follows each request)
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
