"""Report drafts over HTTP: a unit saves its answers and sees which checks still fail before it submits."""

from fastapi import APIRouter

from models.contracts import Laporan
from service import drafts
from service.deps import ActorDep, SessionDep
from service.drafts import DraftView
from service.i18n import LocaleDep

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/draft", tags=["cases"])


@router.put("")
def save_draft(
    year: int, unit: str, laporan: Laporan, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> DraftView:
    """Save the report as it stands (nothing is sent), and see what still stands in the way of sending it."""
    return drafts.save_draft(session, year, unit, laporan, actor, locale)


@router.get("")
def get_draft(year: int, unit: str, actor: ActorDep, session: SessionDep, locale: LocaleDep) -> DraftView:
    return drafts.get_draft(session, year, unit, actor, locale)
