"""Projection of each transition to the read model and audit log: idempotent, keyed by (case, seq)."""

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio import activity

from models.contracts import PROJECT_TRANSITION, CaseData, Transition
from models.tables import AssignmentRow, CaseRow, PlanActionRow, PlanRow, TransitionRow
from workflows import access, lifecycle


class Projection:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name=PROJECT_TRANSITION)
    def project_transition(self, entry: Transition, case: CaseData) -> None:
        """Write the entry once, and move the case row forward only: a retry or a late twin changes nothing."""
        self._insert_once(transition_row(entry))
        row = case_row(case)
        with Session(self.engine) as session:
            moved = session.execute(
                update(CaseRow)
                .where(CaseRow.year == row.year, CaseRow.unit == row.unit, CaseRow.seq < row.seq)
                .values(**row.model_dump(exclude={"year", "unit"}))
            )
            session.commit()
        if moved.rowcount == 0:
            self._insert_once(row)
        if entry.event == "tugaskan":
            self._assignments(row.year, row.unit)
        if entry.event in ("kirim_rencana", "tanggapi_rencana"):
            self._plan(row.year, row.unit)

    def _assignments(self, year: int, unit: str) -> None:
        """The case's team as rows, from the case row as it stands (it only moves forward, so a late retry of an
        older `tugaskan` writes the newest team, not its own)."""
        with Session(self.engine) as session:
            current = session.get(CaseRow, (year, unit))
            team = CaseData.model_validate(current.data).penugasan if current else None
            session.execute(delete(AssignmentRow).where(AssignmentRow.year == year, AssignmentRow.unit == unit))
            if team is not None:
                session.add_all(
                    AssignmentRow(year=year, unit=unit, sub=sub, role=role)
                    for role in access.JUDGES
                    for sub in team.members(role)
                )
            session.commit()

    def _plan(self, year: int, unit: str) -> None:
        """The plan as last sent, and its answer, as rows for the oversight counts; from the case row as it stands,
        like the team above, so a late retry of an older step writes the newest plan."""
        with Session(self.engine) as session:
            current = session.get(CaseRow, (year, unit))
            case = CaseData.model_validate(current.data) if current else None
            session.execute(delete(PlanActionRow).where(PlanActionRow.year == year, PlanActionRow.unit == unit))
            session.execute(delete(PlanRow).where(PlanRow.year == year, PlanRow.unit == unit))
            if case is not None and case.rencana is not None and case.rencana_status is not None:
                region, scales = case.unit.region, lifecycle.indicator_scales(case)
                sent = case.rencana_dikirim or current.updated_at
                session.add(PlanRow(year=year, unit=unit, region=region, status=case.rencana_status, sent_at=sent))
                session.add_all(
                    PlanActionRow(
                        year=year,
                        unit=unit,
                        kode=action.kode,
                        region=region,
                        keadaan=action.keadaan,
                        done=action.kode in scales and lifecycle.done(action.keadaan, scales[action.kode][0]),
                        lacking=action.kode in scales and lifecycle.lacking(action.keadaan, scales[action.kode][0]),
                        target=action.target,
                    )
                    for action in case.rencana.indikator
                )
            session.commit()

    def _insert_once(self, row: TransitionRow | CaseRow) -> None:
        with Session(self.engine) as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # already there: this is a retry, or the case row is already further on


def transition_row(entry: Transition) -> TransitionRow:
    return TransitionRow(
        year=entry.year,
        unit=entry.unit,
        seq=entry.seq,
        at=entry.at,
        event=entry.event,
        source=entry.source,
        target=entry.target,
        actor_sub=entry.actor.sub,
        actor_name=entry.actor.name,
        actor_role=entry.actor.role,
        actor_unit=entry.actor.unit,
        actor_region=entry.actor.region,
        payload=entry.payload,
        evidence=entry.evidence,
        policy_version=entry.policy_version,
        lineage=entry.lineage,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


def case_row(case: CaseData) -> CaseRow:
    timer = lifecycle.next_timer(case)
    return CaseRow(
        year=case.year,
        unit=case.unit.code,
        region=case.unit.region,
        kind=case.unit.kind,
        stage=case.stage or "",
        final=case.stage in lifecycle.FINAL_STAGES,
        seq=case.seq,
        deadline=timer.at if timer else None,
        updated_at=datetime.now(UTC),
        data=case.model_dump(mode="json"),
    )
