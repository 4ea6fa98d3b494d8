"""The in-app feed: what was sent to a person's role, for their unit (unit roles) or region (kanwil), newest first;
and which of it they have seen on the Notifikasi page."""

from datetime import UTC, datetime

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from models.contracts import Actor
from models.tables import CaseRow, NotificationReadRow, NotificationRow
from service.access import visible_cases


def feed(session: Session, actor: Actor, year: int | None, limit: int) -> list[NotificationRow]:
    """What was sent to the official's role about the cases it may see (`service.access`): its unit's (unit roles),
    its region's (kanwil), the cases assigned to it (verifiers and assessors)."""
    cases = select(CaseRow.year, CaseRow.unit).where(visible_cases(actor, "notification"))
    query = select(NotificationRow).where(
        NotificationRow.role == actor.role, tuple_(NotificationRow.year, NotificationRow.unit).in_(cases)
    )
    if year is not None:
        query = query.where(NotificationRow.year == year)
    return list(session.exec(query.order_by(col(NotificationRow.due_at).desc()).limit(limit)))


def seen(session: Session, sub: str, rows: list[NotificationRow]) -> set[str]:
    """The keys of `rows` this person has already seen."""
    keys = [r.key for r in rows]
    query = select(NotificationReadRow.key).where(
        NotificationReadRow.sub == sub, col(NotificationReadRow.key).in_(keys)
    )
    return set(session.exec(query))


def mark_seen(session: Session, sub: str, keys: set[str]) -> None:
    now = datetime.now(UTC)
    for key in keys:
        session.merge(NotificationReadRow(sub=sub, key=key, read_at=now))
    session.commit()
