"""A case's Temporal histories replayed through today's workflow code: a nondeterminism means today's code would not
make the decisions the history records."""

import re
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import WorkflowExecutionStatus, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from service.audit.findings import Findings
from service.audit.history import Recorded
from worker import SANDBOX
from workflows.ceremony import CeremonyWorkflow
from workflows.reasons import reason
from workflows.unit import CaseWorkflow

# Shared by every replayer: left to itself, each Replayer makes a thread pool that is never shut down.
REPLAY_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="p2ham-replay")
GOING_OR_DONE = (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED)  # any other status: it stopped


def replayer(workflows: tuple[type, ...] = (CaseWorkflow, CeremonyWorkflow)) -> Replayer:
    """Today's workflow code with the worker's sandbox and converter (tests pass a changed copy to prove it bites)."""
    return Replayer(
        workflows=list(workflows),
        data_converter=pydantic_data_converter,
        workflow_runner=SANDBOX,
        workflow_task_executor=REPLAY_THREADS,
    )


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


async def replay_runs(recorded: Recorded, with_replayer: Replayer | None = None) -> Findings:
    """Every run of the case replayed; `info` is the verdict's `replay` (its `ok`: every run replays). A workflow that
    stopped otherwise than by completing is a difference too."""
    if not recorded.histories:
        return Findings(
            [reason("audit.tanpa_riwayat", workflow_id=recorded.workflow_id)],
            {"ok": False, "workflow_id": recorded.workflow_id},
        )
    replayed = [await replay_history(run, with_replayer) for run in recorded.histories]
    found = Findings(
        differences=[d for run in replayed for d in run.differences],
        info={
            **replayed[-1].info,
            "ok": all(run.ok for run in replayed),
            "run_id": recorded.histories[-1].run_id,
            "runs": len(recorded.histories),
            "status": recorded.status.name.lower() if recorded.status is not None else "archived",
            "history_from": recorded.source,
        },
    )
    if recorded.status is not None and recorded.status not in (
        WorkflowExecutionStatus.RUNNING,
        WorkflowExecutionStatus.COMPLETED,
    ):
        found.differences.append(reason("audit.workflow_berhenti", status=recorded.status.name.lower()))
    return found
