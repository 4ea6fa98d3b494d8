"""The in-app feed: the caller's reminders and escalations, newest first."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service import notifications
from service.access import reads
from service.deps import ActorDep, QueryYear, SessionDep

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
    year: QueryYear = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[NotificationView]:
    """What was sent to your role about the cases you may see: your unit's (unit roles), your region's (kanwil), the
    cases assigned to you (verifiers and assessors)."""
    rows = notifications.feed(session, actor, year, limit)
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
