"""The cycle policies and the unit registry as both doors read them: the JSON API and the web pages."""

from sqlmodel import Session

from models.contracts import UnitInfo
from models.policy import CyclePolicy
from models.tables import CycleRow, UnitRow
from service.errors import ApiError
from workflows.reasons import reason


def load_policy(session: Session, year: int) -> CyclePolicy:
    row = session.get(CycleRow, year)
    if row is None:
        raise ApiError(404, "unknown_cycle", reason("error.siklus_tidak_ditemukan", tahun=year))
    return CyclePolicy.model_validate(row.policy)


def load_unit(session: Session, code: str) -> UnitInfo:
    row = session.get(UnitRow, code)
    if row is None:
        raise ApiError(404, "unknown_unit", reason("error.unit_tidak_ditemukan", unit=code))
    return UnitInfo.model_validate(row, from_attributes=True)
