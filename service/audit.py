"""The auditor's verified replay of one case, and the audit pack that lets it be checked offline.

Temporal's history is the source of truth; the audit log (`transition`) and the read model (`case_view`) are
projections of it. `verify_case` checks them against each other and against today's code, and says every difference
in words, naming the entry concerned:

- replay: the case's Temporal history replayed through today's workflow code; a nondeterminism means today's code
  would not make the decisions this case's history records;
- lifecycle re-run: every logged step fired again through the state machine alone, from the workflow's start input,
  with the logged actor, payload and time, must give the logged stages and hashes;
- chain: every entry's hash recomputed from its fields, each entry linked to the one before, and the entries compared
  with what Temporal recorded (the officials' requests, and the case state each answer and the end result carried);
- read model: the case list's stage and sequence against the audit log and the workflow.

Used by `GET /cycles/{year}/cases/{unit}/audit` and by `p2ham audit`; `audit_pack` builds the pack that
`service/audit_verify.py` (standard library only) checks offline.
"""

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from models.contracts import SYSTEM, Actor, CaseData, CaseStart, EventRequest, EvidenceInfo, Transition
from models.tables import CaseRow, EvidenceRow, RefusalRow, TransitionRow
from service.archive import archived_histories, run_histories
from service.evidence import resolve, stored_path
from service.i18n import render
from worker import SANDBOX
from workflows import lifecycle
from workflows.ceremony import CeremonyWorkflow
from workflows.unit import CaseWorkflow, case_workflow_id

QUERY_TIMEOUT = 15.0  # seconds to ask a running case for its state; a worker must be polling to answer
PACK_FORMAT = "p2ham-audit-pack/1"
VERIFIER = Path(__file__).with_name("audit_verify.py")


# Shared by every replayer: left to itself, each Replayer makes a thread pool that is never shut down.
REPLAY_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="p2ham-replay")


def replayer(workflows: tuple[type, ...] = (CaseWorkflow, CeremonyWorkflow)) -> Replayer:
    """Today's workflow code with the worker's sandbox and converter (tests pass a changed copy to prove it bites)."""
    return Replayer(
        workflows=list(workflows),
        data_converter=pydantic_data_converter,
        workflow_runner=SANDBOX,
        workflow_task_executor=REPLAY_THREADS,
    )


class UnknownCase(Exception):
    """Neither the read model, the audit log nor Temporal knows this case."""


class AuditVerdict(BaseModel):
    """The DESIGN contract: ok, differences (each in words, naming the entry), and what each check found."""

    year: int
    unit: str
    checked_at: datetime
    ok: bool
    differences: list[str]
    replay: dict[str, Any]
    chain: dict[str, Any]
    read_model: dict[str, Any]


