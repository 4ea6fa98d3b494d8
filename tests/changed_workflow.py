"""Test-only copies of the case workflow with incompatible changes, under the same workflow name `P2hamCase`.

They exist to prove that replaying the committed histories (and the auditor's replay) catches a change that was not
guarded with `workflow.patched(...)`. Never registered with a worker. Kept apart from the test module so the workflow
sandbox imports only workflow code.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contracts import CaseData, CaseStart, Transition

from workflows.unit import CaseWorkflow


@workflow.defn(name="P2hamCase", sandboxed=True)
class ExtraTimerCase(CaseWorkflow):
    """Waits a moment before its first step: a timer no recorded run started."""

    @workflow.run
    async def run(self, start: CaseStart) -> CaseData:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(start)


@workflow.defn(name="P2hamCase", sandboxed=True)
class NoProjectionCase(CaseWorkflow):
    """Skips the projection to the read model: the recorded runs' activity markers match no command any more."""

    @workflow.run
    async def run(self, start: CaseStart) -> CaseData:
        return await super().run(start)

    async def _project(self, entry: Transition) -> None:
        self.projected_seq = max(self.projected_seq, entry.seq)


CHANGED = {"extra timer": ExtraTimerCase, "projection skipped": NoProjectionCase}
