"""Which cases a caller may see, for the pages' first list (Beranda) until the worklist of the read rules lands.

Deny by default: a unit's people see their unit, a kanwil its region, Ditjen HAM and auditors every case; the roles
whose reads depend on assignments (verifikator, penilai, ketua_penilai) and admin see none here yet.
"""

from sqlmodel import Session, func, select

from models.contracts import Actor
from models.tables import CaseRow

EVERYTHING = ("ditjen_ham", "auditor")
OWN_UNIT = ("operator_unit", "kepala_unit")


def visible_cases(session: Session, actor: Actor, year: int, offset: int, limit: int) -> tuple[int, list[CaseRow]]:
    """The total and one page of the cases of `year` the actor may see, by unit code."""
    where = [CaseRow.year == year]
    if actor.role in OWN_UNIT:
        where.append(CaseRow.unit == actor.unit)
    elif actor.role == "kanwil":
        where.append(CaseRow.region == actor.region)
    elif actor.role not in EVERYTHING:
        return 0, []
    total = session.exec(select(func.count()).select_from(CaseRow).where(*where)).one()
    rows = session.exec(select(CaseRow).where(*where).order_by(CaseRow.unit).offset(offset).limit(limit)).all()
    return total, list(rows)
