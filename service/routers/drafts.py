"""Report drafts: a unit saves its answers and sees which checks still fail before it submits."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from models.contracts import Actor, CaseData, Laporan
from models.tables import DraftRow
from service.access import COMMAND, ReadDraft, reads
from service.deps import ActorDep, SessionDep, Year
from service.errors import ApiError
from service.routers.cases import load_case
from service.routers.evidence import resolve
from workflows import lifecycle

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/draft", tags=["cases"])


class DraftView(BaseModel):
    year: int
    unit: str
    event: str
    saved_at: datetime | None
    laporan: dict[str, Any]
    ready: bool
    checks: list[str]


def draft_view(session: SessionDep, case: CaseData, actor: Actor, row: DraftRow | None) -> DraftView:
    """The same checks the submission will meet: the lifecycle's own, with the evidence store's answers."""
    event = "kirim_perbaikan" if case.stage == "perbaikan" else "kirim_laporan"
    payload = row.payload if row else {"indikator": []}
    evidence = resolve(session, Laporan.model_validate(payload), case.unit.code)
    operator = Actor(sub=actor.sub, name=actor.name, role="operator_unit", unit=case.unit.code)  # who will send it
    checks = lifecycle.refused(case, event, operator, datetime.now(UTC), payload, evidence)
    return DraftView(
        year=case.year,
        unit=case.unit.code,
        event=event,
        saved_at=row.saved_at if row else None,
        laporan=payload,
        ready=not checks,
        checks=checks,
    )


def own_case(session: SessionDep, year: int, unit: str, actor: Actor) -> CaseData:
    case = CaseData.model_validate(load_case(session, year, unit).data)
    forbidden = lifecycle.forbidden(case, "kirim_laporan", actor)
    if forbidden:
        raise ApiError(403, "forbidden", "Only the unit's own operator works on its report.", forbidden)
    return case


@router.put("", dependencies=[reads(COMMAND)])
def save_draft(year: Year, unit: str, laporan: Laporan, actor: ActorDep, session: SessionDep) -> DraftView:
    """Save the report as it stands (nothing is sent), and see what still stands in the way of sending it."""
    case = own_case(session, year, unit, actor)
    row = session.get(DraftRow, (year, unit)) or DraftRow(
        year=year, unit=unit, payload={}, saved_by="", saved_at=datetime.now(UTC)
    )
    row.payload, row.saved_by, row.saved_at = laporan.model_dump(mode="json"), actor.sub, datetime.now(UTC)
    session.add(row)
    session.commit()
    return draft_view(session, case, actor, row)


@router.get("")
def get_draft(year: Year, unit: str, row: ReadDraft, actor: ActorDep, session: SessionDep) -> DraftView:
    """The saved report and the checks it still fails (as the unit's own submission would meet them)."""
    case = CaseData.model_validate(row.data)
    return draft_view(session, case, actor, session.get(DraftRow, (year, unit)))
