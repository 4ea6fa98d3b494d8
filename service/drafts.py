"""Report drafts: a unit saves its answers and sees which checks still fail before it submits (both doors)."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from models.contracts import Actor, CaseData, Laporan
from models.tables import DraftRow
from service.cases import load_case
from service.errors import ApiError
from service.evidence import resolve
from service.i18n import render
from workflows import lifecycle
from workflows.reasons import Reason, reason


class DraftView(BaseModel):
    year: int
    unit: str
    event: str
    saved_at: datetime | None
    laporan: dict[str, Any]
    ready: bool
    checks: list[str]  # what still stands in the way of sending, in the reader's words
    check_codes: list[Reason]  # the same as data


def draft_view(session: Session, case: CaseData, actor: Actor, row: DraftRow | None, locale: str) -> DraftView:
    """The same checks the submission will meet: the lifecycle's own, with the evidence store's answers."""
    event = "kirim_perbaikan" if case.stage == "perbaikan" else "kirim_laporan"
    payload = row.payload if row else {"indikator": []}
    evidence = resolve(session, Laporan.model_validate(payload), case.unit.code)
    checks = lifecycle.refused(case, event, actor, datetime.now(UTC), payload, evidence)
    return DraftView(
        year=case.year,
        unit=case.unit.code,
        event=event,
        saved_at=row.saved_at if row else None,
        laporan=payload,
        ready=not checks,
        checks=[render(r, locale) for r in checks],
        check_codes=checks,
    )


def own_case(session: Session, year: int, unit: str, actor: Actor) -> CaseData:
    case = CaseData.model_validate(load_case(session, year, unit).data)
    forbidden = lifecycle.forbidden(case, "kirim_laporan", actor)
    if forbidden:
        raise ApiError(403, "forbidden", reason("error.laporan_milik_operator_unit"), forbidden)
    return case


def save_draft(session: Session, year: int, unit: str, laporan: Laporan, actor: Actor, locale: str) -> DraftView:
    """Save the report as it stands (nothing is sent), and see what still stands in the way of sending it."""
    case = own_case(session, year, unit, actor)
    row = session.get(DraftRow, (year, unit)) or DraftRow(
        year=year, unit=unit, payload={}, saved_by="", saved_at=datetime.now(UTC)
    )
    row.payload, row.saved_by, row.saved_at = laporan.model_dump(mode="json"), actor.sub, datetime.now(UTC)
    session.add(row)
    session.commit()
    return draft_view(session, case, actor, row, locale)


def get_draft(session: Session, year: int, unit: str, actor: Actor, locale: str) -> DraftView:
    case = own_case(session, year, unit, actor)
    return draft_view(session, case, actor, session.get(DraftRow, (year, unit)), locale)
