"""Every committed history replays through today's workflow code (CI runs this on every change)."""

import pytest
from temporalio.client import WorkflowHistory

from tests.replay import HISTORIES, replayer

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_committed():
    assert RECORDED, "tests/histories/ holds no recorded history: run P2HAM_RECORD_HISTORIES=1 make test"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"
