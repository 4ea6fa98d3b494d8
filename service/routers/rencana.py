"""A case's action plan as last sent, with the Kanwil's notes and what it says is not done yet (service/rencana.py)."""

from fastapi import APIRouter

from service import rencana
from service.access import ReadHistory
from service.deps import SessionDep, UnitCode, Year
from service.rencana import PlanView

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/rencana", tags=["cases"])


@router.get("")
def get_plan(year: Year, unit: UnitCode, row: ReadHistory, session: SessionDep) -> PlanView:
    """The action plan as last sent (`kirim_rencana`), the Kanwil's answer (`tanggapi_rencana`), and the indicators
    it says are not met yet (`belum_selesai`), which the verifier reads next to the report. The case's contents:
    read as its history is."""
    return rencana.plan_view(session, row)
