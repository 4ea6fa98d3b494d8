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
import os
import re
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select
from starlette.background import BackgroundTask
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from models.contracts import SYSTEM, Actor, CaseData, CaseStart, EventRequest, EvidenceInfo, Transition
from models.tables import CaseRow, EvidenceRow, RefusalRow, TransitionRow
from service.access import lineage, log_read
from service.archive import archived_histories, run_histories
from service.evidence import resolve, stored_path
from service.i18n import gettext, render
from service.settings import Settings
from worker import SANDBOX
from workflows import lifecycle
from workflows.ceremony import CeremonyWorkflow
from workflows.reasons import Reason, reason
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

    def __init__(self, year: int, unit: str) -> None:
        super().__init__(f"{year}/{unit}")
        self.why = reason("error.kasus_tidak_ditemukan", unit=unit, tahun=year)


class AuditVerdict(BaseModel):
    """The DESIGN contract: ok, differences (each in words, naming the entry), and what each check found.

    The audit produces the differences as reasons (`difference_codes`: message ids and parameters, the same in every
    language); `in_words` fills `differences` in the reader's language where the verdict is answered."""

    year: int
    unit: str
    checked_at: datetime
    ok: bool
    differences: list[str] = []
    difference_codes: list[Reason]
    replay: dict[str, Any]
    chain: dict[str, Any]
    read_model: dict[str, Any]


def in_words(verdict: AuditVerdict, locale: str) -> AuditVerdict:
    return verdict.model_copy(update={"differences": [render(r, locale) for r in verdict.difference_codes]})


def short(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 12 else digest or "-"


def entry(seq: int, event: str) -> Reason:
    """An entry of the audit log, named in a difference: "entri 2 (Setujui permohonan)"."""
    return reason("audit.entri", seq=seq, event=event)


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
    differences: list[Reason] = field(default_factory=list)
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
            recomputed = short(lifecycle.chain_hash(entry.model_dump(mode="json")))
            found.differences.append(
                reason("audit.entri_diubah", entri=named(row), dihitung=recomputed, tercatat=short(row.hash))
            )
        expected_seq = previous.seq + 1 if previous else 1
        if row.seq != expected_seq:
            missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}–{row.seq - 1}"
            found.differences.append(reason("audit.entri_hilang", hilang=missing, entri=named(row)))
        elif row.prev_hash != (previous.hash if previous else ""):
            before = (
                reason("audit.hash_entri_sebelumnya", seq=previous.seq, hash=short(previous.hash))
                if previous
                else reason("audit.kosong_entri_pertama")
            )
            found.differences.append(
                reason("audit.tidak_tersambung", entri=named(row), prev_hash=short(row.prev_hash), seharusnya=before)
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
) -> list[Reason]:
    differences: list[Reason] = []
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
            reason("audit.permintaan_tanpa_entri", event=request.event, sub=request.actor.sub, role=request.actor.role)
        )
    people = {seq for seq, row in by_seq.items() if row.seq > 1 and row.actor_role != "system"}
    for seq in sorted(people - set(matched)):
        row = by_seq[seq]
        differences.append(
            reason("audit.entri_tanpa_permintaan", entri=named(row), sub=row.actor_sub, role=row.actor_role)
        )
    reported: set[int] = set()
    for anchor in facts.anchors:  # the same step may be stated twice (an answer, then the current state): say it once
        row = by_seq.get(anchor.seq)
        if anchor.seq in reported:
            continue
        if row is None:
            reported.add(anchor.seq)
            differences.append(
                reason("audit.entri_tidak_ada", seq=anchor.seq, sumber=anchor.source, stage=anchor.stage)
            )
            continue
        if row.target != anchor.stage:
            reported.add(anchor.seq)
            differences.append(
                reason(
                    "audit.tahap_berbeda",
                    entri=named(row),
                    stage_log=row.target,
                    sumber=anchor.source,
                    stage=anchor.stage,
                )
            )
        elif row.hash != anchor.hash:
            reported.add(anchor.seq)
            differences.append(
                reason(
                    "audit.log_ditulis_ulang",
                    entri=named(row),
                    hash=short(row.hash),
                    hash_temporal=short(anchor.hash),
                    sumber=anchor.source,
                )
            )
    if facts.result is not None:
        extra = [row for row in rows if row.seq > facts.result.seq]
        if extra:
            differences.append(
                reason("audit.entri_setelah_selesai", seq=facts.result.seq, entri=[named(r) for r in extra])
            )
    return differences


