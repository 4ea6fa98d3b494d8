"""A case through the whole lifecycle, through the API, against a real Temporal dev server."""

import asyncio
from datetime import timedelta

import httpx
from temporalio.client import Client

from service.demo import happy_path
from service.settings import Settings
from tests.replay import fetch_and_keep, replayer
from workflows.lifecycle import APPLICANT_ROLES, RULES
from workflows.unit import case_workflow_id


async def test_happy_path_every_step_by_the_right_role(
    api: httpx.AsyncClient, settings: Settings, client: Client, year: int, token
):
    lines: list[str] = []
    await happy_path(api, settings, year, "KANIM-HAPPY", timedelta(seconds=1), say=lines.append)

    r = await api.get(f"/cycles/{year}/cases/KANIM-HAPPY/history", headers=token("auditor"))
    assert r.status_code == 200
    history = r.json()
    events = [e["event"] for e in history["entries"]]
    assert events == [
        "ajukan",
        "setujui_permohonan",
        "deklarasikan",
        "kirim_rencana",
        "tanggapi_rencana",
        "tandatangani_pernyataan",
        "buka_pelaporan",
        "tugaskan",
        "kirim_laporan",
        "lolos_verifikasi",
        "nilai",
        "nilai",
        "tetapkan_hasil_evaluasi",
        "tetapkan_penghargaan",
        "akhiri_masa_berlaku",
    ]
    assert history["stage"] == "selesai"
    for entry in history["entries"]:
        roles = APPLICANT_ROLES if entry["event"] == "ajukan" else RULES[entry["event"]].roles
        assert entry["actor"]["role"] in roles, entry
        assert entry["at"]
    assert [e["seq"] for e in history["entries"]] == list(range(1, 16))
    assert history["entries"][12]["to"] == "lolos_evaluasi"
    assert any("--Tetapkan predikat--> Berpredikat" in line for line in lines)

    # Search attributes follow the case, so operators can find it in the Temporal UI by stage, year, region and unit.
    query = (
        f"P2hamStage = 'selesai' AND P2hamYear = {year} AND P2hamRegion = 'KANWIL-DKI' AND P2hamUnit = 'KANIM-HAPPY'"
    )
    for _ in range(50):
        found = [w.id async for w in client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.2)
    assert found == [case_workflow_id(year, "KANIM-HAPPY")]

    # Its history replays through today's code (and becomes a committed history with P2HAM_RECORD_HISTORIES=1).
    history = await fetch_and_keep(client, case_workflow_id(year, "KANIM-HAPPY"), "happy_path")
    await replayer().replay_workflow(history)
