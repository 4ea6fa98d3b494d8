"""What Temporal recorded of a case: its live state and every run's history (or the archive's copy, once Temporal no
longer holds it), and the facts those histories state: the application, each official's accepted event with the case
state its answer carried, and the result."""

import asyncio
from dataclasses import dataclass, field

from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistory,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from models.contracts import CaseData, CaseStart, EventRequest
from service.archive import archived_histories, run_histories
from workflows.reasons import Reason, reason
from workflows.unit import CaseWorkflow

QUERY_TIMEOUT = 15.0  # seconds to ask a running case for its state; a worker must be polling to answer


@dataclass
class Recorded:
    """A case as Temporal holds it, or as the archive does once Temporal no longer knows the workflow."""

    workflow_id: str
    source: str  # where the histories come from: "temporal" or "archive"
    status: WorkflowExecutionStatus | None = None  # Temporal's; None for the archive's copy
    histories: list[WorkflowHistory] = field(default_factory=list)  # every run, oldest first
    live: CaseData | None = None  # a running case's answer to the query
    differences: list[Reason] = field(default_factory=list)  # what could not be read, in words


async def read_recorded(client: Client, session: Session, workflow_id: str) -> Recorded:
    """The live state first, then the histories (the database is read after: each later read is at least as new as the
    one before). A workflow Temporal does not know (deleted, or past its retention) is read from the archive
    (service/archive.py)."""
    handle = client.get_workflow_handle(workflow_id)
    description = await described(handle)
    if description is None:
        archived = archived_histories(session, workflow_id)
        return Recorded(workflow_id, "archive", histories=archived.histories, differences=archived.differences)
    recorded = Recorded(workflow_id, "temporal", description.status)
    if description.status == WorkflowExecutionStatus.RUNNING:
        try:
            recorded.live = await asyncio.wait_for(handle.query(CaseWorkflow.keadaan), QUERY_TIMEOUT)
        except Exception as e:  # no worker, or a timeout: say so, the rest of the audit still stands
            recorded.differences.append(reason("audit.tidak_bisa_ditanya", galat=repr(e)))
    recorded.histories = await run_histories(client, workflow_id)
    return recorded


async def described(handle: WorkflowHandle) -> WorkflowExecutionDescription | None:
    """The workflow as Temporal describes it; None when Temporal does not know it."""
    try:
        return await handle.describe()
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        return None


@dataclass
class Official:
    """One official's event as Temporal accepted it, and the case as the answer carried it (None: still running)."""

    request: EventRequest
    answer: CaseData | None = None


@dataclass
class Anchor:
    """A point where Temporal itself states the audit chain: after entry `seq`, the case was at `stage`, hash `hash`."""

    seq: int
    hash: str
    stage: str
    source: Reason  # where Temporal states it: the answer to an event, the result, the current state


@dataclass
class TemporalFacts:
    start: CaseStart | None = None
    officials: list[Official] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    result: CaseData | None = None  # the workflow's result, once it completed


def case_facts(histories: list[WorkflowHistory]) -> TemporalFacts:
    """The facts of every run of a case, oldest first: the first run's application, everyone's events and answers,
    and the last run's result (a long case continues as new, carrying its state)."""
    runs = [temporal_facts(h) for h in histories]
    return TemporalFacts(
        start=runs[0].start,
        officials=[o for run in runs for o in run.officials],
        anchors=[a for run in runs for a in run.anchors],
        result=runs[-1].result,
    )


def temporal_facts(history: WorkflowHistory) -> TemporalFacts:
    """Decode the start input, the accepted `kirim` updates with their answers, and the result from the history."""
    convert = pydantic_data_converter.payload_converter
    facts = TemporalFacts()
    pending: dict[str, Official] = {}
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            payloads = list(event.workflow_execution_started_event_attributes.input.payloads)
            facts.start = convert.from_payloads(payloads, [CaseStart])[0]
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name == "kirim":
                official = Official(convert.from_payloads(list(request.input.args.payloads), [EventRequest])[0])
                pending[request.meta.update_id] = official
                facts.officials.append(official)
        elif event.HasField("workflow_execution_update_completed_event_attributes"):
            done = event.workflow_execution_update_completed_event_attributes
            official = pending.pop(done.meta.update_id, None)
            if not done.outcome.HasField("success"):
                if official is not None:  # refused in the handler: it made no entry
                    facts.officials.remove(official)
                continue
            answer = convert.from_payloads(list(done.outcome.success.payloads), [CaseData])[0]
            what = reason("audit.sumber_jawaban", event=official.request.event if official else "ajukan")
            facts.anchors.append(Anchor(answer.seq, answer.last_hash, answer.stage or "", what))
            if official is not None:
                official.answer = answer
        elif event.HasField("workflow_execution_completed_event_attributes"):
            payloads = list(event.workflow_execution_completed_event_attributes.result.payloads)
            facts.result = convert.from_payloads(payloads, [CaseData])[0]
            facts.anchors.append(
                Anchor(facts.result.seq, facts.result.last_hash, facts.result.stage or "", reason("audit.sumber_hasil"))
            )
    return facts
