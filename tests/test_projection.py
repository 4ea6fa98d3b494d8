"""The projection activity is idempotent per (case, seq) and never moves a case row backwards."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from activities.projection import Projection
from models.contracts import Actor, CaseData, UnitInfo
from models.policy import CyclePolicy, compressed_calendar
from models.tables import CaseRow, TransitionRow
from workflows import lifecycle

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPERATOR = Actor(sub="op-1", name="Operator", role="operator_unit", unit="LAPAS-PROJ")
DITJEN = Actor(sub="dj-1", name="Ditjen HAM", role="ditjen_ham")


def rows(engine: Engine, year: int) -> tuple[list[tuple], list[tuple]]:
    with Session(engine) as s:
        cases = s.exec(select(CaseRow).where(CaseRow.year == year)).all()
        entries = s.exec(select(TransitionRow).where(TransitionRow.year == year).order_by(TransitionRow.seq)).all()
        return [(c.stage, c.seq, c.deadline) for c in cases], [(e.seq, e.event, e.hash) for e in entries]


def test_projecting_twice_or_out_of_order_changes_nothing(engine: Engine, year: int):
    policy = CyclePolicy(regulation="2023", calendar=compressed_calendar(NOW, timedelta(days=10)))
    case = CaseData(
        year=year, unit=UnitInfo(code="LAPAS-PROJ", name="Lapas", kind="upt_pemasyarakatan", region="R1"), policy=policy
    )
    machine, applied = lifecycle.start(case, OPERATOR, None, NOW)
    after_applied = case.model_copy(deep=True)
    rejected = machine.fire("tolak_permohonan", DITJEN, {"alasan": "berkas belum lengkap"}, NOW + timedelta(hours=1))
    projection = Projection(engine)

    projection.project_transition(rejected, case)
    projection.project_transition(applied, after_applied)  # a late retry of the first step arrives last
    projection.project_transition(rejected, case)  # and a retry of the second
    cases, entries = rows(engine, year)

    assert cases == [("permohonan_ditolak", 2, policy.calendar.applications_close)]
    assert entries == [(1, "ajukan", applied.hash), (2, "tolak_permohonan", rejected.hash)]
    assert rejected.prev_hash == applied.hash
