"""Drafts over HTTP: a unit saves its report or its action plan and sees which checks still fail before it sends it."""

from fastapi import APIRouter

from models.contracts import Laporan, Rencana
from service import drafts
from service.access import COMMAND, ReadDraft, reads
from service.deps import ActorDep, SessionDep, UnitCode, Year
from service.drafts import DraftView, PlanDraftView
from service.i18n import LocaleDep

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/draft", tags=["cases"])


@router.put("", dependencies=[reads(COMMAND)])
def save_draft(
    year: Year, unit: UnitCode, laporan: Laporan, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> DraftView:
    """Save the report as it stands (nothing is sent), and see what still stands in the way of sending it."""
    return drafts.save_draft(session, year, unit, laporan, actor, locale)


@router.get("")
def get_draft(
    year: Year, unit: UnitCode, row: ReadDraft, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> DraftView:
    """The saved report and the checks it still fails (as the unit's own submission would meet them). Not saved yet
    while reporting is open: the indicators the action plan says are met, with their evidence (`from_plan`)."""
    return drafts.get_draft(session, row, locale)


@router.put("/rencana", dependencies=[reads(COMMAND)])
def save_plan_draft(
    year: Year, unit: UnitCode, rencana: Rencana, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> PlanDraftView:
    """Save the action plan as it stands (nothing is sent: `kirim_rencana` sends it), and see what still stands in
    the way of sending it."""
    return drafts.save_plan_draft(session, year, unit, rencana, actor, locale)


@router.get("/rencana")
def get_plan_draft(
    year: Year, unit: UnitCode, row: ReadDraft, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> PlanDraftView:
    """The saved action plan (or the plan as last sent) and the checks it still fails."""
    return drafts.get_plan_draft(session, row, locale)
