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
    zona_waktu: str = Field(default="WIB", max_length=4)
    email: str | None = Field(default=None, max_length=256)


class CaseRow(SQLModel, table=True):
    """One case as of its latest projected transition."""

    __tablename__ = "case_view"
    __table_args__ = (
        Index("ix_case_year_stage", "year", "stage"),
        Index("ix_case_year_region", "year", "region"),
        Index("ix_case_year_deadline", "year", "deadline"),
        # The dashboard's GROUP BY region, stage, with or without its kind filter, read from the index alone.
        Index("ix_case_year_region_stage", "year", "region", "stage"),
        Index("ix_case_year_kind_region_stage", "year", "kind", "region", "stage"),
        Index("ix_case_year_final_deadline", "year", "final", "deadline", "unit"),  # overdue, most overdue first
        Index("ix_case_stage_deadline", "stage", "deadline", "unit"),  # a worklist: the stages a role acts in, by date
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
    actor_unit: str | None = Field(default=None, max_length=64)
    actor_region: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    evidence: list[str] = Field(sa_column=Column(JSON, nullable=False))
    policy_version: str = Field(max_length=64)
    # The unit's parents the step was judged with; NULL for a step that recorded none (`Transition.lineage`)
    lineage: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
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
    # {"code", "params"} per reason; rows written before reasons were data hold English sentences
    why: list[dict[str, Any] | str] = Field(sa_column=Column(JSON, nullable=False))
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
    name: str | None = Field(default=None, max_length=200)  # the file's name when first uploaded (none before 0007)
    uploaded_by: str = Field(max_length=200)
    created_at: datetime


class NotificationRow(SQLModel, table=True):
    """The outbox: one row per notice and recipient. Its key makes delivery exactly-once; the in-app feed reads it."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_recipient", "role", "target_unit", "target_region"),)
    key: str = Field(primary_key=True, max_length=400)
    notice_key: str = Field(max_length=300, index=True)
    kind: str = Field(max_length=64)
    year: int
    unit: str = Field(max_length=64)
    role: str = Field(max_length=32)
    target_unit: str | None = Field(default=None, max_length=64)
    target_region: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=256)
    subject: str = Field(max_length=300)
    body: str
    due_at: datetime
    created_at: datetime
    emailed_at: datetime | None = None


class CeremonyRow(SQLModel, table=True):
    """One pencanangan ceremony for many units, as of its latest projected step (`version`)."""

    __tablename__ = "ceremony"
    __table_args__ = (Index("ix_ceremony_year_region", "year", "region"),)
    year: int = Field(primary_key=True)
    id: str = Field(primary_key=True, max_length=64)
    region: str = Field(max_length=64)
    status: str = Field(max_length=32)
    version: int
    closed: bool
    updated_at: datetime
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class CeremonyUnitRow(SQLModel, table=True):
    """One unit of a ceremony: what the ceremony's latest event did to its case, and every event's outcome."""

    __tablename__ = "ceremony_unit"
    __table_args__ = (Index("ix_ceremony_unit_case", "year", "unit"),)
    year: int = Field(primary_key=True)
    ceremony: str = Field(primary_key=True, max_length=64)
    unit: str = Field(primary_key=True, max_length=64)
    position: int
    version: int
    event: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=16)
    stage: str | None = Field(default=None, max_length=32)
    why: list[dict[str, Any] | str] = Field(sa_column=Column(JSON, nullable=False))  # as RefusalRow.why
    results: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class UnsentDraft(SQLModel):
    """What a unit saves of a payload it has not sent yet, once per case: the columns of both kinds of draft."""

    year: int = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=64)
    # sa_type, not sa_column: each table gets its own column (one Column object cannot belong to two tables).
    payload: dict[str, Any] = Field(sa_type=JSON, nullable=False)
    saved_by: str = Field(max_length=200)
    saved_at: datetime


class DraftRow(UnsentDraft, table=True):
    """A unit's unsent report: saved as often as it likes, checked like a submission, sent only by `kirim_laporan`."""

    __tablename__ = "draft"


class ArchivedRunRow(SQLModel, table=True):
    """One closed case run's Temporal history, exported to the archive (service/archive.py): where it is, and the
    sha256 of its bytes, so the audit can replay it after Temporal's retention and notice if it was changed."""

    __tablename__ = "archived_run"
    workflow_id: str = Field(primary_key=True, max_length=128)
    run_id: str = Field(primary_key=True, max_length=64)
    run_number: int  # 1 for the case's first run; a case that continued as new has more
    year: int
    unit: str = Field(max_length=64)
    location: str = Field(max_length=512)  # file:///... or s3://bucket/key
    sha256: str = Field(max_length=64)
    size: int
    events: int
    archived_at: datetime


class WebSessionRow(SQLModel, table=True):
    """A web page session (/ui/): the cookie carries only a signed random id; its sha256 is the key here."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True, max_length=64)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    expires_at: datetime = Field(index=True)


class AssignmentRow(SQLModel, table=True):
    """Who is assigned to a case (`tugaskan`), projected from the case: lists of assigned cases filter in SQL by it."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_sub", "sub", "role", "year"),)
    year: int = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=64)
    sub: str = Field(primary_key=True, max_length=200)
    role: str = Field(primary_key=True, max_length=32)


