"""The ceremony's side effects: sending one case event to one unit's case, and projecting the ceremony."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.contracts import EventRequest
from models.tables import CeremonyRow, CeremonyUnitRow
from workflows.ceremony import PROJECT_CEREMONY, SEND_UNIT_EVENT, CeremonyState, UnitEvent, UnitResult
from workflows.reasons import Reason, reason, received
from workflows.unit import CaseWorkflow, case_workflow_id


class CeremonyActivities:
    def __init__(self, client: Client, engine: Engine) -> None:
        self.client = client
        self.engine = engine

    def activities(self) -> list[Callable[..., Any]]:
        """For the worker: every activity of the ceremony, bound to this client and engine."""
        return [self.send_unit_event, self.project_ceremony]

    @activity.defn(name=SEND_UNIT_EVENT)
    async def send_unit_event(self, request: UnitEvent) -> UnitResult:
        """The case event, through the case workflow's own Update (its validator asks the lifecycle). A refusal is
        this unit's outcome, not an error; anything else is retried by Temporal, and the update id makes a retry of
        an event that already went through return its first result instead of applying it twice."""
        handle = self.client.get_workflow_handle(case_workflow_id(request.year, request.unit))
        try:
            case = await handle.execute_update(
                CaseWorkflow.kirim,
                EventRequest(event=request.event, actor=request.actor, payload=request.payload),
                id=request.update_id,
            )
        except WorkflowUpdateFailedError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError) and cause.type == "Refused":
                why = received(cause.details[0]) if cause.details else [cause.message]
                return UnitResult(unit=request.unit, outcome="refused", why=why)
            raise
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:  # the case workflow has ended (or never started)
                why = [reason("kasus_berakhir", unit=request.unit, tahun=request.year)]
                return UnitResult(unit=request.unit, outcome="refused", why=why)
            raise
        return UnitResult(unit=request.unit, outcome="applied", stage=case.stage, seq=case.seq)

    @activity.defn(name=PROJECT_CEREMONY)
    def project_ceremony(self, state: CeremonyState) -> None:
        """Write the ceremony and its units as of `state.version`, in one transaction, moving forward only: a retry
        or a late twin of an older version changes nothing."""
        start = state.start
        rows: list[CeremonyRow | CeremonyUnitRow] = [ceremony_row(state)]
        rows += [unit_row(state, position, unit) for position, unit in enumerate(start.units)]
        with Session(self.engine) as session:
            for row in rows:
                move_forward(session, row)
            session.commit()  # a unique violation (a twin inserted first) fails the attempt; the retry updates


def move_forward(session: Session, row: CeremonyRow | CeremonyUnitRow) -> None:
    """Update the row if ours is a later version, insert it if it is not there yet; never go back."""
    table = type(row)
    key = {c.name: getattr(row, c.name) for c in table.__table__.primary_key.columns}
    moved = session.execute(
        update(table)
        .where(*(getattr(table, name) == value for name, value in key.items()), table.version < row.version)
        .values(**row.model_dump(exclude=set(key)))
    )
    if moved.rowcount == 0 and session.get(table, key) is None:
        session.add(row)


def ceremony_row(state: CeremonyState) -> CeremonyRow:
    return CeremonyRow(
        year=state.start.year,
        id=state.start.id,
        region=state.start.region,
        status=state.status,
        version=state.version,
        closed=state.closed,
        updated_at=datetime.now(UTC),
        data=state.model_dump(mode="json"),
    )


def unit_row(state: CeremonyState, position: int, unit: str) -> CeremonyUnitRow:
    """The unit's outcome of the ceremony's latest event that went to it, and of each event (the latest try)."""
    results: dict[str, Any] = {}
    last = None
    for step in state.steps:
        for result in step.results:
            if result.unit == unit:
                last = (step, result)
                results[step.event] = {"step": step.step, "at": step.at.isoformat(), **result.model_dump(mode="json")}
    step, result = last or (None, None)
    return CeremonyUnitRow(
        year=state.start.year,
        ceremony=state.start.id,
        unit=unit,
        position=position,
        version=state.version,
        event=step.event if step else None,
        outcome=result.outcome if result else None,
        stage=result.stage if result else None,
        why=[r.model_dump() if isinstance(r, Reason) else r for r in result.why] if result else [],
        results=results,
    )
