"""Ceremonies: one pencanangan for many units, against a real Temporal dev server, through the API."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from service.demo import WITNESSES, Driver, open_case, sample_statement
from service.settings import Settings
from tests.stages import roomy_calendar
from worker import SANDBOX
from workflows.ceremony import CONCURRENCY, CeremonyWorkflow, ceremony_workflow_id

WAIT = 30.0
PLACE = "Aula Kanwil DKI Jakarta"


async def open_units(api: httpx.AsyncClient, settings: Settings, year: int, codes: list[str]) -> dict[str, Driver]:
    # Reporting opens minutes away: signed units stay in pembangunan while the test looks.
    calendar = roomy_calendar(timedelta(minutes=2))
    first = await open_case(api, settings, year, codes[0], calendar, say=print)  # creates the cycle: not concurrently
    rest = await asyncio.gather(*(open_case(api, settings, year, code, calendar, say=print) for code in codes[1:]))
    return {d.unit: d for d in (first, *rest)}


def ceremony_body(codes: list[str], jadwal: datetime, saksi: list[dict] = WITNESSES) -> dict[str, Any]:
    return {"units": codes, "jadwal": jadwal.isoformat(), "tempat": PLACE, "saksi": saksi}


async def post(api: httpx.AsyncClient, path: str, headers: dict, body: Any, key: str | None = None) -> httpx.Response:
    return await api.post(path, json=body, headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})


async def case_events(d: Driver) -> list[str]:
    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    return [e["event"] for e in history["entries"]]


def by_unit(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["unit"]: u for u in report["units"]}


async def until(check, what: str, timeout: float = WAIT) -> Any:
    """Poll a read until it answers what we wait for (the ceremony closes right after its last declaration)."""
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")
        await asyncio.sleep(0.2)
    return found


async def test_one_ceremony_declares_three_units_and_reports_the_head_who_did_not_sign(
    api: httpx.AsyncClient, settings: Settings, client: Client, year: int
):
    codes = ["LAPAS-CER-A", "LAPAS-CER-B", "LAPAS-CER-C"]
    drivers = await open_units(api, settings, year, codes)
    officials = drivers[codes[0]].officials
    jadwal = datetime.now(UTC) + timedelta(seconds=6)

    created = await post(api, f"/cycles/{year}/ceremonies", officials["kanwil"], ceremony_body(codes, jadwal))
    assert created.status_code == 201, created.text
    ceremony = created.json()
    assert (ceremony["status"], ceremony["region"], [u["unit"] for u in ceremony["units"]]) == (
        "diusulkan",
        "KANWIL-DKI",
        codes,
    )
    assert {(u["stage"], u["outcome"]) for u in ceremony["units"]} == {("permohonan", None)}
    path = f"/cycles/{year}/ceremonies/{ceremony['id']}"

    approved = await post(api, f"{path}/events/setujui", officials["ditjen"], {})
    assert approved.status_code == 200, approved.text
    assert {(u["outcome"], u["stage"]) for u in approved.json()["units"]} == {("applied", "pencanangan_terjadwal")}
    # Every case was approved with the ceremony's own date, place and witnesses.
    entry = (await drivers[codes[2]].call("GET", f"{drivers[codes[2]].case_path}/history", "ditjen"))["entries"][-1]
    assert (entry["event"], entry["payload"]["tempat"], entry["actor"]["role"]) == (
        "setujui_permohonan",
        PLACE,
        "ditjen_ham",
    )
    assert datetime.fromisoformat(entry["payload"]["jadwal"]) == jadwal

    # Before the date every case refuses the declaration, with the lifecycle's reason; nothing moves.
    early = await post(api, f"{path}/events/deklarasikan", officials["kanwil"], {"saksi_hadir": WITNESSES})
    assert early.status_code == 409, early.text
    [grouped] = early.json()["why_codes"]
    assert grouped["code"] == "untuk_unit" and grouped["params"]["units"] == list(codes)
    assert grouped["params"]["alasan"]["code"] == "pencanangan_belum_waktunya"
    assert early.json()["why"][0].startswith(f"Unit {codes[0]}, {codes[1]}, dan {codes[2]}: Pencanangan dijadwalkan")

    d = drivers[codes[0]]
    await d.wait_until("kanwil", lambda v: "deklarasikan" in v["allowed"], "the ceremony's date", WAIT)
    # ONE request declares every unit of the ceremony.
    declared = await post(api, f"{path}/events/deklarasikan", officials["kanwil"], {"saksi_hadir": WITNESSES})
    assert declared.status_code == 200, declared.text
    assert {u["unit"]: (u["event"], u["outcome"], u["stage"]) for u in declared.json()["units"]} == dict.fromkeys(
        codes, ("deklarasikan", "applied", "dicanangkan")
    )
    for code in codes:
        assert (await case_events(drivers[code]))[-1] == "deklarasikan"

    # Each head signs separately, through the case; the head of C never does.
    for code in codes[:2]:
        statement = await drivers[code].upload("kepala", "pernyataan.pdf", sample_statement(code))
        await drivers[code].send("tandatangani_pernyataan", "kepala", {"dokumen": statement})

    report = (await api.get(path, headers=officials["ditjen"])).json()
    units = by_unit(report)
    assert {code: units[code]["stage"] for code in codes} == {
        "LAPAS-CER-A": "pembangunan",
        "LAPAS-CER-B": "pembangunan",
        "LAPAS-CER-C": "dicanangkan",
    }
    assert report["summary"]["awaiting_signature"] == ["LAPAS-CER-C"]
    assert report["summary"]["by_stage"] == {"pembangunan": 2, "dicanangkan": 1}
    assert "belum menandatangani surat pernyataan pencanangan" in units["LAPAS-CER-C"]["note"]
    assert "belum menandatangani" not in units["LAPAS-CER-A"]["note"]
    assert [(e["event"], e["applied"], e["refused"]) for e in report["events"]] == [
        ("setujui", 3, 0),
        ("deklarasikan", 0, 3),
        ("deklarasikan", 3, 0),
    ]
    assert units["LAPAS-CER-C"]["results"]["setujui"]["outcome"] == "applied"

    # Every unit is declared, so the ceremony closes; the workflow's own state says what the read model says.
    closed = await until(lambda: ceremony_closed(api, path, officials["ditjen"]), "the ceremony to close")
    assert closed["status"] == "dideklarasikan"
    handle = client.get_workflow_handle(ceremony_workflow_id(year, ceremony["id"]))
    state = await handle.query(CeremonyWorkflow.laporan)
    assert [(s.event, s.count("applied")) for s in state.steps] == [
        ("setujui", 3),
        ("deklarasikan", 0),
        ("deklarasikan", 3),
    ]
    again = await post(
        api, f"{path}/events/jadwal_ulang", officials["kanwil"], {"jadwal": jadwal.isoformat(), "alasan": "x"}
    )
    assert (again.status_code, again.json()["error"]) == (409, "ceremony_closed")
    # The ceremony's history replays through today's code: its fan-out is deterministic.
    await handle.result()
    replayer = Replayer(workflows=[CeremonyWorkflow], data_converter=pydantic_data_converter, workflow_runner=SANDBOX)
    await replayer.replay_workflow(await handle.fetch_history())


async def ceremony_closed(api: httpx.AsyncClient, path: str, headers: dict) -> dict | None:
    report = (await api.get(path, headers=headers)).json()
    return report if report["closed"] else None


async def test_declaration_reaches_every_unit_in_one_request_beyond_the_concurrency_bound(
    api: httpx.AsyncClient, settings: Settings, year: int
):
    codes = [f"RUTAN-MASSAL-{n:02d}" for n in range(CONCURRENCY + 3)]
    drivers = await open_units(api, settings, year, codes)
    officials = drivers[codes[0]].officials
    jadwal = datetime.now(UTC) + timedelta(seconds=3)
    created = await post(api, f"/cycles/{year}/ceremonies", officials["ditjen"], ceremony_body(codes, jadwal))
    assert created.status_code == 201, created.text
    path = f"/cycles/{year}/ceremonies/{created.json()['id']}"
    assert (await post(api, f"{path}/events/setujui", officials["ditjen"], {})).status_code == 200

    await drivers[codes[-1]].wait_until("kanwil", lambda v: "deklarasikan" in v["allowed"], "the date", WAIT)
    declared = await post(api, f"{path}/events/deklarasikan", officials["kanwil"], {"saksi_hadir": WITNESSES})
    assert declared.status_code == 200, declared.text
    assert [u["unit"] for u in declared.json()["units"] if u["stage"] == "dicanangkan"] == codes
    histories = await asyncio.gather(*(case_events(drivers[code]) for code in codes))
    assert all(events.count("deklarasikan") == 1 for events in histories)


async def test_a_unit_at_the_wrong_stage_is_refused_with_its_reason_and_the_others_are_applied(
    api: httpx.AsyncClient, settings: Settings, year: int, token
):
    codes = ["KANIM-OK-1", "KANIM-OK-2", "KANIM-DITOLAK"]
    drivers = await open_units(api, settings, year, codes)
    await drivers["KANIM-DITOLAK"].send("tolak_permohonan", "ditjen", {"alasan": "Surat permohonan belum lengkap"})
    officials = drivers[codes[0]].officials
    jadwal = datetime.now(UTC) + timedelta(minutes=1)
    created = await post(api, f"/cycles/{year}/ceremonies", officials["ditjen"], ceremony_body(codes, jadwal))
    assert created.status_code == 201, created.text
    path = f"/cycles/{year}/ceremonies/{created.json()['id']}"

    approved = await post(api, f"{path}/events/setujui", officials["ditjen"], {})
    assert approved.status_code == 200, approved.text
    units = by_unit((await api.get(path, headers=token("auditor"))).json())
    assert {code: (units[code]["outcome"], units[code]["stage"]) for code in codes} == {
        "KANIM-OK-1": ("applied", "pencanangan_terjadwal"),
        "KANIM-OK-2": ("applied", "pencanangan_terjadwal"),
        "KANIM-DITOLAK": ("refused", "permohonan_ditolak"),
    }
    assert units["KANIM-DITOLAK"]["why"] == [
        "Langkah “Setujui permohonan” hanya dapat dilakukan pada tahap Permohonan; kasus ini berada pada tahap "
        "Permohonan ditolak."
    ]
    assert "setujui_permohonan" not in await case_events(drivers["KANIM-DITOLAK"])

    # Sent again, the approval goes only to the unit it did not reach; refused again, so the request is a 409.
    again = await post(api, f"{path}/events/setujui", officials["ditjen"], {})
    assert again.status_code == 409, again.text
    assert again.json()["why"] == [
        "Unit KANIM-DITOLAK: Langkah “Setujui permohonan” hanya dapat dilakukan pada tahap Permohonan; kasus ini "
        "berada pada tahap Permohonan ditolak."
    ]
    for code in ("KANIM-OK-1", "KANIM-OK-2"):
        assert (await case_events(drivers[code])).count("setujui_permohonan") == 1


async def test_a_retried_ceremony_request_with_the_same_idempotency_key_applies_once(
    api: httpx.AsyncClient, settings: Settings, year: int
):
    codes = ["UPT-IDEM-1", "UPT-IDEM-2"]
    drivers = await open_units(api, settings, year, codes)
    officials = drivers[codes[0]].officials
    body = ceremony_body(codes, datetime.now(UTC) + timedelta(minutes=1))
    key = "ceremony-" + uuid.uuid4().hex
    first = await post(api, f"/cycles/{year}/ceremonies", officials["ditjen"], body, key)
    retry = await post(api, f"/cycles/{year}/ceremonies", officials["ditjen"], body, key)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    other = await post(api, f"/cycles/{year}/ceremonies", officials["ditjen"], {**body, "tempat": "Lain"}, key)
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")
    listed = (await api.get(f"/cycles/{year}/ceremonies", headers=officials["ditjen"])).json()["items"]
    assert [c["id"] for c in listed] == [first.json()["id"]]

    path = f"/cycles/{year}/ceremonies/{first.json()['id']}/events/setujui"
    key = "setujui-" + uuid.uuid4().hex
    responses = [await post(api, path, officials["ditjen"], {}, key)]
    responses += await asyncio.gather(*(post(api, path, officials["ditjen"], {}, key) for _ in range(3)))
    assert [r.status_code for r in responses] == [200] * 4
    assert all(r.json()["events"] == responses[0].json()["events"] for r in responses)
    assert len(responses[0].json()["events"]) == 1
    for code in codes:
        assert (await case_events(drivers[code])).count("setujui_permohonan") == 1


async def test_ceremony_refusals_say_why_and_change_nothing(
    api: httpx.AsyncClient, settings: Settings, year: int, token
):
    codes = ["LAPAS-TOLAK-1", "LAPAS-TOLAK-2"]
    drivers = await open_units(api, settings, year, codes)
    officials = drivers[codes[0]].officials
    url = f"/cycles/{year}/ceremonies"
    body = ceremony_body(codes, datetime.now(UTC) + timedelta(minutes=1))

    operator = await post(api, url, officials["operator"], body)
    assert operator.status_code == 403
    elsewhere = await post(api, url, token("kanwil", region="KANWIL-JATIM"), body)
    assert elsewhere.status_code == 403
    assert "bukan wilayah Anda (KANWIL-JATIM)" in " ".join(elsewhere.json()["why"])
    no_forkopimda = await post(api, url, officials["kanwil"], {**body, "saksi": WITNESSES[:1]})
    assert no_forkopimda.status_code == 409
    assert no_forkopimda.json()["why"] == [
        f"Unit {codes[0]} dan {codes[1]}: Pencanangan memerlukan saksi dari unsur Forkopimda. Tambahkan saksi "
        "Forkopimda lalu ajukan kembali."
    ]
    unknown = await post(api, url, officials["kanwil"], {**body, "units": [*codes, "TIDAK-ADA"]})
    assert unknown.status_code == 409
    assert "Unit TIDAK-ADA: Unit belum terdaftar" in " ".join(unknown.json()["why"])
    past = await post(api, url, officials["kanwil"], {**body, "jadwal": "2020-01-01T09:00:00+07:00"})
    assert past.status_code == 409
    assert "sudah lewat. Pilih tanggal yang akan datang." in " ".join(past.json()["why"])
    for bad in ({**body, "units": [codes[0], codes[0]]}, {**body, "jadwal": "besok pagi"}, {**body, "units": []}):
        response = await post(api, url, officials["kanwil"], bad)
        assert (response.status_code, response.json()["error"]) == (422, "invalid_payload"), response.text
    assert (await api.get(url, headers=officials["ditjen"])).json()["items"] == []

    created = await post(api, url, officials["kanwil"], body)
    assert created.status_code == 201, created.text
    path = f"{url}/{created.json()['id']}"
    kanwil_approves = await post(api, f"{path}/events/setujui", officials["kanwil"], {})
    assert kanwil_approves.status_code == 403
    assert "Langkah “Setujui permohonan” dilakukan oleh Ditjen HAM" in " ".join(kanwil_approves.json()["why"])
    with_body = await post(api, f"{path}/events/setujui", officials["ditjen"], {"jadwal": "x"})
    assert with_body.status_code == 422
    foreign = await post(
        api, f"{path}/events/deklarasikan", token("kanwil", region="KANWIL-JATIM"), {"saksi_hadir": WITNESSES}
    )
    assert foreign.status_code == 403
    assert "bukan wilayah Anda (KANWIL-JATIM)" in " ".join(foreign.json()["why"])
    assert (await post(api, f"{path}/events/resmikan", officials["ditjen"], {})).status_code == 404
    assert (await api.get(f"{url}/tidak-ada", headers=officials["ditjen"])).status_code == 404

    report = (await api.get(path, headers=officials["ditjen"])).json()
    assert (report["status"], report["events"]) == ("diusulkan", [])
    for code in codes:
        assert await case_events(drivers[code]) == ["ajukan"]