class ReadLogRow(SQLModel, table=True):
    """Who read what is confidential of a case (evidence files, score sheets, audit packs, witnesses' personal data),
    and when (UU 27/2022 on personal data protection). Never updated; auditors read it per case."""

    __tablename__ = "read_log"
    __table_args__ = (Index("ix_read_log_case", "year", "unit", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    year: int
    unit: str = Field(max_length=64)
    what: str = Field(max_length=100)
    actor_sub: str = Field(max_length=200)
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(max_length=32)


class NotificationReadRow(SQLModel, table=True):
    """A notification someone has seen on the Notifikasi page: the feed marks the others as unread."""

    __tablename__ = "notification_read"
    sub: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=400)  # NotificationRow.key
    read_at: datetime


class PlanDraftRow(UnsentDraft, table=True):
    """A unit's unsent action plan (rencana aksi): saved as often as it likes, sent only by `kirim_rencana`."""

    __tablename__ = "plan_draft"


class PlanRow(SQLModel, table=True):
    """A case's action plan as last sent, and the Kanwil's answer to it: the oversight counts read these rows."""

    __tablename__ = "plan"
    __table_args__ = (Index("ix_plan_year_region", "year", "region", "status"),)
    year: int = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=64)
    region: str = Field(max_length=64)
    status: str = Field(max_length=16)  # dikirim, diterima, perbaiki
    sent_at: datetime


class PlanActionRow(SQLModel, table=True):
    """One indicator of a case's plan as last sent: its state, whether it is met, and the action's target date."""

    __tablename__ = "plan_action"
    __table_args__ = (
        Index("ix_plan_action_lacking", "year", "lacking"),
        Index("ix_plan_action_open", "year", "done", "target"),
    )
    year: int = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=64)
    kode: str = Field(primary_key=True, max_length=64)
    region: str = Field(max_length=64)
    keadaan: str = Field(max_length=200)
    done: bool  # at the top of its scale (met)
    lacking: bool  # at the bottom of its scale (Tidak): what the programme may have to fund or help with
    target: datetime | None = None


class JobRunRow(SQLModel, table=True):
    """A long job started from a page (service/background.py): its progress as the process running it last wrote it.
    `running` is "kind:year" while the run may still be going, and unique: the database allows one run per kind and
    cycle at a time. It is emptied when the run finishes, or when a new start finds the run stopped (no heartbeat)."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ux_job_run_running", "running", unique=True),)
    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16)
    year: int
    region: str | None = Field(default=None, max_length=64)  # a cohort of one region (None: all)
    started_by: str = Field(max_length=200)
    started_at: datetime
    heartbeat_at: datetime  # written by the running process as it goes; old, the process is gone
    total: int | None = None  # known once the job has listed its work
    done: int
    counts: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
    results: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    warning: str | None = None
    failure: str | None = None  # the job stopped on an unexpected error (technical words)
    refused: list[Any] = Field(sa_column=Column(JSON, nullable=False))  # reasons, as RefusalRow.why
    finished: bool
    running: str | None = Field(default=None, max_length=40)
