"""The API's acceptance paths against a real Temporal dev server: timers, refusals, idempotency, durability."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from models.policy import compressed_calendar
from service.api import create_app
from service.demo import WITNESSES, Driver, assign, declare, open_case, report
from service.settings import Settings
from tests.replay import fetch_and_keep, replayer
from worker import build_worker
from workflows.unit import case_workflow_id

STEP = timedelta(seconds=1)
WAIT = 15.0


def calendar_from_now():
    return compressed_calendar(datetime.now(UTC), STEP)


async def history_events(d: Driver) -> list[str]:
    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    return [e["event"] for e in history["entries"]]


async def test_transition_year_ends_after_pembangunan_by_timer(
    api: httpx.AsyncClient, settings: Settings, client: Client, year: int
):
    d = await open_case(api, settings, year, "LAPAS-2022", calendar_from_now(), ends_after="pembangunan", say=print)
    await declare(d, datetime.now(UTC) + STEP, WAIT)
    seen = []
    final = await d.wait_until("operator", lambda v: seen.append(v) or v["final"], "the end of the cycle", WAIT)
    assert final["stage"] == "transisi_selesai"
    assert all(v["stage"] in ("pembangunan", "transisi_selesai") for v in seen)
    assert not any({"kirim_laporan", "buka_pelaporan"} & set(v["allowed"]) for v in seen)
    assert (await history_events(d))[-2:] == ["tandatangani_pernyataan", "akhiri_transisi"]
    await replayer().replay_workflow(await fetch_and_keep(client, case_workflow_id(year, d.unit), "transition_year"))


async def test_window_closes_without_report(api: httpx.AsyncClient, settings: Settings, client: Client, year: int):
    d = await open_case(api, settings, year, "KANIM-SILENT", calendar_from_now(), say=print)
    await declare(d, datetime.now(UTC) + STEP, WAIT)
    final = await d.wait_until("operator", lambda v: v["final"], "the reporting window to close", WAIT)
    assert final["stage"] == "tidak_melapor"
    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    last = history["entries"][-1]
    assert (last["event"], last["from"], last["actor"]["role"]) == ("tutup_pelaporan", "pelaporan", "system")
    await replayer().replay_workflow(await fetch_and_keep(client, case_workflow_id(year, d.unit), "tidak_melapor"))


async def test_rejected_application_resubmitted_and_approved(api: httpx.AsyncClient, settings: Settings, year: int):
    d = await open_case(api, settings, year, "RUTAN-ULANG", calendar_from_now(), say=print)
    view = await d.send("tolak_permohonan", "ditjen", {"alasan": "Surat permohonan belum ditandatangani kepala unit"})
    assert view["stage"] == "permohonan_ditolak"
    assert view["deadline"] is not None  # the application deadline, after which it is final
    view = await d.send("ajukan_ulang", "operator", {"catatan": "Surat sudah ditandatangani"})
    assert view["stage"] == "permohonan"
    jadwal = (datetime.now(UTC) + 5 * STEP).isoformat()
    view = await d.send("setujui_permohonan", "ditjen", {"jadwal": jadwal, "tempat": "Aula", "saksi": WITNESSES})
    assert view["stage"] == "pencanangan_terjadwal"
    assert await history_events(d) == ["ajukan", "tolak_permohonan", "ajukan_ulang", "setujui_permohonan"]


ENGLISH_WORDS = {"the", "is", "not", "you", "must", "a", "an", "be", "has", "no", "only", "by", "this", "case"}


def words(response: httpx.Response) -> list[str]:
    body = response.json()
    return [body["message"], *body["why"]]


def assert_in_both_languages(indonesian: httpx.Response, english: httpx.Response) -> None:
    """The same answer, in Bahasa Indonesia (no English sentence, no identifier) and in English; the codes equal."""
    assert indonesian.status_code == english.status_code
    assert indonesian.headers["content-language"] == "id" and english.headers["content-language"] == "en"
    assert indonesian.json()["why_codes"] == english.json()["why_codes"]
    for text in words(indonesian):
        found = set(text.lower().replace(".", " ").replace(";", " ").split())
        assert not found & ENGLISH_WORDS, text
        assert not [w for w in text.split() if "_" in w], text  # setujui_permohonan, ditjen_ham...
    for id_text, en_text in zip(words(indonesian), words(english), strict=True):
        assert id_text != en_text
        assert set(en_text.lower().replace(".", " ").split()) & ENGLISH_WORDS, en_text


async def test_refusals_say_why_and_change_nothing(api: httpx.AsyncClient, settings: Settings, year: int, token):
    d = await open_case(api, settings, year, "KANIM-REFUSE", calendar_from_now(), say=print)
    path = f"{d.case_path}/events"
    snapshot = (await d.call("GET", d.case_path, "ditjen"), await d.call("GET", f"{d.case_path}/history", "ditjen"))
    jadwal = (datetime.now(UTC) + 5 * STEP).isoformat()
    ceremony = {"jadwal": jadwal, "tempat": "Aula", "saksi": WITNESSES}

    async def post(event: str, who: str, body: object, language: dict | None = None) -> httpx.Response:
        headers = {**d.officials[who], "Idempotency-Key": str(uuid.uuid4()), **(language or {})}
        response = await api.post(f"{path}/{event}", json=body, headers=headers)
        if language is None:  # Bahasa Indonesia by default; the same refusal in English on request
            english = await post(event, who, body, {"Accept-Language": "en"})
            assert_in_both_languages(response, english)
        return response

    wrong_role = await post("setujui_permohonan", "operator", ceremony)
    assert wrong_role.status_code == 403
    assert wrong_role.json()["why_codes"] == [
        {
            "code": "peran_salah",
            "params": {"event": "setujui_permohonan", "roles": ["ditjen_ham"], "role": "operator_unit"},
        }
    ]
    assert wrong_role.json()["why"] == [
        "Langkah “Setujui permohonan” dilakukan oleh Ditjen HAM; Anda masuk sebagai Operator unit."
    ]

    not_now = await post("kirim_laporan", "operator", {"indikator": []})
    assert not_now.status_code == 409
    assert [w["code"] for w in not_now.json()["why_codes"]] == ["tahap_salah"]
    assert "tahap Pelaporan" in " ".join(not_now.json()["why"])

    no_forkopimda = await post("setujui_permohonan", "ditjen", {**ceremony, "saksi": WITNESSES[:1]})
    assert no_forkopimda.status_code == 409
    assert no_forkopimda.json()["why"] == [
        "Pencanangan memerlukan saksi dari unsur Forkopimda. Tambahkan saksi Forkopimda lalu ajukan kembali."
    ]

    bad_payload = await post("setujui_permohonan", "ditjen", {**ceremony, "jadwal": "besok pagi"})
    assert bad_payload.status_code == 422
    assert bad_payload.json()["error"] == "invalid_payload"
    assert bad_payload.json()["why_codes"] == [{"code": "isian.waktu_salah", "params": {"isian": "jadwal"}}]
    assert bad_payload.json()["why"][0].startswith("Isian jadwal harus berupa waktu ISO 8601 dengan zona waktu")

    empty_reason = await post("tolak_permohonan", "ditjen", {"alasan": "   "})
    assert empty_reason.status_code == 422

    other_unit = await api.post(
        f"{path}/batalkan",
        json={"alasan": "salah unit"},
        headers={**token("operator_unit", unit="KANIM-LAIN"), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert other_unit.status_code == 403
    assert other_unit.json()["why_codes"][0]["code"] == "bukan_unit_anda"
    assert "KANIM-LAIN" in " ".join(other_unit.json()["why"])

    assert (await d.call("GET", d.case_path, "ditjen"), await d.call("GET", f"{d.case_path}/history", "ditjen")) == (
        snapshot
    )

    unknown_case = await api.get(f"/cycles/{year}/cases/TIDAK-ADA", headers=d.officials["ditjen"])
    assert unknown_case.status_code == 404
    assert unknown_case.json()["error"] == "unknown_case"
    assert unknown_case.json()["message"] == f"Unit TIDAK-ADA tidak memiliki kasus pada siklus {year}."
    english = await api.get(f"/cycles/{year}/cases/TIDAK-ADA?lang=en", headers=d.officials["ditjen"])
    assert_in_both_languages(unknown_case, english)
    unknown_event = await post("setujui_semua", "ditjen", {}, {})  # its text names what was sent: not compared
    assert unknown_event.status_code == 404
    no_token = await api.get(d.case_path)
    assert no_token.status_code == 401
    assert set(no_token.json()) == {"error", "message", "why", "why_codes"}


@pytest.mark.parametrize("concurrent", [False, True])
async def test_same_idempotency_key_applies_once(
    api: httpx.AsyncClient, settings: Settings, year: int, concurrent: bool
):
    d = await open_case(api, settings, year, f"KANIM-IDEM-{int(concurrent)}", calendar_from_now(), say=print)
    await d.send(
        "setujui_permohonan",
        "ditjen",
        {"jadwal": (datetime.now(UTC) + 5 * STEP).isoformat(), "tempat": "Aula", "saksi": WITNESSES},
    )
    body = {"jadwal": (datetime.now(UTC) + 6 * STEP).isoformat(), "alasan": "Kakanwil berhalangan"}
    headers = {**d.officials["ditjen"], "Idempotency-Key": "retry-" + uuid.uuid4().hex}
    url = f"{d.case_path}/events/jadwal_ulang"
    if concurrent:
        responses = await asyncio.gather(*(api.post(url, json=body, headers=headers) for _ in range(5)))
    else:
        responses = [await api.post(url, json=body, headers=headers) for _ in range(3)]
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["seq"] for r in responses}) == 1
    assert (await history_events(d)).count("jadwal_ulang") == 1

    # A new key is a new request: the same body is applied again.
    await api.post(url, json=body, headers={**headers, "Idempotency-Key": "retry-" + uuid.uuid4().hex})
    assert (await history_events(d)).count("jadwal_ulang") == 2


async def test_worker_restarted_mid_case_picks_it_up(settings: Settings, client: Client, engine: Engine, year: int):
    """The case lives in Temporal, not in the worker: a new worker carries on, and a timer due meanwhile fires."""
    own = settings.model_copy(update={"task_queue": f"p2ham-restart-{uuid.uuid4().hex[:8]}"})
    app = create_app(own, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
        async with build_worker(client, engine, own.task_queue):
            d = await open_case(http, own, year, "LAPAS-RESTART", calendar_from_now(), say=print)
            await declare(d, datetime.now(UTC) + STEP, WAIT)
            assert (await d.call("GET", d.case_path, "operator"))["stage"] == "pembangunan"
        # No worker now: the reporting window opens on the calendar while nobody polls the task queue.
        opens = datetime.fromisoformat((await d.call("GET", d.case_path, "operator"))["deadline"])
        await asyncio.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()) + 0.5)
        assert (await d.call("GET", d.case_path, "operator"))["stage"] == "pembangunan"
        async with build_worker(client, engine, own.task_queue):
            view = await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the missed timer", WAIT)
            assert view["allowed"] == ["kirim_laporan"]
        events = await history_events(d)
    assert events == ["ajukan", "setujui_permohonan", "deklarasikan", "tandatangani_pernyataan", "buka_pelaporan"]


async def test_temporal_unreachable_is_a_503_and_reads_still_work(
    api: httpx.AsyncClient, settings: Settings, year: int
):
    d = await open_case(api, settings, year, "KANIM-503", calendar_from_now(), say=print)
    before = await d.call("GET", f"{d.case_path}/history", "ditjen")
    down = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))  # nothing listens there
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://p2ham.test") as http:
        headers = {**d.officials["ditjen"], "Idempotency-Key": str(uuid.uuid4())}
        r = await http.post(f"{d.case_path}/events/tolak_permohonan", json={"alasan": "berkas kurang"}, headers=headers)
        assert r.status_code == 503
        assert r.headers["Retry-After"].isdigit()
        assert r.json()["error"] == "temporal_unavailable"
        assert (await http.get("/health")).json() == {"status": "ok", "database": True, "temporal": False}
        assert (await http.get(d.case_path, headers=d.officials["ditjen"])).json()["stage"] == "permohonan"
    assert await d.call("GET", f"{d.case_path}/history", "ditjen") == before


async def test_revision_loop_award_and_revocation(
    api: httpx.AsyncClient, settings: Settings, client: Client, year: int
):
    """Returned for revision, revised, passed, awarded, then the award withdrawn: every step recorded and replayable."""
    cal = compressed_calendar(datetime.now(UTC), STEP).model_copy(
        update={"award_valid_until": datetime.now(UTC) + timedelta(minutes=10)}
    )
    d = await open_case(api, settings, year, "LAPAS-CABUT", cal, say=print)
    await declare(d, datetime.now(UTC) + STEP, WAIT)
    await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", WAIT)
    await assign(d)
    await report(d)
    view = await d.send(
        "kembalikan", "verifikator", {"catatan": "Foto ramp buram", "indikator": {"sarana.10": "foto ulang ramp"}}
    )
    assert view["stage"] == "perbaikan" and view["deadline"] is not None
    await report(d, "kirim_perbaikan")
    await d.send("lolos_verifikasi", "verifikator")
    codes = list((await d.call("GET", f"/cycles/{year}", "ketua"))["weights"])
    await d.send("nilai", "penilai_a", {"skor": dict.fromkeys(codes, 88)})
    await d.send("nilai", "penilai_b", {"skor": dict.fromkeys(codes, 80)})
    await d.send("tetapkan_hasil_evaluasi", "ketua")
    await d.send("tetapkan_penghargaan", "ditjen", {"nomor_keputusan": f"M.HH-{year}.HA.02", "tanggal": "2026-12-10"})
    final = await d.send("cabut", "ditjen", {"alasan": "Pengaduan masyarakat terbukti: ramp tidak lagi tersedia"})
    assert final["stage"] == "dicabut" and final["final"]
    events = await history_events(d)
    assert events[-9:] == [
        "kirim_laporan",
        "kembalikan",
        "kirim_perbaikan",
        "lolos_verifikasi",
        "nilai",
        "nilai",
        "tetapkan_hasil_evaluasi",
        "tetapkan_penghargaan",
        "cabut",
    ]
    handle = client.get_workflow_handle(case_workflow_id(year, d.unit))
    await handle.result()
    await replayer().replay_workflow(await fetch_and_keep(client, handle.id, "revision_and_revocation"))


async def test_lifecycle_gives_identifiers_and_display_names_per_language(api: httpx.AsyncClient):
    described = (await api.get("/lifecycle")).json()
    assert "pencanangan_terjadwal" in described["states"]
    assert [e["event"] for e in described["events"]][:2] == ["ajukan", "setujui_permohonan"]
    names = described["names"]
    assert names["id"]["states"]["pencanangan_terjadwal"] == "Pencanangan terjadwal"
    assert names["en"]["states"]["pencanangan_terjadwal"] == "Pencanangan scheduled"
    assert names["id"]["events"]["setujui_permohonan"] == "Setujui permohonan"
    assert names["id"]["roles"]["ketua_penilai"] == "Ketua tim penilai"
    assert names["en"]["roles"]["ketua_penilai"] == "Head of the assessment team"
    for locale in ("id", "en"):
        assert set(names[locale]["states"]) == set(described["states"])
        assert set(names[locale]["events"]) == {e["event"] for e in described["events"]}
        assert set(names[locale]["roles"]) == {r for e in described["events"] for r in e["roles"]}
