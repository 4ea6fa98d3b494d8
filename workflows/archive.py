"""The archive's own small workflow: started by a case as its last act, it outlives the case and exports its history
once the case run has closed (service/archive.py explains why this way)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.contracts import ARSIPKAN_RIWAYAT, ClosedRun

# No attempt limit: a history must never be left unarchived because a bucket or a worker was away for a while.
ARCHIVE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(minutes=5))


def archive_workflow_id(run: ClosedRun) -> str:
    # By the run id alone (unique): a history replayed under another workflow id (tests/histories/) must issue the
    # same command. Not "p2ham-{year}-...": a cycle's case list (service/audit/case.py) must not mistake it for a case.
    return f"p2ham-arsip-{run.run_id}"


@workflow.defn(name="P2hamArsip")
class ArchiveWorkflow:
    @workflow.run
    async def run(self, run: ClosedRun) -> int:
        return await workflow.execute_activity(
            ARSIPKAN_RIWAYAT, run, start_to_close_timeout=timedelta(minutes=5), retry_policy=ARCHIVE_RETRY
        )