def field_differences(row: TransitionRow, event: str, actor: Actor, payload: dict[str, Any]) -> list[Reason]:
    """What the audit log says of one step against what Temporal recorded of it."""
    differences = []
    if row.event != event:
        differences.append(reason("audit.peristiwa_berbeda", entri=named(row), event_temporal=event))
    logged = (row.actor_sub, row.actor_name, row.actor_role)
    if logged != (actor.sub, actor.name, actor.role):
        differences.append(
            reason(
                "audit.pelaku_berbeda",
                entri=named(row),
                pelaku=reason("audit.pelaku", sub=row.actor_sub, nama=row.actor_name, role=row.actor_role),
                pelaku_temporal=reason("audit.pelaku", sub=actor.sub, nama=actor.name, role=actor.role),
            )
        )
    for key in sorted(set(row.payload) | set(payload)):
        logged, recorded = row.payload.get(key), payload.get(key)
        if lifecycle.canonical(logged) != lifecycle.canonical(recorded):
            differences.append(
                reason("audit.isian_berbeda", entri=named(row), kunci=key, log=shown(logged), temporal=shown(recorded))
            )
    return differences


def shown(value: Any, limit: int = 200) -> str | Reason:
    if value is None:
        return reason("audit.tidak_ada_nilai")
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def named(row: TransitionRow | Transition) -> Reason:
    return entry(row.seq, row.event)


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
    """Fire every logged step again, each from the log's previous entry, and compare what the machine records. The
    judges' conflicts of interest are checked against the unit's parents in the registry, as the API passes them to
    the workflow (`service/cases.py` `send_event`): a re-run checks the same rule as the live step."""
    found = Findings()
    case = start.case.model_copy(deep=True)
    parents = lineage(session, case.unit.code)
    first = entries[0]
    if first.seq != 1 or first.event != "ajukan":
        found.differences.append(reason("audit.tidak_diawali_permohonan", entri=named(first)))
        found.info = {"ok": False, "entries": 0, "stage": None}
        return found
    machine, made = lifecycle.start(case, first.actor, first.payload.get("catatan"), first.at)
    found.differences += compare_step(made, first, first.seq in altered)
    checked = 1
    for previous, row, logged in zip(rows, rows[1:], entries[1:], strict=False):
        # Each step from the log's previous entry, so one altered entry does not make every later one differ.
        case.seq, case.last_hash = row.seq - 1, previous.hash
        try:
            # A case whose log assigns a team ran with the assignment checks; an older one ran without them.
            assigned = case.penugasan is not None
            evidence = evidence_for(session, row)
            made = machine.fire(row.event, logged.actor, row.payload, logged.at, evidence, assigned, parents)
        except lifecycle.Refused as e:
            found.differences.append(
                reason(
                    "audit.langkah_ditolak",
                    entri=named(row),
                    sub=row.actor_sub,
                    role=row.actor_role,
                    waktu=logged.at.isoformat(),
                    alasan=[r for r in e.why if isinstance(r, Reason)] or [str(r) for r in e.why],
                )
            )
            break
        found.differences += compare_step(made, logged, row.seq in altered)
        checked += 1
    found.info = {"ok": found.ok, "entries": checked, "stage": case.stage}
    return found


def compare_step(made: Transition, logged: Transition, altered: bool) -> list[Reason]:
    what = named(logged)
    differences = []
    if (made.source, made.target) != (logged.source, logged.target):
        differences.append(
            reason(
                "audit.langkah_berbeda",
                entri=what,
                dari=made.source or reason("audit.awal"),
                ke=made.target,
                dari_log=logged.source or reason("audit.awal"),
                ke_log=logged.target,
            )
        )
    if made.policy_version != logged.policy_version:
        differences.append(
            reason(
                "audit.versi_kebijakan_berbeda",
                entri=what,
                versi_log=short(logged.policy_version),
                versi=short(made.policy_version),
            )
        )
    if made.evidence != logged.evidence:
        differences.append(
            reason(
                "audit.bukti_berbeda",
                entri=what,
                bukti_log=", ".join(logged.evidence) or "-",
                bukti=", ".join(made.evidence) or "-",
            )
        )
    if not altered and not differences and made.hash != logged.hash:  # an altered entry is reported by the chain
        differences.append(
            reason("audit.hash_ulang_berbeda", entri=what, hash=short(made.hash), hash_log=short(logged.hash))
        )
    return differences


# --- The read model -----------------------------------------------------------------------------------------------


