"""The Temporal floor: workflows with no domain logic, to measure what Temporal itself costs on this machine.

Only temporalio is imported here: the workflow sandbox re-imports this module for every run.
"""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="P2hamBenchNoop")
async def noop(count: int) -> int:
    return count


@workflow.defn(name="P2hamBenchFloor")
class FloorWorkflow:
    """Receives `steps` Updates, each one a transition with nothing behind it, then ends."""

    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self, steps: int) -> int:
        await workflow.wait_condition(lambda: self.count >= steps)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.count

    @workflow.update
    def step(self) -> int:
        self.count += 1
        return self.count

    @workflow.update
    async def step_projected(self) -> int:
        """A transition and one regular activity after it: the least a durable projection after commit costs (an
        activity task, and a second workflow task when it completes), with no work inside the activity."""
        self.count += 1
        return await workflow.execute_activity(noop, self.count, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name="P2hamBenchTrivial")
class TrivialWorkflow:
    """Starts and ends: the cheapest thing `client.start_workflow` can start."""

    @workflow.run
    async def run(self) -> None:
        return None


FLOOR_WORKFLOWS = [FloorWorkflow, TrivialWorkflow]
FLOOR_ACTIVITIES = [noop]
