"""The action plan (rencana aksi) as its readers see it, and the oversight numbers over plans (both doors).

The plan itself is sent and answered through the lifecycle (`kirim_rencana`, `tanggapi_rencana`); its draft lives in
service/drafts.py. Here: the plan as last sent with the Kanwil's notes and what it says is not done yet (the verifier
reads it next to the report), and the counts per region and nationally, from the read model's plan rows.
"""

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement
from sqlmodel import Session, func, select

from models.contracts import CaseData, TindakanRencana
from models.tables import CaseRow, PlanActionRow, PlanRow, TransitionRow
from service.cases import transitions
from workflows import lifecycle

MOST_TIDAK = 10  # the indicators most often planned at the bottom of their scale ("Tidak") the dashboard lists


class PlanAction(TindakanRencana):
    nama: str  # the indicator's name in the catalogue
    selesai: bool  # met: the state is the top of its scale
    catatan_kanwil: str | None = None


class PlanView(BaseModel):
    year: int
    unit: str
    status: str | None  # dikirim (awaiting the Kanwil), diterima, perbaiki; None: no plan sent
    sent_at: datetime | None
    catatan_kanwil: str | None  # the Kanwil's general note on the plan as last sent
    indikator: list[PlanAction]
    belum_selesai: list[str]  # the indicators the plan says are not met yet: the verifier reads them by the report


def kanwil_answer(steps: list[TransitionRow]) -> dict[str, Any]:
    """The Kanwil's answer to the plan as last sent (none if it was sent again after the answer)."""
    answer: dict[str, Any] = {}
    for step in steps:
        if step.event == "kirim_rencana":
            answer = {}
        elif step.event == "tanggapi_rencana":
            answer = step.payload
    return answer


def plan_view(session: Session, row: CaseRow) -> PlanView:
    """The plan of a case the caller may read (`readable_case(..., "history", ...)`: it is the case's contents)."""
    case = CaseData.model_validate(row.data)
    answer = kanwil_answer(transitions(session, row.year, row.unit)) if case.rencana else {}
    notes = answer.get("indikator", {})
    scales = lifecycle.indicator_scales(case)
    actions = [
        PlanAction(
            **a.model_dump(),
            nama=scales.get(a.kode, ([], a.kode))[1],
            selesai=a.kode in scales and lifecycle.done(a.keadaan, scales[a.kode][0]),
            catatan_kanwil=notes.get(a.kode),
        )
        for a in (case.rencana.indikator if case.rencana else [])
    ]
    return PlanView(
        year=row.year,
        unit=row.unit,
        status=case.rencana_status,
        sent_at=case.rencana_dikirim,
        catatan_kanwil=answer.get("catatan"),
        indikator=actions,
        belum_selesai=[a.kode for a in actions if not a.selesai],
    )


# --- Oversight ------------------------------------------------------------------------------------------------------


class IndicatorCount(BaseModel):
    kode: str
    units: int


class PlanNumbers(BaseModel):
    cases: int  # cases of the cycle (in the filter)
    with_plan: int  # of them, with a plan sent
    share_with_plan: float | None  # with_plan / cases
    accepted: int  # plans the Kanwil accepted as last sent
    overdue_actions: int  # open actions past their target date, in cases still building (followed up)
    most_tidak: list[IndicatorCount]  # the indicators most often planned at the bottom of their scale, most first


class Plans(BaseModel):
    national: PlanNumbers
    by_region: dict[str, PlanNumbers]


def plan_numbers(session: Session, year: int, cases: list[ColumnElement[bool]], now: datetime) -> Plans:
    """Per region and nationally, in a few GROUP BYs over the plan rows of the cases `cases` selects."""
    in_filter = select(CaseRow.unit).where(*cases)
    per_region = dict(session.exec(select(CaseRow.region, func.count()).where(*cases).group_by(CaseRow.region)).all())
    plans = select(PlanRow.region, PlanRow.status, func.count()).where(
        PlanRow.year == year, PlanRow.unit.in_(in_filter)
    )
    sent: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for region, status, n in session.exec(plans.group_by(PlanRow.region, PlanRow.status)):
        sent[region] += n
        accepted[region] += n if status == "diterima" else 0
    building = select(CaseRow.unit).where(*cases, CaseRow.stage.in_(lifecycle.sources("kirim_rencana")))
    a = PlanActionRow
    late = select(a.region, func.count()).where(
        a.year == year,
        a.unit.in_(building),
        a.done == False,  # noqa: E712 (SQL)
        a.target < now,
    )
    overdue = dict(session.exec(late.group_by(a.region)).all())
    lacking = select(a.region, a.kode, func.count()).where(
        a.year == year,
        a.unit.in_(in_filter),
        a.lacking == True,  # noqa: E712 (SQL)
    )
    most: dict[str, Counter[str]] = {}
    for region, kode, n in session.exec(lacking.group_by(a.region, a.kode)):
        most.setdefault(region, Counter())[kode] += n

    def numbers(regions: list[str]) -> PlanNumbers:
        total = sum(per_region.get(r, 0) for r in regions)
        with_plan = sum(sent[r] for r in regions)
        counted = sum((most.get(r, Counter()) for r in regions), Counter())
        ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:MOST_TIDAK]
        return PlanNumbers(
            cases=total,
            with_plan=with_plan,
            share_with_plan=with_plan / total if total else None,
            accepted=sum(accepted[r] for r in regions),
            overdue_actions=sum(overdue.get(r, 0) for r in regions),
            most_tidak=[IndicatorCount(kode=kode, units=n) for kode, n in ranked],
        )

    regions = sorted(per_region)
    return Plans(national=numbers(regions), by_region={r: numbers([r]) for r in regions})


def plan_rows(plans: Plans) -> list[tuple[str, str, str, Any]]:
    """The plan numbers in the dashboard's long table (section, key, item, value): key is the region, or empty for
    the national numbers."""
    out: list[tuple[str, str, str, Any]] = []
    for key, p in [("", plans.national), *plans.by_region.items()]:
        share = "" if p.share_with_plan is None else p.share_with_plan
        out += [
            ("plans", key, name, value)
            for name, value in [
                ("cases", p.cases),
                ("with_plan", p.with_plan),
                ("share_with_plan", share),
                ("accepted", p.accepted),
                ("overdue_actions", p.overdue_actions),
            ]
        ]
        out += [("plans_most_tidak", key, c.kode, c.units) for c in p.most_tidak]
    return out
