"""The public register of the Predikat Unit Kerja P2HAM: who was awarded in a year, by which decree, and whether the
award still stands.

Read from the read model: the case's stage and the audit entry of its `tetapkan_penghargaan`. Only what is public
leaves this module: unit code and name, region, year, decree number and date, status, and the decree entry's hash
(so a printed letter can be checked against the audit log). Never scores, evidence or anyone's name.
"""

from datetime import date
from urllib.parse import quote

from pydantic import BaseModel
from sqlmodel import Session, select

from models.tables import CaseRow, TransitionRow
from workflows.lifecycle import Stage

AWARD = "tetapkan_penghargaan"
# The award's status from the case's stage after it: still held, revoked, its validity over, or the case cancelled.
STATUS = {
    Stage.berpredikat: "berlaku",
    Stage.dicabut: "dicabut",
    Stage.selesai: "selesai",
    Stage.dibatalkan: "dibatalkan",
}


class PublicAward(BaseModel):
    year: int
    unit: str
    unit_name: str
    region: str
    decree_number: str
    decree_date: date
    status: str  # one of STATUS's values
    hash: str  # the audit-log hash of the decree's entry


def awards(session: Session, year: int, unit: str | None = None) -> list[PublicAward]:
    """Every award of `year` (or the one of `unit`), by region then unit."""
    query = (
        select(CaseRow, TransitionRow)
        .join(TransitionRow, (TransitionRow.year == CaseRow.year) & (TransitionRow.unit == CaseRow.unit))
        .where(CaseRow.year == year, TransitionRow.event == AWARD)
        .order_by(CaseRow.region, CaseRow.unit)
    )
    if unit is not None:
        query = query.where(CaseRow.unit == unit)
    return [
        PublicAward(
            year=case.year,
            unit=case.unit,
            unit_name=case.data["unit"]["name"],
            region=case.region,
            decree_number=entry.payload["nomor_keputusan"],
            decree_date=date.fromisoformat(entry.payload["tanggal"]),
            status=STATUS[case.stage],
            hash=entry.hash,
        )
        for case, entry in session.exec(query)
    ]


def award(session: Session, year: int, unit: str) -> PublicAward | None:
    found = awards(session, year, unit)
    return found[0] if found else None


def verification_url(public_url: str, year: int, unit: str) -> str:
    """Where anyone checks an award: the address printed (as a QR code) on the letter."""
    return f"{public_url.rstrip('/')}/publik/predikat/{year}/{quote(unit, safe='')}"
