"""Report drafts over HTTP: a unit saves its answers and sees which checks still fail before it submits."""

from fastapi import APIRouter

from models.contracts import Laporan
from service import drafts
from service.access import COMMAND, ReadDraft, reads
from service.deps import ActorDep, SessionDep, UnitCode, Year
from service.drafts import DraftView
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
    """The saved report and the checks it still fails (as the unit's own submission would meet them)."""
    return drafts.get_draft(session, row, locale)
