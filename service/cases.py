"""Cases as both doors use them (the JSON API and the web pages): read one, start one, send an event to one.

Each operation checks what the lifecycle asks (`workflows/lifecycle.py`) and raises `ApiError` with the reasons; the
API answers it as JSON, the pages as an error summary. Writes go to the case workflow; reads to the read model.
"""

from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlmodel import Session, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.contracts import Actor, CaseData, CaseStart, EventRequest, UnitInfo
from models.policy import CyclePolicy
from models.tables import CaseRow, TransitionRow
from service.deps import temporal_errors
from service.errors import ApiError, payload_or_422
from service.evidence import resolve
from service.records import claim_idempotency_key, refusals_logged
from service.registry import load_policy, load_unit
from workflows import lifecycle
from workflows.reasons import reason
from workflows.unit import REGION, UNIT, YEAR, CaseWorkflow, case_workflow_id


def load_case(session: Session, year: int, unit: str) -> CaseRow:
    row = session.get(CaseRow, (year, unit))
    if row is None:
        raise ApiError(404, "unknown_case", reason("error.kasus_tidak_ditemukan", unit=unit, tahun=year))
    return row


def now() -> datetime:
    return datetime.now(UTC)


def transitions(session: Session, year: int, unit: str, cutoff: datetime | None = None) -> list[TransitionRow]:
    """The case's steps in order (up to `cutoff`), from the read model."""
    query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
    if cutoff is not None:
        query = query.where(TransitionRow.at <= cutoff)
    return list(session.exec(query.order_by(TransitionRow.seq)))


class CaseStartOptions(TypedDict):
    """Temporal's start options of a case workflow, the same for every path that starts one (`case_start`)."""

    id: str
    task_queue: str
    id_reuse_policy: WorkflowIDReusePolicy
    search_attributes: TypedSearchAttributes


def case_start(
    task_queue: str,
    year: int,
    unit: UnitInfo,
    policy: CyclePolicy,
    applicant: Actor,
    catatan: str | None = None,
) -> tuple[CaseStart, CaseStartOptions]:
    """The workflow input and start options of the unit's case for `year`: the one source for `start_case` and
    `begin_case`. The workflow id is fixed per unit and year, and never reused (one case per unit per year)."""
    start = CaseStart(case=CaseData(year=year, unit=unit, policy=policy), applicant=applicant, catatan=catatan)
    search = [
        SearchAttributePair(YEAR, year),
        SearchAttributePair(REGION, unit.region),
        SearchAttributePair(UNIT, unit.code),
    ]
    return start, CaseStartOptions(
        id=case_workflow_id(year, unit.code),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(search),
    )


async def start_case(client: Client, start: CaseStart, options: CaseStartOptions) -> CaseData:
    """Start the unit's case workflow and return the case once its application is in the read model.

    A unit's own application (`POST /cycles/{year}/cases`). Idempotent per unit and year: a second start attaches to
    the running case (USE_EXISTING) and waits as the first does.
    """
    async with temporal_errors():
        return await client.execute_update_with_start_workflow(
            CaseWorkflow.ajukan,
            start_workflow_operation=WithStartWorkflowOperation(
                CaseWorkflow.run, start, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, **options
            ),
        )


async def begin_case(client: Client, start: CaseStart, options: CaseStartOptions) -> bool:
    """Start the unit's case workflow without waiting for a worker; False if the case exists already.

    Cohorts (service/cohort.py): Temporal answers as soon as the workflow is recorded, and the workflow projects the
    application into the read model on its first run, moments later. "Exists" includes a case started but not yet in
    the read model, and an ended one: a workflow id is never started twice (FAIL, REJECT_DUPLICATE).
    """
    try:
        async with temporal_errors():
            await client.start_workflow(
                CaseWorkflow.run, start, id_conflict_policy=WorkflowIDConflictPolicy.FAIL, **options
            )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def apply(
    session: Session, client: Client, task_queue: str, year: int, unit_code: str, actor: Actor, catatan: str | None
) -> tuple[CaseData, bool]:
    """A unit applies (`ajukan`): starts its case for the year; (the case, newly started). Applying again returns
    the same case."""
    policy = load_policy(session, year)
    with refusals_logged(session, year, unit_code, "ajukan", actor, {"unit": unit_code, "catatan": catatan}):
        forbidden, why = lifecycle.application_refused(policy, unit_code, actor, now())
        if forbidden:
            raise ApiError(403, "forbidden", reason("error.tidak_boleh_mengajukan", unit=unit_code), forbidden)
        unit = load_unit(session, unit_code)
        existing = session.get(CaseRow, (year, unit_code))
        if existing is not None and existing.final:
            ended = [reason("kasus_sudah_berakhir", tahun=year, stage=existing.stage)]
            raise ApiError(409, "case_exists", reason("error.satu_kasus_per_tahun"), ended)
        if existing is not None:
            return CaseData.model_validate(existing.data), False
        if why:
            raise ApiError(409, "refused", reason("error.permohonan_tidak_dapat_diterima"), why)
    session.close()  # no database connection is held while Temporal works (the pool is small, the waits long)
    return await start_case(client, *case_start(task_queue, year, unit, policy, actor, catatan)), True


async def send_event(
    session: Session,
    client: Client,
    year: int,
    unit: str,
    event: str,
    actor: Actor,
    payload: dict[str, Any],
    idempotency_key: str,
) -> CaseData:
    """Fire an event. A retried request with the same `idempotency_key` is applied once."""
    if event not in lifecycle.RULES:
        why = [reason("peristiwa_tidak_dikenal", nama=event)]
        raise ApiError(404, "unknown_event", reason("error.peristiwa_tidak_dikenal"), why)
    row = load_case(session, year, unit)
    with refusals_logged(session, year, unit, event, actor, payload):
        case = CaseData.model_validate(row.data)
        if row.final:
            why = [reason("kasus_sudah_berakhir", tahun=year, stage=row.stage)]
            raise ApiError(409, "case_closed", reason("error.kasus_berakhir"), why)
        forbidden = lifecycle.forbidden(case, event, actor)
        if forbidden:
            raise ApiError(403, "forbidden", reason("error.peristiwa_dilarang", event=event), forbidden)
        parsed = payload_or_422(lifecycle.RULES[event].payload, payload, event)
        claim_idempotency_key(session, year, unit, idempotency_key, event, actor, payload)
        request = EventRequest(event=event, actor=actor, payload=payload, evidence=resolve(session, parsed, unit))
        session.close()  # no database connection is held while Temporal works (the pool is small, the waits long)
        async with temporal_errors():
            return await client.get_workflow_handle(case_workflow_id(year, unit)).execute_update(
                CaseWorkflow.kirim, request, id=idempotency_key
            )
