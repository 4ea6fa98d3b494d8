"""The ceremony workflow: one pencanangan for many units of one Kanwil.

An official's ceremony event (`setujui`, `jadwal_ulang`, `deklarasikan`) arrives as an Update; the workflow sends
the matching case event to every unit's case through an activity (bounded concurrency), keeps each unit's outcome
(applied, or refused with the lifecycle's reasons) in its state, and projects that state to the read model. A unit's
refusal never stops the others, and nothing is dropped silently: every unit of every step has an outcome.

Deterministic code only: no I/O here; the case events are sent by `activities/ceremony.py`.
"""

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.unit import refusal

with workflow.unsafe.imports_passed_through():
    from models.contracts import Actor, JadwalUlang, Saksi
    from workflows.reasons import Reason, reason

# Activity names: the workflow may not import the activity module (it holds a client and a database engine).
SEND_UNIT_EVENT = "ceremony_send_unit_event"
PROJECT_CEREMONY = "project_ceremony"

# The official's ceremony event -> the case event it sends to every unit.
CASE_EVENTS = {"setujui": "setujui_permohonan", "jadwal_ulang": "jadwal_ulang", "deklarasikan": "deklarasikan"}
MAX_UNITS = 200
CONCURRENCY = 10  # case updates in flight at once: a 200-unit ceremony must not flood the Temporal frontend

SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=10), maximum_attempts=5
)
PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))

EventOutcome = Literal["applied", "refused", "failed"]  # what one event sent to one unit did


def ceremony_workflow_id(year: int, ceremony: str) -> str:
    return f"p2ham-{year}-ceremony-{ceremony}"


class CeremonyStart(BaseModel):
    """Input of the ceremony workflow: what the official set up, already checked by the API."""

    year: int
    id: str
    region: str
    units: list[str] = Field(min_length=1, max_length=MAX_UNITS)
    jadwal: datetime
    tempat: str
    saksi: list[Saksi]
    created_by: Actor
    closes_at: datetime  # the end of the cycle: no unit can be declared after it


class CeremonyCommand(BaseModel):
    """An official's ceremony event, as it reaches the workflow's update."""

    event: str
    actor: Actor
    payload: dict[str, Any] = Field(default_factory=dict)


class UnitEvent(BaseModel):
    """Input of the send activity: one case event for one unit, with an update id that makes retries apply once."""

    year: int
    unit: str
    event: str
    actor: Actor
    payload: dict[str, Any]
    update_id: str


class UnitResult(BaseModel):
    unit: str
    outcome: EventOutcome
    stage: str | None = None  # the case's stage right after the event (applied only)
    seq: int | None = None
    why: list[Reason | str] = Field(default_factory=list)  # a plain string: a sentence from an older run


class CeremonyStep(BaseModel):
    """One ceremony event and what it did to each unit it was sent to."""

    step: int
    event: str
    case_event: str
    actor: Actor
    at: datetime
    payload: dict[str, Any]
    results: list[UnitResult]

    def count(self, outcome: EventOutcome) -> int:
        return sum(r.outcome == outcome for r in self.results)


class CeremonyState(BaseModel):
    start: CeremonyStart
    jadwal: datetime
    steps: list[CeremonyStep] = Field(default_factory=list)
    version: int = 0  # grows with every change, so the projection only ever moves forward
    closed: bool = False

    def applied(self, event: str) -> set[str]:
        return {r.unit for s in self.steps if s.event == event for r in s.results if r.outcome == "applied"}

    def targets(self, event: str) -> list[str]:
        """The units an event goes to: not those this ceremony already moved with it (nor, for a new date, those
        it already declared). The lifecycle refuses the rest with its own reasons."""
        done = self.applied("deklarasikan") if event == "jadwal_ulang" else self.applied(event)
        return [u for u in self.start.units if u not in done]

    @property
    def declared_all(self) -> bool:
        return self.applied("deklarasikan") >= set(self.start.units)

    @property
    def status(self) -> str:
        if self.applied("deklarasikan"):
            return "dideklarasikan"
        return "terjadwal" if self.applied("setujui") else "diusulkan"


