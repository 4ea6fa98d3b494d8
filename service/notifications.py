"""The in-app feed: what was sent to a person's role, for their unit (unit roles) or region (kanwil), newest first;
and which of it they have seen on the Notifikasi page."""

from datetime import UTC, datetime

from sqlmodel import Session, col, or_, select

from models.contracts import Actor
from models.tables import NotificationReadRow, NotificationRow


def feed(session: Session, actor: Actor, year: int | None, limit: int) -> list[NotificationRow]:
    query = select(NotificationRow).where(NotificationRow.role == actor.role)
    if actor.unit or actor.region:
        scope = []
        if actor.unit:
            scope.append(NotificationRow.target_unit == actor.unit)
        if actor.region:
            scope.append(NotificationRow.target_region == actor.region)
        query = query.where(or_(*scope))
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
