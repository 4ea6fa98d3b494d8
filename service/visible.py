"""Which cases a caller may see, for the pages until the read rules of the access-control work land.

Deny by default, one declared table: a unit's people see their unit, a kanwil its region, Ditjen HAM and auditors
every case; the roles that judge (verifikator, penilai, ketua_penilai) see the cases at the stages where they act,
never their own unit (until assignments decide it); admin sees none here. A case the caller may not see answers 404.
"""

from sqlmodel import Session, func, select

from models.contracts import Actor
from models.tables import CaseRow
from service.errors import ApiError
from workflows.reasons import reason

EVERYTHING = ("ditjen_ham", "auditor")
OWN_UNIT = ("operator_unit", "kepala_unit")
JUDGING = {
    "verifikator": ("verifikasi", "perbaikan", "evaluasi", "lolos_evaluasi", "tidak_lolos", "berpredikat"),
    "penilai": ("evaluasi",),
    "ketua_penilai": ("evaluasi", "lolos_evaluasi", "tidak_lolos", "berpredikat"),
}


def may_read(actor: Actor, row: CaseRow) -> bool:
    if actor.role in EVERYTHING:
        return True
    if actor.role in OWN_UNIT:
        return row.unit == actor.unit
    if actor.role == "kanwil":
        return row.region == actor.region
    return row.stage in JUDGING.get(actor.role, ()) and row.unit != actor.unit


def readable_case(session: Session, actor: Actor, year: int, unit: str) -> CaseRow:
    """The case, if the caller may see it; otherwise the same 404 as an unknown case (its existence is not told)."""
    row = session.get(CaseRow, (year, unit))
    if row is None or not may_read(actor, row):
        raise ApiError(404, "unknown_case", reason("error.kasus_tidak_ditemukan", unit=unit, tahun=year))
    return row


def visible_cases(session: Session, actor: Actor, year: int, offset: int, limit: int) -> tuple[int, list[CaseRow]]:
    """The total and one page of the cases of `year` the actor may see, by unit code."""
    where = [CaseRow.year == year]
    if actor.role in OWN_UNIT:
        where.append(CaseRow.unit == actor.unit)
    elif actor.role == "kanwil":
        where.append(CaseRow.region == actor.region)
    elif actor.role in JUDGING:
        where += [CaseRow.stage.in_(JUDGING[actor.role]), CaseRow.unit != actor.unit]
    elif actor.role not in EVERYTHING:
        return 0, []
    total = session.exec(select(func.count()).select_from(CaseRow).where(*where)).one()
    rows = session.exec(select(CaseRow).where(*where).order_by(CaseRow.unit).offset(offset).limit(limit)).all()
    return total, list(rows)
