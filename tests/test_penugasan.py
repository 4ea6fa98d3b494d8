"""Penugasan and independent assessment through the API (issue 12, items 2 and 3).

Only the officials Ditjen HAM assigned (`tugaskan`) verify, score and fix the result; a judge from the unit or from a
unit above it in the registry is refused. Until the result is fixed a score sheet is seen only by its author, the
assigned head, Ditjen HAM and auditors; after it the unit sees the scores, not who gave them.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client

from service.demo import TEAM, report
from service.settings import Settings
from tests.stages import OPENS_AT_ONCE, REGION, calendar, case_at
from workflows.unit import case_workflow_id

Token = Callable[..., dict[str, str]]
SCORE = 77.0  # the first assessor's score for every criterion: what the others must not find


async def post(api: httpx.AsyncClient, path: str, headers: dict[str, str], payload: dict[str, Any]) -> httpx.Response:
    return await api.post(path, json=payload, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})


def codes(response: httpx.Response) -> list[str]:
    return [w["code"] for w in response.json()["why_codes"]]


async def test_only_the_assigned_judges_act(
    api: httpx.AsyncClient, settings: Settings, token: Token, year: int
) -> None:
    d = await case_at(api, settings, year, "PG-VERIF", "pelaporan", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    stranger = token("verifikator", "verif-9", unit="DITJEN-HAM")
    # Ditjen HAM registers the unit under a parent; a verifier of the parent is assigned but may not judge it.
    parent = {"code": "PG-INDUK", "name": "Kanwil Induk", "kind": "kanwil", "region": "KANWIL-DKI"}
    assert (await api.post("/units", json=parent, headers=d.officials["admin"])).status_code == 201
    unit = {"code": d.unit, "name": f"Kantor Imigrasi {d.unit}", "kind": "kantor_imigrasi", "region": "KANWIL-DKI"}
    assert (
        await api.post("/units", json={**unit, "parent": "PG-INDUK"}, headers=d.officials["admin"])
    ).status_code == 200
    team = {**TEAM, "verifikator": [*TEAM["verifikator"], "verif-induk"]}

    refused = await post(
        api, f"{d.case_path}/events/tugaskan", d.officials["ditjen"], {**team, "ketua_penilai": "penilai-a"}
    )
    assert refused.status_code == 409 and codes(refused) == ["penugasan.ketua_juga_penilai"], refused.text
    assert (await post(api, f"{d.case_path}/events/tugaskan", d.officials["operator"], team)).status_code == 403
    assigned = await post(api, f"{d.case_path}/events/tugaskan", d.officials["ditjen"], team)
    assert assigned.status_code == 200 and assigned.json()["stage"] == "pelaporan", assigned.text
    await report(d)
    for event, payload in [
        ("kembalikan", {"catatan": "Foto buram"}),
        ("lolos_verifikasi", {}),
        ("tidak_lolos_verifikasi", {"alasan": "x"}),
    ]:
        got = await post(api, f"{d.case_path}/events/{event}", stranger, payload)
        assert got.status_code == 403 and codes(got) == ["penugasan.bukan_verifikator"], got.text
        induk = await post(
            api, f"{d.case_path}/events/{event}", token("verifikator", "verif-induk", unit="PG-INDUK"), payload
        )
        assert induk.status_code == 403 and codes(induk) == ["penugasan.unit_induk"], induk.text
    assert (await api.get(d.case_path, headers=stranger)).status_code == 404  # not assigned: not even its stage
    history = (await api.get(f"{d.case_path}/history", headers=token("auditor"))).json()
    assert history["entries"][-1]["event"] == "kirim_laporan"
    assert [e["payload"] for e in history["entries"] if e["event"] == "tugaskan"] == [team]  # in the audit chain
    view = await d.send("lolos_verifikasi", "verifikator")
    assert view["stage"] == "evaluasi"
    stranger_penilai = token("penilai", "penilai-9", unit="DITJEN-HAM")
    got = await post(api, f"{d.case_path}/events/nilai", stranger_penilai, {"skor": {"sarana": 1}})
    assert got.status_code == 403 and codes(got) == ["penugasan.bukan_penilai"], got.text
    got = await post(
        api, f"{d.case_path}/events/tetapkan_hasil_evaluasi", token("ketua_penilai", "ketua-9", unit="DITJEN-HAM"), {}
    )
    assert got.status_code == 403 and codes(got) == ["penugasan.bukan_ketua_penilai"], got.text


async def test_score_sheets_stay_independent_until_the_result(
    api: httpx.AsyncClient, settings: Settings, token: Token, year: int
) -> None:
    d = await case_at(api, settings, year, "PG-NILAI", "verifikasi", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    await d.send("lolos_verifikasi", "verifikator")
    weights = (await d.call("GET", f"/cycles/{year}", "ketua"))["weights"]
    await d.send("nilai", "penilai_a", {"skor": dict.fromkeys(weights, SCORE)})

    def sheets(history: dict[str, Any]) -> list[dict[str, Any]]:
        return [e for e in history["entries"] if e["event"] == "nilai"]

    for who in ("penilai_b", "operator", "kepala"):  # the second assessor and the unit: no score of the first
        history = await d.call("GET", f"{d.case_path}/history", who)
        assert [e["payload"] for e in sheets(history)] == [{}], (who, history)
        assert str(SCORE) not in str(await d.call("GET", d.case_path, who))
    for who in ("penilai_a", "ketua", "ditjen"):  # the author, the assigned head, Ditjen HAM
        history = await d.call("GET", f"{d.case_path}/history", who)
        assert sheets(history)[0]["payload"] == {"skor": dict.fromkeys(weights, SCORE)}, who
    unit_policy = await d.call("GET", f"/cycles/{year}", "operator")
    assert "pass_mark" not in unit_policy and "weights" not in unit_policy

    await d.send("nilai", "penilai_b", {"skor": dict.fromkeys(weights, 88.0)})
    await d.send("tetapkan_hasil_evaluasi", "ketua")
    history = await d.call("GET", f"{d.case_path}/history", "operator")
    seen = sheets(history)
    assert sorted(e["payload"]["skor"][next(iter(weights))] for e in seen) == [SCORE, 88.0]  # the scores, per criterion
    assert all(e["actor"] == {"sub": "", "name": "", "role": "penilai"} for e in seen), seen  # not who gave them
    for who in ("operator", "kepala"):  # the unit: the scores and the result, not who gave them nor the formula
        document = await api.get(f"{d.case_path}/documents/hasil-evaluasi", headers=d.officials[who])
        assert document.status_code == 200 and "Penilai A" not in document.text and "penilai-a" not in document.text
        assert "82,50" in document.text  # the final score: the mean of 77 and 88
        assert "Batas kelulusan" not in document.text and "Bobot" not in document.text, document.text
    named = await api.get(f"{d.case_path}/documents/hasil-evaluasi", headers=d.officials["ditjen"])
    assert "Penilai A" in named.text and "Batas kelulusan" in named.text and "Bobot" in named.text


async def test_one_request_assigns_a_team_to_every_case_of_a_region_at_a_stage(
    api: httpx.AsyncClient, settings: Settings, token: Token, year: int
) -> None:
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    first = await case_at(api, settings, year, "PG-BULK-1", "pelaporan", cal)
    second = await case_at(api, settings, year, "PG-BULK-2", "pelaporan", cal)
    body = {"region": "KANWIL-DKI", "stage": "pelaporan", "tim": TEAM}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/cycles/{year}/penugasan"
    refused = await api.post(path, json=body, headers={**first.officials["kanwil"], **key})
    assert refused.status_code == 403, refused.text
    done = await api.post(path, json=body, headers={**first.officials["ditjen"], **key})
    assert done.status_code == 200, done.text
    report = done.json()
    assert (report["requested"], report["applied"], report["refused"], report["failed"]) == (2, 2, 0, 0), report
    assert {u["unit"]: u["outcome"] for u in report["units"]} == {first.unit: "applied", second.unit: "applied"}
    again = await api.post(path, json=body, headers={**first.officials["ditjen"], **key})  # a retry: nothing twice
    assert again.json()["applied"] == 2
    for d in (first, second):
        events = [e["event"] for e in (await d.call("GET", f"{d.case_path}/history", "ditjen"))["entries"]]
        assert events.count("tugaskan") == 1, events
        assert (
            await api.get(d.case_path, headers=token("verifikator", "verif-1", unit="DITJEN-HAM"))
        ).status_code == 200
    reused = await api.post(path, json={**body, "stage": "verifikasi"}, headers={**first.officials["ditjen"], **key})
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused", reused.text


async def test_the_bulk_report_says_why_each_unit_was_refused_or_failed_in_the_readers_words(
    api: httpx.AsyncClient, settings: Settings, client: Client, year: int
) -> None:
    """Each unit's line names its reasons in words, in the reader's language, and as codes equal in every language:
    a refusal by the case's lifecycle, and a failure (the case's workflow ended before the request reached it)."""
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    refusing = await case_at(api, settings, year, "PG-ALASAN-1", "pelaporan", cal)
    ended = await case_at(api, settings, year, "PG-ALASAN-2", "pelaporan", cal)
    await client.get_workflow_handle(case_workflow_id(year, ended.unit)).terminate(reason="the case ends meanwhile")
    head_also_assessor = {**TEAM, "ketua_penilai": TEAM["penilai"][0]}  # four eyes: the case refuses it
    body = {"region": REGION, "stage": "pelaporan", "tim": head_also_assessor}
    key = str(uuid.uuid4())
    lines = {}
    for language in ("id", "en"):  # the same request again (the same key): the same outcomes, in another language
        headers = {**refusing.officials["ditjen"], "Idempotency-Key": key, "Accept-Language": language}
        done = await api.post(f"/cycles/{year}/penugasan", json=body, headers=headers)
        assert done.status_code == 200, done.text
        assert (done.json()["applied"], done.json()["refused"], done.json()["failed"]) == (0, 1, 1), done.text
        lines[language] = {u["unit"]: u for u in done.json()["units"]}
    for language, words in (("id", "Ketua tim penilai (penilai-a)"), ("en", "head of the assessment team")):
        refused = lines[language][refusing.unit]
        assert refused["outcome"] == "refused" and words in refused["why"][0], refused
        assert refused["why_codes"] == [{"code": "penugasan.ketua_juga_penilai", "params": {"ketua": "penilai-a"}}]
    for language, words in (("id", "Kasus ini sudah berakhir"), ("en", "The case ended")):
        failed = lines[language][ended.unit]
        assert failed["outcome"] == "failed" and failed["why"][0].startswith(words), failed
        assert failed["why_codes"] == [{"code": "kasus_selesai_sebelum_diproses", "params": {}}]


async def test_the_worklist_shows_what_waits_for_me(
    api: httpx.AsyncClient, settings: Settings, token: Token, year: int
) -> None:
    """GET /me/tasks: the cases where a step waits for me, soonest deadline first, paged without skipping one; an
    option that is always there (extend the window, cancel) puts no case on it."""
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    verifying = await case_at(api, settings, year, "PG-TUGAS-1", "verifikasi", cal)
    reporting = await case_at(api, settings, year, "PG-TUGAS-2", "pelaporan", cal)
    also_reporting = await case_at(api, settings, year, "PG-TUGAS-3", "pelaporan", cal)

    async def tasks(headers: dict[str, str], **params: Any) -> dict[str, Any]:
        got = await api.get("/me/tasks", params={"year": year, **params}, headers=headers)
        assert got.status_code == 200, got.text
        return got.json()

    mine = await tasks(verifying.officials["verifikator"])
    assert [(t["unit"], sorted(t["events"])) for t in mine["items"]] == [
        (verifying.unit, ["kembalikan", "lolos_verifikasi", "tidak_lolos_verifikasi"])
    ]
    assert mine["items"][0]["waiting_days"] >= 0 and mine["next_offset"] is None
    assert (await tasks(token("verifikator", "verif-9", unit="DITJEN-HAM")))["items"] == []  # not assigned
    operator = await tasks(reporting.officials["operator"])
    assert [(t["unit"], t["events"]) for t in operator["items"]] == [(reporting.unit, ["kirim_laporan"])]
    # Ditjen HAM: the team to assign where there is none; the verifying case has its team (it may still be changed,
    # and the reporting window extended, but nothing waits for Ditjen HAM there).
    ditjen = await tasks(reporting.officials["ditjen"], region="KANWIL-DKI")
    units = [t["unit"] for t in ditjen["items"]]
    assert {reporting.unit, also_reporting.unit} <= set(units) and verifying.unit not in units, units
    assert {tuple(t["events"]) for t in ditjen["items"] if t["unit"] in (reporting.unit, also_reporting.unit)} == {
        ("tugaskan",)
    }
    view = (await api.get(verifying.case_path, headers=verifying.officials["ditjen"])).json()
    assert {"tugaskan", "perpanjang"} & set(view["allowed"]) and view["waiting"] == [], view
    deadlines = [t["deadline"] for t in ditjen["items"] if t["deadline"]]
    assert deadlines == sorted(deadlines)
    first = await tasks(reporting.officials["ditjen"], region="KANWIL-DKI", limit=1)
    second = await tasks(reporting.officials["ditjen"], region="KANWIL-DKI", limit=1, offset=first["next_offset"])
    assert [t["unit"] for t in first["items"] + second["items"]] == units[:2]
    bad = await api.get("/me/tasks", params={"year": 99999}, headers=reporting.officials["ditjen"])
    assert bad.status_code == 422
