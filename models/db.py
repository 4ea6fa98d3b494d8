"""One place that makes database engines, for the API, the worker and the tests alike."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.exc import DatabaseError
from sqlmodel import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        # WAL lets the API read while the worker writes; the API and the worker are separate processes.
        event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA journal_mode=WAL"))
    else:
        engine = create_engine(url, pool_pre_ping=True)
    migrate(engine)
    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, attempts: int = 3) -> None:
    """Bring the schema to the newest migration (SQLite and PostgreSQL alike). The API and several workers may start
    at once: whoever loses the race to create a table looks again, and finds the schema up to date."""
    config = alembic_config()
    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            return
        except DatabaseError:  # "already exists": another process migrated between our check and our CREATE
            if attempt == attempts - 1:
                raise
