"""The case workflow: one unit in one cycle year, from application to the end of its award."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models.contracts import (
        KIRIM_NOTIFIKASI,
        PROJECT_TRANSITION,
        SYSTEM,
        Actor,
        CaseData,
        CaseStart,
        ClosedRun,
        EventRequest,
        EvidenceInfo,
        Notice,
        Transition,
    )
    from workflows import lifecycle, reminders
    from workflows.archive import ArchiveWorkflow, archive_workflow_id
    from workflows.reasons import Reason

STAGE = SearchAttributeKey.for_keyword("P2hamStage")
YEAR = SearchAttributeKey.for_int("P2hamYear")
REGION = SearchAttributeKey.for_keyword("P2hamRegion")
UNIT = SearchAttributeKey.for_keyword("P2hamUnit")
SEARCH_ATTRIBUTES = (STAGE, YEAR, REGION, UNIT)

PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


def case_workflow_id(year: int, unit: str) -> str:
    return f"p2ham-{year}-{unit}"


@workflow.defn(name="P2hamCase")
class CaseWorkflow:
    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        # The machine exists before `run` starts, because an official's update can arrive first.
        self.case: CaseData = start.case
        self.application: Transition | None = None
        if self.case.stage is None:  # a new application
            self.machine, self.application = lifecycle.start(self.case, start.applicant, start.catatan, workflow.now())
        else:  # the same case, carried over by continue-as-new with its state
            self.machine = lifecycle.Lifecycle(self.case)
        self.projected_seq = self.case.seq if self.application is None else 0
        self.reminding = self.in_time = False
        self.deliveries: list[workflow.ActivityHandle] = []

    @workflow.run
    async def run(self, start: CaseStart) -> CaseData:
        # Cases started before reminders existed replay as they ran: no reminder timers in their history.
        self.reminding = workflow.patched("reminders")
        # Cases started before reminders waited for their deadline to be known, and stopped where the calendar ends
        # the stage, replay as they ran (see reminders.notices).
        self.in_time = workflow.patched("reminders-in-time")
        if self.application is not None:
            await self._project(self.application)
        while self.case.stage not in lifecycle.FINAL_STAGES:
            await self._wait_for_official_or_calendar()
            if workflow.info().is_continue_as_new_suggested():
                # A long case (many extensions, revisions, reschedules) starts a fresh history, carrying its state.
                await self._settle()
                workflow.continue_as_new(CaseStart(case=self.case, applicant=SYSTEM))
        await self._settle()
        # Cases that ended before the archive existed replay as they ran: their history starts no archive workflow.
        if workflow.patched("archive-on-close"):
            await self._archive_after_close()
        return self.case

    async def _archive_after_close(self) -> None:
        """The case's last act: a workflow of its own that exports this history once it is complete, i.e. after this
        run has closed (ABANDON: it outlives the case). service/archive.py explains why this way."""
        info = workflow.info()
        run = ClosedRun(workflow_id=info.workflow_id, run_id=info.run_id, year=self.case.year, unit=self.case.unit.code)
        await workflow.start_child_workflow(
            ArchiveWorkflow.run, run, id=archive_workflow_id(run), parent_close_policy=ParentClosePolicy.ABANDON
        )

    async def _settle(self) -> None:
        """Let officials' updates finish, and the last reminders go out (a failed one does not fail the case)."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        for delivery in self.deliveries:
            try:
                await delivery
            except ActivityError as e:
                workflow.logger.warning("a notification was not delivered: %s", e.cause)
        self.deliveries = []

    async def _wait_for_official_or_calendar(self) -> None:
        """Sleep until an official acts, or the calendar's next moment: a reminder to send or an event to fire."""
        seq = self.case.seq
        timer = lifecycle.next_timer(self.case)
        notice = (
            next(iter(reminders.notices(self.case, self._follows_plans(), self.in_time)), None)
            if self.reminding
            else None
        )
        due = min((m.at for m in (timer, notice) if m is not None), default=None)
        delay = None if due is None else (due - workflow.now()).total_seconds()
        if delay is None or delay > 0:
            try:
                await workflow.wait_condition(lambda: self.case.seq != seq, timeout=delay)
                return
            except TimeoutError:
                pass
        if notice is not None and notice.at == due:
            self._remind(notice)
        else:
            assert timer is not None
            await self._apply(timer.event, SYSTEM, {})

    def _follows_plans(self) -> bool:
        """Whether the plan's target dates are followed up. Asked only once the case has a plan: a case recorded before
        plans existed never asks, so its history needs no marker; a case that sent a plan records one then."""
        return self.case.rencana is not None and workflow.patched("rencana")

    def _remind(self, notice: Notice) -> None:
        # Delivery runs beside the case, never blocking it: a mail outage must not hold up a deadline. The activity
        # keys each delivery by the notice's key, so retries and replays never send it twice; after a day it is stale.
        self.deliveries.append(
            workflow.start_activity(
                KIRIM_NOTIFIKASI,
                notice,
                start_to_close_timeout=timedelta(seconds=20),
                schedule_to_close_timeout=timedelta(days=1),
                retry_policy=DELIVERY_RETRY,
            )
        )
        self.case.reminded.append(notice.key)

    @workflow.update
    async def kirim(self, request: EventRequest) -> CaseData:
        """An official's event. Refusals are raised by the validator, so they leave no trace in history."""
        # Cases that ran before evidence was checked replay as they ran (their history has no such marker).
        evidence = request.evidence if workflow.patched("evidence-checked") else None
        # Cases that ran before teams were assigned (`tugaskan`) replay without the assignment checks.
        assignment = workflow.patched("penugasan")
        lineage = tuple(request.lineage)
        # Cases that ran before entries recorded the lineage they were judged with replay without recording it.
        recorded = workflow.patched("lineage-recorded")
        return await self._apply(request.event, request.actor, request.payload, evidence, assignment, lineage, recorded)

    @kirim.validator
    def _validate_kirim(self, request: EventRequest) -> None:
        why = lifecycle.refused(
            self.case,
            request.event,
            request.actor,
            workflow.now(),
            request.payload,
            request.evidence,
            lineage=tuple(request.lineage),
        )
        if why:
            raise refusal(request.event, why)

    @workflow.update
    async def ajukan(self) -> CaseData:
        """Answers the application once it is in the read model (the API's `POST .../cases`)."""
        await workflow.wait_condition(lambda: self.projected_seq >= (self.application.seq if self.application else 0))
        return self.case

    @workflow.query
    def keadaan(self) -> CaseData:
        return self.case

    async def _apply(
        self,
        event: str,
        actor: Actor,
        payload: dict,
        evidence: dict[str, EvidenceInfo] | None = None,
        assignment: bool = True,
        lineage: tuple[str, ...] = (),
        record_lineage: bool = False,
    ) -> CaseData:
        """Fire the event and project it; returns the case as this event left it (others may follow meanwhile)."""
        try:
            entry = self.machine.fire(
                event, actor, payload, workflow.now(), evidence, assignment, lineage, record_lineage
            )
        except lifecycle.Refused as e:
            raise refusal(e.event, e.why) from None
        return await self._project(entry)

    async def _project(self, entry: Transition) -> CaseData:
        snapshot = self.case.model_copy(deep=True)  # the state as of this entry, not as of a later one or a retry
        stage = snapshot.stage or ""
        # Each upsert costs the server a visibility write; events that keep the stage (jadwal_ulang, perpanjang...)
        # need none. Older cases upserted on every event and replay so.
        indexed = workflow.info().typed_search_attributes.get(STAGE)
        if not workflow.patched("stage-indexed-on-change") or indexed != stage:
            workflow.upsert_search_attributes([STAGE.value_set(stage)])
        # A regular activity runs only once the workflow task that made the entry is committed: a lost task (a killed
        # worker, a task superseded by concurrent updates) leaves no phantom entry. Older cases used a local activity.
        run = (
            workflow.execute_activity
            if workflow.patched("projection-after-commit")
            else workflow.execute_local_activity
        )
        await run(
            PROJECT_TRANSITION,
            args=[entry, snapshot],
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=PROJECTION_RETRY,
        )
        self.projected_seq = max(self.projected_seq, entry.seq)
        return snapshot


def refusal(event: str, why: list[Reason]) -> ApplicationError:
    """A refusal as Temporal carries it: its details are the reasons as data (`{"code", "params"}`), which the API
    renders in the caller's language. Older refusals carried English sentences; readers accept both."""
    return ApplicationError(
        f"{event} refused: " + "; ".join(r.code for r in why), why, type="Refused", non_retryable=True
    )
