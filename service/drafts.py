"""Drafts: a unit saves its report (or its action plan) and sees which checks still fail before it sends it (both
doors). A report draft that the unit has not saved yet starts from the plan: the indicators the plan says are met,
with their evidence of progress, so the unit does not type them twice."""

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlmodel import Session

from models.contracts import Actor, CaseData, Laporan, Payload, Rencana
from models.tables import CaseRow, DraftRow, PlanDraftRow, UnsentDraft
from service.cases import load_case
from service.errors import ApiError
from service.evidence import resolve
from service.i18n import render
from workflows import lifecycle
from workflows.reasons import Reason, reason

Draft = TypeVar("Draft", bound=UnsentDraft)


class DraftView(BaseModel):
    year: int
    unit: str
    event: str
    saved_at: datetime | None
    laporan: dict[str, Any]
    from_plan: bool = False  # not saved yet: proposed from the action plan's met indicators
    ready: bool
    checks: list[str]  # what still stands in the way of sending, in the reader's words
    check_codes: list[Reason]  # the same as data


class PlanDraftView(BaseModel):
    year: int
    unit: str
    saved_at: datetime | None
    rencana: dict[str, Any]  # the draft; not saved yet: the plan as last sent, or an empty one
    ready: bool
    checks: list[str]
    check_codes: list[Reason]


def checked(
    session: Session, case: CaseData, event: str, model: type[Payload], payload: dict[str, Any]
) -> list[Reason]:
    """The same checks the submission will meet: the lifecycle's own, with the evidence store's answers, as the
    unit's operator will meet them (whoever reads the draft)."""
    evidence = resolve(session, model.model_validate(payload), case.unit.code)
    operator = Actor(sub="operator", role="operator_unit", unit=case.unit.code)  # who will send it
    return lifecycle.refused(case, event, operator, datetime.now(UTC), payload, evidence)


def from_plan(case: CaseData) -> dict[str, Any] | None:
    """The report as the plan proposes it when reporting opens: each indicator the plan says is met, with the
    evidence of progress the plan names. None when the case has no plan or does not report now."""
    if case.rencana is None or case.stage not in lifecycle.sources("kirim_laporan"):
        return None
    scales = lifecycle.indicator_scales(case)
    met = [a for a in case.rencana.indikator if a.kode in scales and lifecycle.done(a.keadaan, scales[a.kode][0])]
    return {"indikator": [{"kode": a.kode, "nilai": a.keadaan, "bukti": a.bukti} for a in met]}


def draft_view(session: Session, case: CaseData, row: DraftRow | None, locale: str) -> DraftView:
    event = "kirim_perbaikan" if case.stage in lifecycle.sources("kirim_perbaikan") else "kirim_laporan"
    proposed = from_plan(case) if row is None else None
    payload = row.payload if row else proposed or {"indikator": []}
    checks = checked(session, case, event, Laporan, payload)
    return DraftView(
        year=case.year,
        unit=case.unit.code,
        event=event,
        saved_at=row.saved_at if row else None,
        laporan=payload,
        from_plan=proposed is not None,
        ready=not checks,
        checks=[render(r, locale) for r in checks],
        check_codes=checks,
    )


def plan_draft_view(session: Session, case: CaseData, row: PlanDraftRow | None, locale: str) -> PlanDraftView:
    sent = case.rencana.model_dump(mode="json") if case.rencana else {"indikator": []}
    payload = row.payload if row else sent
    checks = checked(session, case, "kirim_rencana", Rencana, payload)
    return PlanDraftView(
        year=case.year,
        unit=case.unit.code,
        saved_at=row.saved_at if row else None,
        rencana=payload,
        ready=not checks,
        checks=[render(r, locale) for r in checks],
        check_codes=checks,
    )


def own_case(session: Session, year: int, unit: str, actor: Actor, event: str = "kirim_laporan") -> CaseData:
    """The case, if this official is the one who sends `event` for it (the unit's own operator)."""
    case = CaseData.model_validate(load_case(session, year, unit).data)
    forbidden = lifecycle.forbidden(case, event, actor)
    if forbidden:
        plan = event == "kirim_rencana"
        message = reason("error.rencana_milik_operator_unit") if plan else reason("error.laporan_milik_operator_unit")
        raise ApiError(403, "forbidden", message, forbidden)
    return case


def saved(session: Session, table: type[Draft], year: int, unit: str, payload: Payload, actor: Actor) -> Draft:
    """The case's draft in `table`, made or replaced by `payload`, as `actor` saved it now."""
    fields = {"payload": payload.model_dump(mode="json"), "saved_by": actor.sub, "saved_at": datetime.now(UTC)}
    row = session.get(table, (year, unit))
    row = table(year=year, unit=unit, **fields) if row is None else row.sqlmodel_update(fields)
    session.add(row)
    session.commit()
    return row


def save_draft(session: Session, year: int, unit: str, laporan: Laporan, actor: Actor, locale: str) -> DraftView:
    """Save the report as it stands (nothing is sent), and see what still stands in the way of sending it."""
    case = own_case(session, year, unit, actor)
    return draft_view(session, case, saved(session, DraftRow, year, unit, laporan, actor), locale)


def save_plan_draft(
    session: Session, year: int, unit: str, rencana: Rencana, actor: Actor, locale: str
) -> PlanDraftView:
    """Save the action plan as it stands (nothing is sent), and see what still stands in the way of sending it."""
    case = own_case(session, year, unit, actor, "kirim_rencana")
    return plan_draft_view(session, case, saved(session, PlanDraftRow, year, unit, rencana, actor), locale)


def get_draft(session: Session, row: CaseRow, locale: str) -> DraftView:
    """The draft of a case the caller may read (`service.access.readable_case(..., "draft", ...)`)."""
    return draft_view(session, CaseData.model_validate(row.data), session.get(DraftRow, (row.year, row.unit)), locale)


def get_plan_draft(session: Session, row: CaseRow, locale: str) -> PlanDraftView:
    """The plan draft of a case the caller may read (the same read rule as the report draft)."""
    case = CaseData.model_validate(row.data)
    return plan_draft_view(session, case, session.get(PlanDraftRow, (row.year, row.unit)), locale)