@workflow.defn(name="P2hamCeremony")
class CeremonyWorkflow:
    @workflow.init
    def __init__(self, start: CeremonyStart) -> None:
        # State exists before `run` starts, because the creation update arrives with the start.
        self.state = CeremonyState(start=start, jadwal=start.jadwal)
        self.projected: int | None = None
        self.lock = asyncio.Lock()  # one ceremony event at a time: a declaration must see the approval's outcome

    @workflow.run
    async def run(self, start: CeremonyStart) -> CeremonyState:
        await self._project()
        # Open until every unit was declared through it, or the cycle ends (no unit can be declared after that).
        remaining = max((start.closes_at - workflow.now()).total_seconds(), 1.0)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.state.declared_all, timeout=remaining)
        self.state.closed = True  # the validator refuses events from now on
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.state.version += 1
        await self._project()
        return self.state

    @workflow.update
    async def buat(self) -> CeremonyState:
        """Answers the creation once the ceremony is in the read model (the API's `POST .../ceremonies`)."""
        await workflow.wait_condition(lambda: self.projected is not None)
        return self.state

    @workflow.update
    async def kirim(self, command: CeremonyCommand) -> CeremonyStep:
        """An official's ceremony event, sent to every unit it concerns. Returns each unit's outcome."""
        async with self.lock:
            why = self.refused(command)  # again: another event may have been applied while this one waited
            if why:
                raise refusal(command.event, why)
            return await self._send(command)

    @kirim.validator
    def _validate_kirim(self, command: CeremonyCommand) -> None:
        why = self.refused(command)
        if why:
            raise refusal(command.event, why)

    @workflow.query
    def laporan(self) -> CeremonyState:
        return self.state

    def refused(self, command: CeremonyCommand) -> list[Reason]:
        """Ceremony-level reasons only; each unit's case answers for itself through the lifecycle."""
        if self.state.closed:
            return [reason("upacara_ditutup")]
        if command.event not in CASE_EVENTS:
            return [reason("upacara_peristiwa_tidak_dikenal", nama=command.event, events=list(CASE_EVENTS.values()))]
        if not self.state.targets(command.event):
            return [reason("upacara_sudah_diterapkan", event=CASE_EVENTS[command.event])]
        return []

    async def _send(self, command: CeremonyCommand) -> CeremonyStep:
        number = len(self.state.steps) + 1
        case_event = CASE_EVENTS[command.event]
        payload = self._case_payload(command)
        prefix = f"{workflow.info().workflow_id}-{number}-{case_event}"
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def one(unit: str) -> UnitResult:
            request = UnitEvent(
                year=self.state.start.year,
                unit=unit,
                event=case_event,
                actor=command.actor,
                payload=payload,
                update_id=f"{prefix}-{unit}",  # the same for every retry of this step: applied once
            )
            async with semaphore:
                try:
                    return await workflow.execute_activity(
                        SEND_UNIT_EVENT,
                        request,
                        result_type=UnitResult,
                        start_to_close_timeout=timedelta(seconds=60),
                        retry_policy=SEND_RETRY,
                    )
                except ActivityError as e:
                    # Reported for this unit, never silently dropped; sending the event again retries it.
                    workflow.logger.warning("unit %s could not be reached: %s", unit, e.cause or e)
                    why = reason("kasus_tidak_terjangkau", event=case_event)
                    return UnitResult(unit=unit, outcome="failed", why=[why])

        results = await asyncio.gather(*(one(unit) for unit in self.state.targets(command.event)))
        step = CeremonyStep(
            step=number,
            event=command.event,
            case_event=case_event,
            actor=command.actor,
            at=workflow.now(),
            payload=payload,
            results=list(results),
        )
        self.state.steps.append(step)
        if command.event == "jadwal_ulang" and step.count("applied"):
            self.state.jadwal = JadwalUlang.model_validate(command.payload).jadwal
        self.state.version += 1
        await self._project()
        return step

    def _case_payload(self, command: CeremonyCommand) -> dict[str, Any]:
        if command.event != "setujui":
            return command.payload
        # The approval carries the ceremony's own date, place and witnesses to every unit.
        start = self.state.start
        saksi = [s.model_dump(mode="json") for s in start.saksi]
        return {"jadwal": self.state.jadwal.isoformat(), "tempat": start.tempat, "saksi": saksi}

    async def _project(self) -> None:
        version = self.state.version
        await workflow.execute_activity(
            PROJECT_CEREMONY,
            self.state.model_copy(deep=True),  # the state as of this version, not as of the retry
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=PROJECTION_RETRY,
        )
        self.projected = max(self.projected or 0, version)
