"""The SQL read model and audit log. Temporal's history stays the source of truth; these rows answer reads."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class CycleRow(SQLModel, table=True):
    __tablename__ = "cycle"
    year: int = Field(primary_key=True)
    policy: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class UnitRow(SQLModel, table=True):
    __tablename__ = "unit"
    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    region: str = Field(max_length=64, index=True)
    parent: str | None = Field(default=None, max_length=64)


class CaseRow(SQLModel, table=True):
    """One case as of its latest projected transition."""

    __tablename__ = "case_view"
    __table_args__ = (
        Index("ix_case_year_stage", "year", "stage"),
        Index("ix_case_year_region", "year", "region"),
        Index("ix_case_year_deadline", "year", "deadline"),
    )
    year: int = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=64)
    region: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    stage: str = Field(max_length=32)
    final: bool
    seq: int
    deadline: datetime | None = None
    updated_at: datetime
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class TransitionRow(SQLModel, table=True):
    """The audit log: one row per transition, keyed by (case, seq), never updated."""

    __tablename__ = "transition"
    year: int = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    at: datetime
    event: str = Field(max_length=64)
    source: str | None = Field(default=None, max_length=32)
    target: str = Field(max_length=32)
    actor_sub: str = Field(max_length=200)
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(max_length=32)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    evidence: list[str] = Field(sa_column=Column(JSON, nullable=False))
    policy_version: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class RefusalRow(SQLModel, table=True):
    """The audit log of refused commands: who tried what, and why it was refused. Never updated."""

    __tablename__ = "refusal"
    __table_args__ = (Index("ix_refusal_case", "year", "unit"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    year: int
    unit: str = Field(max_length=64)
    event: str = Field(max_length=64)
    actor_sub: str = Field(max_length=200)
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(max_length=32)
    status: int
    why: list[str] = Field(sa_column=Column(JSON, nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class IdempotencyKeyRow(SQLModel, table=True):
    """Which request an `Idempotency-Key` was first used for, so a key reused for another request is refused."""

    __tablename__ = "idempotency_key"
    year: int = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    request_hash: str = Field(max_length=64)
    created_at: datetime


class EvidenceRow(SQLModel, table=True):
    """An uploaded file, content-addressed: `id` is the sha256 of its bytes. Each unit owns its own uploads."""

    __tablename__ = "evidence"
    id: str = Field(primary_key=True, max_length=64)
    unit: str = Field(primary_key=True, max_length=64)
    media_type: str = Field(max_length=64)
    size: int
    uploaded_by: str = Field(max_length=200)
    created_at: datetime
