"""The in-app feed: the caller's reminders and escalations, newest first."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import tuple_
from sqlmodel import col, select

from models.tables import CaseRow, NotificationRow
from service.access import reads, visible_cases
from service.deps import ActorDep, SessionDep

router = APIRouter(tags=["notifications"])


class NotificationView(BaseModel):
    kind: str
    year: int
    unit: str
    subject: str
    body: str
    due_at: datetime
    emailed: bool


@router.get("/notifications", dependencies=[reads("notification")])
def my_notifications(
    actor: ActorDep,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=1900, le=9999)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[NotificationView]:
    """What was sent to your role about the cases you may see: your unit's (unit roles), your region's (kanwil), the
    cases assigned to you (verifiers and assessors)."""
    cases = select(CaseRow.year, CaseRow.unit).where(visible_cases(actor, "notification"))
    query = select(NotificationRow).where(
        NotificationRow.role == actor.role, tuple_(NotificationRow.year, NotificationRow.unit).in_(cases)
    )
    if year is not None:
        query = query.where(NotificationRow.year == year)
    rows = session.exec(query.order_by(col(NotificationRow.due_at).desc()).limit(limit))
    return [
        NotificationView(
            kind=r.kind,
            year=r.year,
            unit=r.unit,
            subject=r.subject,
            body=r.body,
            due_at=r.due_at,
            emailed=r.emailed_at is not None,
        )
        for r in rows
    ]