def check_read_model(case_row: CaseRow | None, rows: list[TransitionRow], live: CaseData | None, how: str) -> Findings:
    found = Findings()
    last = rows[-1] if rows else None
    if case_row is None:
        found.differences.append(reason("audit.read_model_tanpa_kasus"))
        found.info = {"ok": False}
        return found
    found.info = {"stage": case_row.stage, "seq": case_row.seq, "final": case_row.final}
    if last is not None and (case_row.seq, case_row.stage) != (last.seq, last.target):
        found.differences.append(
            reason(
                "audit.read_model_berbeda_log",
                stage=case_row.stage,
                seq=case_row.seq,
                entri=named(last),
                ke=last.target,
            )
        )
    if case_row.final != (case_row.stage in lifecycle.FINAL_STAGES):
        found.differences.append(
            reason("audit.read_model_final_salah", stage=case_row.stage)
            if case_row.final
            else reason("audit.read_model_belum_final_salah", stage=case_row.stage)
        )
    data_hash = (case_row.data or {}).get("last_hash")
    if last is not None and case_row.seq == last.seq and data_hash != last.hash:
        found.differences.append(
            reason(
                "audit.read_model_hash_berbeda",
                hash=short(data_hash or ""),
                entri=named(last),
                hash_log=short(last.hash),
            )
        )
    if live is not None:
        found.info["temporal"] = {"stage": live.stage, "seq": live.seq, "from": how}
        # The read model is written before Temporal records a step: it may be ahead of a running case, never behind.
        if case_row.seq < live.seq or (case_row.seq == live.seq and case_row.stage != live.stage):
            found.differences.append(
                reason(
                    "audit.read_model_tertinggal",
                    stage=case_row.stage,
                    seq=case_row.seq,
                    sumber=reason("audit.sumber_hasil") if how == "result" else reason("audit.sumber_keadaan_kini"),
                    stage_temporal=live.stage,
                    seq_temporal=live.seq,
                )
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
        found.differences.append(reason("audit.replay_gagal", workflow_id=history.workflow_id, galat=f"{kind}: {why}"))
    return found


async def audit_case(
    client: Client, session: Session, year: int, unit: str, with_replayer: Replayer | None = None
) -> Audit:
    handle = client.get_workflow_handle(case_workflow_id(year, unit))
    differences: list[Reason] = []
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
            differences.append(reason("audit.tidak_bisa_ditanya", galat=repr(e)))
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
        raise UnknownCase(year, unit)

    replay: dict[str, Any] = {"ok": False, "workflow_id": handle.id}
    facts = None
    if history is None:
        differences.append(reason("audit.tanpa_riwayat", workflow_id=handle.id))
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
            differences.append(reason("audit.workflow_berhenti", status=description.status.name.lower()))
        if facts.result is not None:
            live, how = facts.result, "result"
        elif live is not None:
            facts.anchors.append(
                Anchor(live.seq, live.last_hash, live.stage or "", reason("audit.sumber_keadaan_kini"))
            )

    start = facts.start if facts and facts.start else None
    if start is None and case_row is not None:
        data = CaseData.model_validate(case_row.data)
        start = CaseStart(case=CaseData(year=year, unit=data.unit, policy=data.policy), applicant=SYSTEM)
    chain, entries, altered = (
        check_chain(rows, facts) if rows and start else (Findings(info={"ok": False, "entries": 0}), [], set())
    )
    if not rows:
        chain.differences.append(reason("audit.log_kosong"))
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
        difference_codes=differences,
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


async def cycle_units(client: Client, session: Session, year: int) -> tuple[list[str], Reason | None]:
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
        return sorted(units), reason("audit.daftar_temporal_gagal", galat=e.message)
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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a string starting like a formula (`=HYPERLINK(...)`, `+`, `-`, `@`, a tab)
    gets a leading apostrophe (OWASP's advice against CSV injection). Numbers stay numbers."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def csv_text(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
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


class PackTooLarge(Exception):
    """The pack would exceed P2HAM_AUDIT_PACK_MAX_BYTES; `p2ham audit-pack` writes larger ones."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes > {limit}")
        self.why = reason("audit.paket_ukuran", ukuran=size, batas=limit)


async def download_pack(
    client: Client, session: Session, settings: Settings, actor: Actor, year: int, unit: str, locale: str
) -> FileResponse:
    """The audit pack as an official downloads it, through the API or the auditor's page: under the size cap, its
    reading logged, streamed from its temporary file and deleted after. Raises `UnknownCase`, `PackTooLarge`."""
    verdict, path = await audit_pack(
        client,
        session,
        settings.evidence_dir,
        year,
        unit,
        who=actor.sub,
        max_bytes=settings.audit_pack_max_bytes,
        locale=locale,
    )
    log_read(session, actor, year, unit, ["paket_audit"])
    headers = {"X-P2HAM-Audit-Ok": "true" if verdict.ok else "false", "Cache-Control": "private, no-store"}
    return FileResponse(
        path,
        media_type="application/zip",
        filename=pack_name(year, unit),
        headers=headers,
        background=BackgroundTask(path.unlink),
    )


async def audit_pack(
    client: Client,
    session: Session,
    evidence_dir: Path,
    year: int,
    unit: str,
    who: str = "p2ham",
    max_bytes: int | None = None,
    locale: str = "id",
) -> tuple[AuditVerdict, Path]:
    """A zip an auditor can check offline with `verify.py` inside it; see README above. Written to a temporary file
    (the caller deletes it) in a worker thread, off the event loop; with `max_bytes`, refused (`PackTooLarge`) before
    any evidence is read when its files would be larger. The verdict's differences and the refusals are written in
    `locale` (their codes are in verdict.json too)."""
    audit = await audit_case(client, session, year, unit)
    verdict, entries = in_words(audit.verdict, locale), audit.entries
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
    evidence: dict[str, Path] = {}  # streamed into the zip from the store, never held in memory
    for evidence_id, users in sorted(evidence_used(entries).items()):
        stored = session.exec(select(EvidenceRow).where(EvidenceRow.id == evidence_id)).all()
        own = next((r for r in stored if r.unit == unit), stored[0] if stored else None)
        path = stored_path(evidence_dir, evidence_id)
        included = path.is_file()
        if included:
            evidence[f"evidence/{evidence_id}"] = path
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
                " | ".join(render(w, locale) for w in r.why),
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
    size = sum(len(data) for data in files.values()) + sum(p.stat().st_size for p in evidence.values())
    if max_bytes is not None and size > max_bytes:
        raise PackTooLarge(size, max_bytes)
    return verdict, await asyncio.to_thread(write_pack, files, evidence)


def write_pack(files: dict[str, bytes], evidence: dict[str, Path]) -> Path:
    """The zip in a temporary file, evidence streamed from the store, with SHA256SUMS over every file."""
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    for name, path in evidence.items():
        with path.open("rb") as f:
            sums[name] = hashlib.file_digest(f, "sha256").hexdigest()
    files["SHA256SUMS"] = "".join(f"{digest}  {name}\n" for name, digest in sums.items()).encode()
    fd, name = tempfile.mkstemp(prefix="p2ham-audit-", suffix=".zip")
    with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
        for arcname, data in files.items():
            if arcname != "SHA256SUMS":
                pack.writestr(arcname, data)
        for arcname, path in evidence.items():
            pack.write(path, arcname)
        pack.writestr("SHA256SUMS", files["SHA256SUMS"])
    return Path(name)


def pack_name(year: int, unit: str) -> str:
    return f"p2ham-audit-{year}-{unit}.zip"


def describe_verdict(verdict: AuditVerdict, locale: str) -> list[str]:
    """The verdict as lines for a terminal, in `locale`: one per check, then every difference."""
    replay, chain, read_model = verdict.replay, verdict.chain, verdict.read_model
    rerun_info = replay.get("lifecycle") or {}

    def line(check: str, ok: Any, detail: str) -> str:
        return f"  {check:<16} {verdict_mark(locale, ok):<6} {detail}"

    sources = {
        "temporal": gettext(locale, "audit.cli.dari_temporal"),
        "archive": gettext(locale, "audit.cli.dari_arsip"),
    }
    lines = [
        gettext(
            locale, "audit.cli.judul", unit=verdict.unit, tahun=verdict.year, hasil=verdict_mark(locale, verdict.ok)
        ),
        line(
            gettext(locale, "audit.cli.replay"),
            replay.get("failure") is None and "history_events" in replay,
            gettext(
                locale,
                "audit.cli.replay_rinci",
                n=replay.get("history_events", 0),
                sumber=sources.get(replay.get("history_from", ""), "-"),
            ),
        ),
        line(
            gettext(locale, "audit.cli.siklus"),
            rerun_info.get("ok"),
            gettext(
                locale, "audit.cli.siklus_rinci", n=rerun_info.get("entries", 0), stage=rerun_info.get("stage") or "-"
            ),
        ),
        line(
            gettext(locale, "audit.cli.rantai"),
            chain.get("ok"),
            gettext(locale, "audit.cli.rantai_rinci", n=chain.get("entries", 0), hash=chain.get("last_hash") or "-"),
        ),
        line(
            gettext(locale, "audit.cli.read_model"),
            read_model.get("ok"),
            gettext(
                locale,
                "audit.cli.read_model_rinci",
                stage=read_model.get("stage") or "-",
                seq=read_model.get("seq") or "-",
            ),
        ),
    ]
    lines += [f"  - {render(difference, locale)}" for difference in verdict.difference_codes]
    return lines


def verdict_mark(locale: str, ok: Any) -> str:
    """ "OK" or "GAGAL" ("FAILED"), as a terminal line starts."""
    return gettext(locale, "audit.cli.ok") if ok else gettext(locale, "audit.cli.gagal")