def short(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 12 else digest or "(none)"


def name(seq: int, event: str) -> str:
    return f"entry {seq} ({event})"


# --- What Temporal recorded ---------------------------------------------------------------------------------------


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
    source: str


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
            what = f"the answer to {official.request.event}" if official else "the answer to the application"
            facts.anchors.append(Anchor(answer.seq, answer.last_hash, answer.stage or "", what))
            if official is not None:
                official.answer = answer
        elif event.HasField("workflow_execution_completed_event_attributes"):
            payloads = list(event.workflow_execution_completed_event_attributes.result.payloads)
            facts.result = convert.from_payloads(payloads, [CaseData])[0]
            facts.anchors.append(Anchor(facts.result.seq, facts.result.last_hash, facts.result.stage or "", "result"))
    return facts


# --- The audit log ------------------------------------------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    # SQLite (and a `timestamp` column) give the stored UTC moment back without its zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entry_of(row: TransitionRow) -> Transition:
    """The entry as it was hashed, from the row's own fields. Built without validation, so an altered row (an unknown
    role, say) is still hashed as it stands."""
    actor = Actor.model_construct(
        sub=row.actor_sub, name=row.actor_name, role=row.actor_role, unit=row.actor_unit, region=row.actor_region
    )
    return Transition(
        year=row.year,
        unit=row.unit,
        seq=row.seq,
        at=utc(row.at),
        event=row.event,
        source=row.source,
        target=row.target,
        actor=actor,
        payload=row.payload,
        evidence=row.evidence,
        policy_version=row.policy_version,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@dataclass
class Findings:
    differences: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences


def align(rows: list[TransitionRow], officials: list[Official]) -> tuple[dict[int, Official], list[Official]]:
    """Which audit-log entry each official event Temporal accepted made. Handlers fire in acceptance order, so entries
    and requests run in the same order; the answer's sequence bounds where (a timer may have fired just after)."""
    by_seq = {row.seq: row for row in rows}
    matched: dict[int, Official] = {}
    unmatched: list[Official] = []
    after = 1  # the application is entry 1
    for official in officials:
        request = official.request
        limit = official.answer.seq if official.answer else (rows[-1].seq if rows else 0)
        window = [s for s in range(after + 1, limit + 1) if s in by_seq]
        # The first entry of the same event by the same person; else of the same event (its actor was altered).
        same = [s for s in window if by_seq[s].event == request.event]
        exact = [s for s in same if by_seq[s].actor_sub == request.actor.sub]
        if exact or same:
            seq = (exact or same)[0]
        elif official.answer and official.answer.seq in by_seq and official.answer.seq > after:
            seq = official.answer.seq  # the row at this step was altered beyond recognition
        else:
            unmatched.append(official)
            continue
        matched[seq] = official
        after = seq
    return matched, unmatched


def check_chain(rows: list[TransitionRow], facts: TemporalFacts | None) -> tuple[Findings, list[Transition], set[int]]:
    """Recompute every hash and link, and compare the entries with what Temporal recorded.

    Returns the findings, the entries as they were hashed (for the re-run and the pack), and the sequence numbers
    whose hash does not match their own fields."""
    found = Findings()
    matched, unmatched = align(rows, facts.officials) if facts else ({}, [])
    entries: list[Transition] = []
    altered: set[int] = set()
    previous: TransitionRow | None = None
    for row in rows:
        entry = entry_of(row)
        entries.append(entry)
        if lifecycle.chain_hash(entry.model_dump(mode="json")) != row.hash:
            altered.add(row.seq)
            found.differences.append(
                f"{name(row.seq, row.event)}: its hash does not match its contents (recomputed "
                f"{short(lifecycle.chain_hash(entry.model_dump(mode='json')))}, recorded {short(row.hash)}): "
                "the entry was changed after it was written"
            )
        expected_seq = previous.seq + 1 if previous else 1
        if row.seq != expected_seq:
            missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq} to {row.seq - 1}"
            found.differences.append(
                f"entries {missing} are missing from the audit log (before {name(row.seq, row.event)})"
            )
        elif row.prev_hash != (previous.hash if previous else ""):
            before = f"entry {previous.seq}'s hash {short(previous.hash)}" if previous else "empty (the first entry)"
            found.differences.append(
                f"{name(row.seq, row.event)}: it does not link to the entry before it (its prev_hash is "
                f"{short(row.prev_hash)}; expected {before})"
            )
        previous = row
    if facts:
        found.differences += compare_with_temporal(rows, facts, matched, unmatched)
    found.info = {
        "ok": found.ok,
        "entries": len(rows),
        "first_seq": rows[0].seq if rows else None,
        "last_seq": rows[-1].seq if rows else None,
        "last_hash": rows[-1].hash if rows else None,
        "altered_entries": sorted(altered),
        "temporal_anchors": len(facts.anchors) if facts else 0,
        "temporal_last_hash": max(facts.anchors, key=lambda a: a.seq).hash if facts and facts.anchors else None,
    }
    return found, entries, altered


def compare_with_temporal(
    rows: list[TransitionRow], facts: TemporalFacts, matched: dict[int, Official], unmatched: list[Official]
) -> list[str]:
    differences: list[str] = []
    by_seq = {row.seq: row for row in rows}
    first = by_seq.get(1)
    if facts.start and first is not None:
        applicant = facts.start.applicant
        catatan = {"catatan": facts.start.catatan} if facts.start.catatan else {}
        differences += field_differences(first, "ajukan", applicant, catatan)
    for seq, official in sorted(matched.items()):
        request = official.request
        differences += field_differences(by_seq[seq], request.event, request.actor, request.payload)
    for official in unmatched:
        request = official.request
        differences.append(
            f"Temporal's history records {request.event} by {request.actor.sub} ({request.actor.role}), "
            "but no entry of the audit log records it"
        )
    people = {seq for seq, row in by_seq.items() if row.seq > 1 and row.actor_role != "system"}
    for seq in sorted(people - set(matched)):
        row = by_seq[seq]
        differences.append(
            f"{name(seq, row.event)}: the audit log records it by {row.actor_sub} ({row.actor_role}), "
            "but Temporal's history holds no such request"
        )
    reported: set[int] = set()
    for anchor in facts.anchors:  # the same step may be stated twice (an answer, then the current state): say it once
        row = by_seq.get(anchor.seq)
        if anchor.seq in reported:
            continue
        if row is None:
            reported.add(anchor.seq)
            differences.append(
                f"entry {anchor.seq} is missing from the audit log: Temporal's history ({anchor.source}) shows the "
                f"case at stage {anchor.stage} after it"
            )
            continue
        if row.target != anchor.stage:
            reported.add(anchor.seq)
            differences.append(
                f"{name(row.seq, row.event)}: the audit log says the case reached {row.target}; Temporal's history "
                f"({anchor.source}) says {anchor.stage}"
            )
        elif row.hash != anchor.hash:
            reported.add(anchor.seq)
            differences.append(
                f"{name(row.seq, row.event)}: its hash {short(row.hash)} is not the one Temporal's history records "
                f"for this step ({short(anchor.hash)}, in {anchor.source}): the audit log was rewritten up to here"
            )
    if facts.result is not None:
        extra = [row for row in rows if row.seq > facts.result.seq]
        if extra:
            differences.append(
                f"the audit log has entries after the case ended in Temporal (entry {facts.result.seq}): "
                + ", ".join(name(r.seq, r.event) for r in extra)
            )
    return differences


def field_differences(row: TransitionRow, event: str, actor: Actor, payload: dict[str, Any]) -> list[str]:
    """What the audit log says of one step against what Temporal recorded of it."""
    differences = []
    if row.event != event:
        differences.append(f"{name(row.seq, row.event)}: Temporal's history records this step as {event}")
    logged = (row.actor_sub, row.actor_name, row.actor_role)
    if logged != (actor.sub, actor.name, actor.role):
        differences.append(
            f"{name(row.seq, row.event)}: the audit log names the actor {row.actor_sub} '{row.actor_name}' "
            f"({row.actor_role}); Temporal's history names {actor.sub} '{actor.name}' ({actor.role})"
        )
    for key in sorted(set(row.payload) | set(payload)):
        logged, recorded = row.payload.get(key), payload.get(key)
        if lifecycle.canonical(logged) != lifecycle.canonical(recorded):
            differences.append(
                f"{name(row.seq, row.event)}: the audit log has {key} = {shown(logged)}; Temporal's history records "
                f"{key} = {shown(recorded)}"
            )
    return differences


def shown(value: Any, limit: int = 200) -> str:
    text = "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The steps again, through the state machine alone -------------------------------------------------------------


def evidence_for(session: Session, row: TransitionRow) -> dict[str, EvidenceInfo] | None:
    """What the evidence store knows of the files the step named, as the API resolved them. An entry that lists no
    evidence was not checked (no evidence named, or a case from before evidence was checked): None, as then."""
    rule = lifecycle.RULES.get(row.event)
    if not row.evidence or rule is None:
        return None
    try:
        parsed = rule.payload.model_validate(row.payload)
    except ValidationError:
        return {}
    return resolve(session, parsed, row.unit)


def rerun(
    session: Session, start: CaseStart, rows: list[TransitionRow], entries: list[Transition], altered: set[int]
) -> Findings:
    """Fire every logged step again, each from the log's previous entry, and compare what the machine records."""
    found = Findings()
    case = start.case.model_copy(deep=True)
    first = entries[0]
    if first.seq != 1 or first.event != "ajukan":
        found.differences.append(
            f"the audit log does not start with the application: its first entry is {name(first.seq, first.event)}"
        )
        found.info = {"ok": False, "entries": 0, "stage": None}
        return found
    machine, made = lifecycle.start(case, first.actor, first.payload.get("catatan"), first.at)
    found.differences += compare_step(made, first, first.seq in altered)
    checked = 1
    for previous, row, logged in zip(rows, rows[1:], entries[1:], strict=False):
        # Each step from the log's previous entry, so one altered entry does not make every later one differ.
        case.seq, case.last_hash = row.seq - 1, previous.hash
        try:
            made = machine.fire(row.event, logged.actor, row.payload, logged.at, evidence_for(session, row))
        except lifecycle.Refused as e:
            why = "; ".join(render(r, "en") for r in e.why)
            found.differences.append(
                f"{name(row.seq, row.event)}: the lifecycle refuses this step as logged (by {row.actor_sub}, "
                f"{row.actor_role}, at {logged.at.isoformat()}): {why}. The re-run stops here."
            )
            break
        found.differences += compare_step(made, logged, row.seq in altered)
        checked += 1
    found.info = {"ok": found.ok, "entries": checked, "stage": case.stage}
    return found


def compare_step(made: Transition, logged: Transition, altered: bool) -> list[str]:
    what = name(logged.seq, logged.event)
    differences = []
    if (made.source, made.target) != (logged.source, logged.target):
        differences.append(
            f"{what}: the lifecycle leads from {made.source or '(start)'} to {made.target}, but the audit log says "
            f"from {logged.source or '(start)'} to {logged.target}"
        )
    if made.policy_version != logged.policy_version:
        differences.append(
            f"{what}: logged under policy version {short(logged.policy_version)}, but the case's policy (the "
            f"workflow's input) has version {short(made.policy_version)}"
        )
    if made.evidence != logged.evidence:
        differences.append(
            f"{what}: the audit log lists evidence {logged.evidence}; the step relied on {made.evidence}"
        )
    if not altered and not differences and made.hash != logged.hash:  # an altered entry is reported by the chain
        differences.append(
            f"{what}: re-running the step gives hash {short(made.hash)}, but the audit log holds {short(logged.hash)}"
        )
    return differences


# --- The read model -----------------------------------------------------------------------------------------------


def check_read_model(case_row: CaseRow | None, rows: list[TransitionRow], live: CaseData | None, how: str) -> Findings:
    found = Findings()
    last = rows[-1] if rows else None
    if case_row is None:
        found.differences.append("the case is missing from the read model (the case list)")
        found.info = {"ok": False}
        return found
    found.info = {"stage": case_row.stage, "seq": case_row.seq, "final": case_row.final}
    if last is not None and (case_row.seq, case_row.stage) != (last.seq, last.target):
        found.differences.append(
            f"the read model shows stage {case_row.stage} at entry {case_row.seq}, but the audit log's last entry is "
            f"{name(last.seq, last.event)}, leading to {last.target}"
        )
    if case_row.final != (case_row.stage in lifecycle.FINAL_STAGES):
        found.differences.append(f"the read model marks stage {case_row.stage} as final={case_row.final}")
    data_hash = (case_row.data or {}).get("last_hash")
    if last is not None and case_row.seq == last.seq and data_hash != last.hash:
        found.differences.append(
            f"the read model's case data ends with hash {short(data_hash or '')}, but {name(last.seq, last.event)} "
            f"has {short(last.hash)}"
        )
    if live is not None:
        found.info["temporal"] = {"stage": live.stage, "seq": live.seq, "from": how}
        # The read model is written before Temporal records a step: it may be ahead of a running case, never behind.
        if case_row.seq < live.seq or (case_row.seq == live.seq and case_row.stage != live.stage):
            found.differences.append(
                f"the read model shows stage {case_row.stage} at entry {case_row.seq}, but the workflow (Temporal, "
                f"{how}) is at stage {live.stage} after entry {live.seq}"
            )
    found.info["ok"] = found.ok
    return found


# --- Putting it together ------------------------------------------------------------------------------------------


@dataclass
class Audit:
    verdict: AuditVerdict
    entries: list[Transition]
    refusals: list[RefusalRow]


def load_rows(session: Session, year: int, unit: str) -> list[TransitionRow]:
    query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
    return list(session.exec(query.order_by(col(TransitionRow.seq))))


def load_refusals(session: Session, year: int, unit: str) -> list[RefusalRow]:
    query = select(RefusalRow).where(RefusalRow.year == year, RefusalRow.unit == unit)
    return list(session.exec(query.order_by(col(RefusalRow.at), col(RefusalRow.id))))


async def replay_history(history: WorkflowHistory, with_replayer: Replayer | None = None) -> Findings:
    """Replay one history through the workflow code; the failure, if any, in words naming the history."""
    result = await (with_replayer or replayer()).replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    found = Findings(
        info={"ok": failure is None, "workflow_id": history.workflow_id, "history_events": len(history.events)}
    )
    if failure is not None:
        kind = "nondeterminism" if "nondetermin" in str(failure).lower() else type(failure).__name__
        # The SDK wraps core's message in a Rust debug dump; the auditor needs only the message itself.
        inner = re.search(r'message: "(.*?)(?<!\\)"', str(failure))
        why = inner.group(1) if inner else str(failure)
        found.info["failure"] = f"{kind}: {why}"
        found.differences.append(
            f"Temporal's history {history.workflow_id} does not replay through today's workflow code ({kind}: "
            f"{why}). Today's code would not make the decisions this case's history records; a change to the "
            "workflow must be guarded with workflow.patched(...)"
        )
    return found


async def audit_case(
    client: Client, session: Session, year: int, unit: str, with_replayer: Replayer | None = None
) -> Audit:
    handle = client.get_workflow_handle(case_workflow_id(year, unit))
    differences: list[str] = []
    # The live state first, then the history, then the database: each later read is at least as new as the one before.
    try:
        description = await handle.describe()
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        description = None
    live, how = None, ""
    if description is not None and description.status == WorkflowExecutionStatus.RUNNING:
        try:
            live, how = await asyncio.wait_for(handle.query(CaseWorkflow.keadaan), QUERY_TIMEOUT), "query"
        except Exception as e:  # no worker, or a timeout: say so, the rest of the audit still stands
            differences.append(f"the running case could not be asked for its state (is a worker running?): {e!r}")
    histories = await run_histories(client, handle.id) if description is not None else []
    source = "temporal"
    if description is None:  # deleted from Temporal, or past its retention: the archive's copy (service/archive.py)
        archived = archived_histories(session, handle.id)
        histories, source = archived.histories, "archive"
        differences += archived.differences
    history = histories[-1] if histories else None
    rows = load_rows(session, year, unit)
    case_row = session.get(CaseRow, (year, unit))
    if history is None and not rows and case_row is None:
        raise UnknownCase(f"Unit {unit} has no case in the {year} cycle.")

    replay: dict[str, Any] = {"ok": False, "workflow_id": handle.id}
    facts = None
    if history is None:
        differences.append(
            f"Temporal holds no history for this case (workflow {handle.id}), nor does the archive: it was deleted "
            "or its retention period passed, so it cannot be replayed and the audit log cannot be compared with it"
        )
    else:
        replayed_runs = [await replay_history(run, with_replayer) for run in histories]  # every run, today's code
        for replayed in replayed_runs:
            differences += replayed.differences
        replay = {
            **replayed_runs[-1].info,
            "ok": all(r.ok for r in replayed_runs),
            "run_id": history.run_id,
            "runs": len(histories),
            "status": description.status.name.lower() if description else "archived",
            "history_from": source,
        }
        facts = case_facts(histories)
        if description and description.status not in (
            WorkflowExecutionStatus.RUNNING,
            WorkflowExecutionStatus.COMPLETED,
        ):
            differences.append(
                f"the workflow of this case is {description.status.name.lower()}: it stopped outside the lifecycle "
                "(someone ended it in Temporal, or its code failed), so the case is frozen at its last stage"
            )
        if facts.result is not None:
            live, how = facts.result, "result"
        elif live is not None:
            facts.anchors.append(Anchor(live.seq, live.last_hash, live.stage or "", "its current state"))

    start = facts.start if facts and facts.start else None
    if start is None and case_row is not None:
        data = CaseData.model_validate(case_row.data)
        start = CaseStart(case=CaseData(year=year, unit=data.unit, policy=data.policy), applicant=SYSTEM)
    chain, entries, altered = (
        check_chain(rows, facts) if rows and start else (Findings(info={"ok": False, "entries": 0}), [], set())
    )
    if not rows:
        chain.differences.append("the audit log holds no entry for this case")
    differences += chain.differences
    if entries and start is not None:
        again = rerun(session, start, rows, entries, altered)
        differences += again.differences
        replay["lifecycle"] = again.info
        replay["ok"] = replay.get("ok", False) and again.ok
    read_model = check_read_model(case_row, rows, live, how)
    differences += read_model.differences
    verdict = AuditVerdict(
        year=year,
        unit=unit,
        checked_at=datetime.now(UTC),
        ok=not differences,
        differences=differences,
        replay=replay,
        chain={**chain.info, "ok": chain.ok},
        read_model=read_model.info,
    )
    return Audit(verdict, entries, load_refusals(session, year, unit))


async def verify_case(
    client: Client, session: Session, year: int, unit: str, with_replayer: Replayer | None = None
) -> AuditVerdict:
    """The verified replay of one case (`GET .../audit`, `p2ham audit`). Raises UnknownCase."""
    return (await audit_case(client, session, year, unit, with_replayer)).verdict


async def cycle_units(client: Client, session: Session, year: int) -> tuple[list[str], str | None]:
    """Every case of a cycle: the read model's, the audit log's, and Temporal's (a case missing from the database
    must still be audited). The second value says why Temporal's list could not be read, if it could not."""
    units = set(session.exec(select(CaseRow.unit).where(CaseRow.year == year)))
    units |= set(session.exec(select(TransitionRow.unit).where(TransitionRow.year == year).distinct()))
    prefix = case_workflow_id(year, "")
    try:
        async for execution in client.list_workflows(f"P2hamYear = {year}"):
            if execution.id.startswith(prefix):
                units.add(execution.id.removeprefix(prefix))
    except RPCError as e:
        return sorted(units), f"Temporal's list of this cycle's workflows could not be read ({e.message})"
    return sorted(units), None


# --- The audit pack -----------------------------------------------------------------------------------------------

README = """P2HAM audit pack: case of unit {unit}, cycle {year}
Made {made} by {who}. Service verdict when made: {verdict}.

Files
  entries.json           the case's audit log: every transition with its actor, time, payload, evidence, policy
                         version, prev_hash and hash (exactly the fields that were hashed)
  entries.csv            the same, one row per entry, for a spreadsheet
  evidence-manifest.csv  every evidence file the entries name: sha256 (its id), media type, size, the entries using it
  evidence/<sha256>      the evidence files themselves (those the evidence store held)
  refusals.csv           commands that were refused on this case, with who, when and why
  verdict.json           the service's verified replay (Temporal history replayed through the code, hash chain,
                         read model), as GET /cycles/{year}/cases/{unit}/audit returns it
  verify.py              the offline verifier (Python 3 standard library only)
  SHA256SUMS             sha256 of every other file in the pack

How to verify offline (needs only Python 3, no network, no P2HAM installation)
  python3 verify.py p2ham-audit-{year}-{unit}.zip      (or, unzipped: python3 verify.py DIRECTORY)
  It checks that no file changed since the pack was made (SHA256SUMS; `sha256sum -c SHA256SUMS` does this too), that
  every entry's hash is the sha256 of its canonical JSON, that each entry's prev_hash is the hash of the entry before
  it (the first entry's is empty), and that every included evidence file's sha256 equals its name and its size
  matches the manifest. Exit status 0 means every check passed.

  Canonical JSON of an entry: the entry from entries.json without its "hash" field, serialised with keys sorted,
  no whitespace (separators "," and ":"), non-ASCII characters kept as UTF-8.

  The chain proves the entries have not been changed relative to the last hash. Compare the last hash the verifier
  prints with one obtained independently of this pack: chain.last_hash of GET /cycles/{year}/cases/{unit}/audit,
  or the hash of the last entry of GET /cycles/{year}/cases/{unit}/history, asked of the service yourself.
  Last hash when the pack was made: {last_hash}
"""

ENTRY_COLUMNS = [
    "seq",
    "at",
    "event",
    "from",
    "to",
    "actor_sub",
    "actor_name",
    "actor_role",
    "actor_unit",
    "actor_region",
    "payload",
    "evidence",
    "policy_version",
    "prev_hash",
    "hash",
]


def csv_text(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def evidence_used(entries: list[Transition]) -> dict[str, list[Transition]]:
    """Each evidence id with the entries that used it: the ones an entry lists, and the ones its payload names."""
    used: dict[str, list[Transition]] = {}
    for entry in entries:
        ids = set(entry.evidence)
        rule = lifecycle.RULES.get(entry.event)
        if rule is not None:
            with contextlib.suppress(ValidationError):  # an altered payload still lists what it names
                ids |= rule.payload.model_validate(entry.payload).evidence_ids()
        for evidence_id in sorted(ids):
            used.setdefault(evidence_id, []).append(entry)
    return used


async def audit_pack(
    client: Client, session: Session, evidence_dir: Path, year: int, unit: str, who: str = "p2ham"
) -> tuple[AuditVerdict, bytes]:
    """A zip an auditor can check offline with `verify.py` inside it; see README above."""
    audit = await audit_case(client, session, year, unit)
    verdict, entries = audit.verdict, audit.entries
    files: dict[str, bytes] = {}
    dumped = [e.model_dump(mode="json") for e in entries]
    document = {"format": PACK_FORMAT, "year": year, "unit": unit, "workflow_id": case_workflow_id(year, unit)}
    files["entries.json"] = json.dumps({**document, "entries": dumped}, ensure_ascii=False, indent=2).encode()
    files["entries.csv"] = csv_text(
        ENTRY_COLUMNS,
        [
            [
                e.seq,
                e.at.isoformat(),
                e.event,
                e.source or "",
                e.target,
                e.actor.sub,
                e.actor.name,
                e.actor.role,
                e.actor.unit or "",
                e.actor.region or "",
                json.dumps(e.payload, ensure_ascii=False, sort_keys=True),
                " ".join(e.evidence),
                e.policy_version,
                e.prev_hash,
                e.hash,
            ]
            for e in entries
        ],
    )
    manifest = []
    for evidence_id, users in sorted(evidence_used(entries).items()):
        stored = session.exec(select(EvidenceRow).where(EvidenceRow.id == evidence_id)).all()
        own = next((r for r in stored if r.unit == unit), stored[0] if stored else None)
        path = stored_path(evidence_dir, evidence_id)
        included = path.is_file()
        if included:
            files[f"evidence/{evidence_id}"] = path.read_bytes()
        manifest.append(
            [
                evidence_id,
                own.media_type if own else "",
                own.size if own else "",
                own.unit if own else "",
                "yes" if included else "no (not in the evidence store)",
                "; ".join(f"{e.seq} {e.event}" for e in users),
            ]
        )
    files["evidence-manifest.csv"] = csv_text(
        ["sha256", "media_type", "size", "uploaded_by_unit", "included", "used_by_entries"], manifest
    )
    files["refusals.csv"] = csv_text(
        ["at", "event", "actor_sub", "actor_name", "actor_role", "status", "why", "payload"],
        [
            [
                utc(r.at).isoformat(),
                r.event,
                r.actor_sub,
                r.actor_name,
                r.actor_role,
                r.status,
                " | ".join(render(w, "en") for w in r.why),
                json.dumps(r.payload, ensure_ascii=False, sort_keys=True),
            ]
            for r in audit.refusals
        ],
    )
    files["verdict.json"] = verdict.model_dump_json(indent=2).encode()
    files["verify.py"] = VERIFIER.read_bytes()
    files["README.txt"] = README.format(
        unit=unit,
        year=year,
        made=verdict.checked_at.isoformat(),
        who=who,
        verdict="OK" if verdict.ok else f"FAILED ({len(verdict.differences)} differences, see verdict.json)",
        last_hash=entries[-1].hash if entries else "(no entries)",
    ).encode()
    files["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in files.items()
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:
        for path, data in files.items():
            pack.writestr(path, data)
    return verdict, buffer.getvalue()


def pack_name(year: int, unit: str) -> str:
    return f"p2ham-audit-{year}-{unit}.zip"


def describe_verdict(verdict: AuditVerdict) -> list[str]:
    """The verdict as lines for a terminal: one per check, then every difference."""
    replay, chain, read_model = verdict.replay, verdict.chain, verdict.read_model
    rerun_info = replay.get("lifecycle") or {}

    def mark(ok: Any) -> str:
        return "ok    " if ok else "FAILED"

    lines = [
        f"Audit of unit {verdict.unit}, cycle {verdict.year}: {'OK' if verdict.ok else 'FAILED'}",
        f"  replay      {mark(replay.get('failure') is None and 'history_events' in replay)} "
        f"{replay.get('history_events', 0)} Temporal history events (from {replay.get('history_from', 'nowhere')}) "
        "through today's workflow code",
        f"  lifecycle   {mark(rerun_info.get('ok'))} {rerun_info.get('entries', 0)} entries re-run through the "
        f"state machine, ending at {rerun_info.get('stage')}",
        f"  chain       {mark(chain.get('ok'))} {chain.get('entries', 0)} entries, last hash {chain.get('last_hash')}",
        f"  read model  {mark(read_model.get('ok'))} stage {read_model.get('stage')} at entry {read_model.get('seq')}",
    ]
    lines += [f"  - {difference}" for difference in verdict.differences]
    return lines
