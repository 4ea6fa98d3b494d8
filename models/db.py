"""One place that makes database engines, for the API, the worker and the tests alike."""

from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.exc import DatabaseError
from sqlmodel import SQLModel, create_engine

from models import tables  # noqa: F401  (registers the tables on SQLModel.metadata)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        # WAL lets the API read while the worker writes; the API and the worker are separate processes.
        event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA journal_mode=WAL"))
    else:
        engine = create_engine(url, pool_pre_ping=True)
    create_schema(engine)
    return engine


def create_schema(engine: Engine, attempts: int = 3) -> None:
    """Create missing tables. The API and several workers may start at once: whoever loses the race looks again."""
    for attempt in range(attempts):
        try:
            SQLModel.metadata.create_all(engine)
            return
        except DatabaseError:  # "already exists": another process created it between our check and our CREATE
            if attempt == attempts - 1:
                raise
