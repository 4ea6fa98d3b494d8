"""Every committed history replays through today's workflow code (CI runs this on every change)."""

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from models.contracts import PROJECT_TRANSITION, CaseData, Transition
from tests.replay import HISTORIES, replayer
from workflows import lifecycle

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_committed():
    assert RECORDED, "tests/histories/ holds no recorded history: run P2HAM_RECORD_HISTORIES=1 make test"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


@pytest.mark.parametrize("version", [10, 11])
def test_entries_hash_as_they_were_written_with_and_without_a_recorded_lineage(version: int):
    """Every entry a recorded case projected hashes, read back through today's contract, to the hash it was written
    with: entries from before the lineage was recorded (v10) leave it out, later ones (v11) are sealed with it."""
    path = HISTORIES / f"happy_path.v{version}.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    convert = pydantic_data_converter.payload_converter
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    entries = [
        convert.from_payloads(list(s.input.payloads), [Transition, CaseData])[0]
        for s in scheduled
        if s.activity_type.name == PROJECT_TRANSITION
    ]
    assert entries and all(lifecycle.chain_hash(e.model_dump(mode="json")) == e.hash for e in entries)
    officials = [e for e in entries if e.actor.role != "system" and e.event != "ajukan"]
    assert officials and {e.lineage is not None for e in officials} == {version >= 11}
