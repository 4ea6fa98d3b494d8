"""The audit log (`transition`) and the refusal log of one case, read from the database as they were written."""

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from models.contracts import Actor, Transition
from models.tables import RefusalRow, TransitionRow


def utc(moment: datetime) -> datetime:
    # SQLite (and a `timestamp` column) give the stored UTC moment back without its zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entry_of(row: TransitionRow) -> Transition:
    """The entry as it was hashed, from the row's own fields. Built without validation, so an altered row (an unknown
    role, say) is still hashed as it stands."""
    actor = Actor.model_construct(
        sub=row.actor_sub, name=row.actor_name, role=row.actor_role, unit=row.actor_unit, region=row.actor_region
    )
    return Transition(
        year=row.year,
        unit=row.unit,
        seq=row.seq,
        at=utc(row.at),
        event=row.event,
        source=row.source,
        target=row.target,
        actor=actor,
        payload=row.payload,
        evidence=row.evidence,
        policy_version=row.policy_version,
        lineage=row.lineage,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def load_rows(session: Session, year: int, unit: str) -> list[TransitionRow]:
    query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
    return list(session.exec(query.order_by(col(TransitionRow.seq))))


def load_refusals(session: Session, year: int, unit: str) -> list[RefusalRow]:
    query = select(RefusalRow).where(RefusalRow.year == year, RefusalRow.unit == unit)
    return list(session.exec(query.order_by(col(RefusalRow.at), col(RefusalRow.id))))
