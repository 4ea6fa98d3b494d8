"""Auditors replay any unit's history: the verified replay, `as_of`, the refusal log, and the offline audit pack."""

import asyncio
import io
import os
import sys
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHistory

from models.policy import compressed_calendar
from models.tables import CaseRow, TransitionRow
from service.audit import entry_of, replay_history, replayer, verify_case
from service.audit.case import start_of
from service.audit.findings import entry
from service.audit.rerun import rerun
from service.demo import Driver, declare, happy_path, open_case
from service.i18n import render
from service.settings import Settings
from tests.changed_workflow import CHANGED
from tests.replay import HISTORIES
from tests.stages import OPENS_AT_ONCE, REGION, calendar, case_at
from workflows import lifecycle
from workflows.unit import case_workflow_id

PROJECT = Path(__file__).resolve().parent.parent
P2HAM = Path(sys.executable).with_name("p2ham")
FINISHED_YEAR = 4601  # outside the `year` fixture's range (3000 and up, one per test)
FINISHED_UNIT = "KANIM-AUDIT"
RECORDED = sorted(HISTORIES.glob("*.json"))


def quiet(line: str) -> None:
    pass


@pytest.fixture(scope="module")
async def finished(api: httpx.AsyncClient, settings: Settings, client: Client) -> Driver:
    """One case through the whole happy path (about 15 s of calendar), shared by the tests that only read it. The read
    model shows the final stage a moment before the workflow completes (it still settles its reminders): wait for
    the workflow's own result, so the audit's replay finds it completed, however loaded the machine."""
    d = await happy_path(api, settings, FINISHED_YEAR, FINISHED_UNIT, timedelta(seconds=1), say=quiet, with_plan=False)
    await client.get_workflow_handle(case_workflow_id(FINISHED_YEAR, FINISHED_UNIT)).result()
    return d


async def resting_case(api: httpx.AsyncClient, settings: Settings, year: int, unit: str) -> Driver:
    """A case declared and signed, resting in `pembangunan`: reporting opens in half an hour, so no timer fires while
    it is audited and tampered with."""
    now = datetime.now(UTC)
    d = await open_case(api, settings, year, unit, compressed_calendar(now, timedelta(minutes=10)), say=quiet)
    await declare(d, now + timedelta(seconds=2), timeout=60)
    return d


def cli_env(settings: Settings, client: Client) -> dict[str, str]:
    """The `p2ham` command pointed at the test's Temporal server and database."""
    return {
        **os.environ,
        "P2HAM_DATABASE_URL": settings.database_url,
        "P2HAM_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "P2HAM_TEMPORAL_NAMESPACE": client.namespace,
        "P2HAM_EVIDENCE_DIR": str(settings.evidence_dir),
        "P2HAM_TASK_QUEUE": settings.task_queue,
    }


async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """A command in a child process, awaited without blocking the loop (the in-process worker answers its queries)."""
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=PROJECT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def audit(api: httpx.AsyncClient, token, year: int, unit: str, language: str = "id") -> dict:
    r = await api.get(f"/cycles/{year}/cases/{unit}/audit", headers={**token("auditor"), "Accept-Language": language})
    assert r.status_code == 200, r.text
    return r.json()


def at(seq: int, event: str) -> dict:
    """An audit-log entry as a difference names it (its reason's code and parameters)."""
    return {"code": "audit.entri", "params": {"seq": seq, "event": event}}


def rows_of(engine: Engine, year: int, unit: str) -> list[TransitionRow]:
    with Session(engine) as session:
        query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
        return list(session.exec(query.order_by(TransitionRow.seq)))


def overwrite(engine: Engine, row: TransitionRow, **changes) -> None:
    """What this service never does: change an audit row in place (here, to play the forger)."""
    with Session(engine) as session:
        stored = session.get(TransitionRow, (row.year, row.unit, row.seq))
        assert stored is not None
        for key, value in changes.items():
            setattr(stored, key, value)
        session.add(stored)
        session.commit()


# --- (a) an intact case verifies clean; an altered row is named ---------------------------------------------------


async def test_intact_finished_case_verifies_clean(
    api: httpx.AsyncClient, finished: Driver, token, settings: Settings, client: Client
):
    verdict = await audit(api, token, FINISHED_YEAR, FINISHED_UNIT)
    assert verdict["ok"] is True, verdict["differences"]
    assert verdict["differences"] == []
    assert verdict["replay"]["ok"] and verdict["replay"]["status"] == "completed"
    assert verdict["replay"]["lifecycle"] == {
        "ok": True,
        "entries": 13,
        "stage": "selesai",
        "lineage_from_registry": [],
    }
    assert verdict["chain"]["entries"] == 13 and verdict["chain"]["altered_entries"] == []
    assert verdict["chain"]["last_hash"] == verdict["chain"]["temporal_last_hash"]
    assert verdict["read_model"]["stage"] == "selesai" and verdict["read_model"]["temporal"]["from"] == "result"

    # Auditors only; an unknown case is a 404.
    for role in ("ditjen_ham", "admin", "operator_unit"):
        for path in ("audit", "audit/pack"):
            r = await api.get(
                f"/cycles/{FINISHED_YEAR}/cases/{FINISHED_UNIT}/{path}", headers=token(role, unit=FINISHED_UNIT)
            )
            assert r.status_code == 403, (role, path, r.text)
    r = await api.get(f"/cycles/{FINISHED_YEAR}/cases/KANIM-NOWHERE/audit", headers=token("auditor"))
    assert r.status_code == 404 and r.json()["error"] == "unknown_case"

    # The command line gives the same verdict.
    status, out = await run(str(P2HAM), "audit", str(FINISHED_YEAR), FINISHED_UNIT, env=cli_env(settings, client))
    assert status == 0, out
    assert f"Audit unit {FINISHED_UNIT}, siklus {FINISHED_YEAR}: OK" in out
    assert "rantai hash" in out and "entri, hash terakhir" in out
    english = {**cli_env(settings, client), "P2HAM_LANGUAGE": "en"}
    status, out = await run(str(P2HAM), "audit", str(FINISHED_YEAR), FINISHED_UNIT, env=english)
    assert status == 0 and f"Audit of unit {FINISHED_UNIT}, cycle {FINISHED_YEAR}: OK" in out, out


async def test_altered_audit_row_is_named(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, client: Client, year: int, token
):
    intact, victim = f"KANIM-AUD-A{year}", f"KANIM-AUD-B{year}"
    for unit in (intact, victim):  # one after the other: both PUT the same cycle
        await resting_case(api, settings, year, unit)
    for unit in (intact, victim):
        verdict = await audit(api, token, year, unit)
        assert verdict["ok"], verdict["differences"]
        assert verdict["replay"]["status"] == "running" and verdict["read_model"]["temporal"]["from"] == "query"
    rows = rows_of(engine, year, victim)
    assert [r.event for r in rows] == ["ajukan", "setujui_permohonan", "deklarasikan", "tandatangani_pernyataan"]

    # The ceremony's place is changed in the audit log after the fact.
    approval = rows[1]
    overwrite(engine, approval, payload={**approval.payload, "tempat": "Hotel Mewah"})
    verdict = await audit(api, token, year, victim)
    assert verdict["ok"] is False
    codes = verdict["difference_codes"]
    assert all(d["params"]["entri"] == at(2, "setujui_permohonan") for d in codes), "only the altered entry is blamed"
    assert "audit.entri_diubah" in [d["code"] for d in codes], verdict["differences"]
    assert {
        "code": "audit.isian_berbeda",
        "params": {
            "entri": at(2, "setujui_permohonan"),
            "kunci": "tempat",
            "log": '"Hotel Mewah"',
            "temporal": '"Aula Kanwil DKI Jakarta"',
        },
    } in codes
    assert (
        'Log audit, entri 2 (Setujui permohonan): log audit mencatat tempat = "Hotel Mewah"; riwayat Temporal '
        'mencatat tempat = "Aula Kanwil DKI Jakarta".'
    ) in verdict["differences"]
    assert all(d.startswith("Log audit, entri 2 (Setujui permohonan): ") for d in verdict["differences"])
    english = await audit(api, token, year, victim, "en")
    assert english["difference_codes"] == codes
    assert (
        'Audit log, entry 2 (Approve the application): the audit log has tempat = "Hotel Mewah"; Temporal\'s '
        'history records tempat = "Aula Kanwil DKI Jakarta".'
    ) in english["differences"]
    assert verdict["chain"]["altered_entries"] == [2]
    assert (await audit(api, token, year, intact))["ok"]

    # A whole cycle at once: one line per case, a summary, and a failing exit status.
    status, out = await run(str(P2HAM), "audit", "--all", str(year), env=cli_env(settings, client))
    assert status == 1, out
    lines = out.splitlines()
    assert any(line.startswith("OK") and intact in line for line in lines), out
    assert any(line.startswith("GAGAL") and victim in line and "entri 2 (Setujui permohonan)" in line for line in lines)
    assert f"Siklus {year}: 2 kasus diaudit: 1 OK, 1 gagal." in out

    overwrite(engine, approval, payload=approval.payload)
    assert (await audit(api, token, year, victim))["ok"], "restored, the case verifies again"

    # A stage moved on in the log (and the entry re-sealed): the lifecycle itself says the step cannot lead there.
    signed = rows_of(engine, year, intact)[-1]
    moved = entry_of(signed).model_copy(update={"target": "pelaporan"})
    overwrite(engine, signed, target="pelaporan", hash=lifecycle.chain_hash(moved.model_dump(mode="json")))
    moved_verdict = await audit(api, token, year, intact)
    differences = moved_verdict["differences"]
    assert {
        "code": "audit.langkah_berbeda",
        "params": {
            "entri": at(4, "tandatangani_pernyataan"),
            "dari": "dicanangkan",
            "ke": "pembangunan",
            "dari_log": "dicanangkan",
            "ke_log": "pelaporan",
        },
    } in moved_verdict["difference_codes"]
    assert (
        "Log audit, entri 4 (Tanda tangani surat pernyataan pencanangan): menurut siklus P2HAM langkah ini mengarah "
        "dari Dicanangkan ke Pembangunan, tetapi log audit mencatat dari Dicanangkan ke Pelaporan."
    ) in differences, differences
    overwrite(engine, signed, target=signed.target, hash=signed.hash)
    assert (await audit(api, token, year, intact))["ok"]

    # A careful forger renames the Kanwil who declared and re-seals the chain from there on: every hash and link
    # checks out, but Temporal's history still tells the truth.
    declaration, signature = rows[2], rows[3]
    original = entry_of(declaration)
    forged = original.model_copy(update={"actor": original.actor.model_copy(update={"name": "Orang Lain"})})
    forged_hash = lifecycle.chain_hash(forged.model_dump(mode="json"))
    resealed = entry_of(signature).model_copy(update={"prev_hash": forged_hash})
    resealed_hash = lifecycle.chain_hash(resealed.model_dump(mode="json"))
    overwrite(engine, declaration, actor_name="Orang Lain", hash=forged_hash)
    overwrite(engine, signature, prev_hash=forged_hash, hash=resealed_hash)
    with Session(engine) as session:  # the read model follows the forged chain too
        case_row = session.get(CaseRow, (year, victim))
        assert case_row is not None
        case_row.data = {**case_row.data, "last_hash": resealed_hash}
        session.add(case_row)
        session.commit()
    verdict = await audit(api, token, year, victim)
    assert verdict["ok"] is False
    assert verdict["chain"]["altered_entries"] == [], "the forged chain is self-consistent"
    assert any(
        d.startswith("Log audit, entri 3 (Deklarasikan pencanangan): log audit menyebut pelakunya")
        and "“Orang Lain” (Kanwil); riwayat Temporal menyebut" in d
        for d in verdict["differences"]
    ), verdict["differences"]
    rewritten = [d["params"]["entri"] for d in verdict["difference_codes"] if d["code"] == "audit.log_ditulis_ulang"]
    assert rewritten == [at(3, "deklarasikan"), at(4, "tandatangani_pernyataan")]
    assert sum("Log audit ditulis ulang sampai entri ini." in d for d in verdict["differences"]) == 2


async def test_the_rerun_judges_penugasan_against_the_registry_as_the_live_step(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, token
):
    """A judge from the case's unit or a unit above it may not act on it; the live path asks the registry for the
    unit's parents, and the audit's re-run judges the step with the parents it recorded then. A valid tugaskan and
    verification audit clean. A verification forged onto a verifier of the grandparent unit, the chain re-sealed so
    that every hash checks out, is a step the lifecycle refuses for that reason (the case's own record names only its
    direct parent, if any)."""
    d = await case_at(
        api, settings, year, f"KANIM-AUD-P{year}", "verifikasi", calendar(datetime.now(UTC), OPENS_AT_ONCE)
    )
    grandparent, parent = f"AUD-KAKEK-{year}", f"AUD-INDUK-{year}"
    unit = {"name": "Unit", "kind": "kanwil", "region": REGION}
    for code, above in ((grandparent, None), (parent, grandparent), (d.unit, parent)):
        registered = await api.post(
            "/units", json={**unit, "code": code, "parent": above}, headers=d.officials["admin"]
        )
        assert registered.status_code in (200, 201), registered.text
    await d.send("lolos_verifikasi", "verifikator")
    verdict = await audit(api, token, year, d.unit)
    assert verdict["ok"], verdict["differences"]
    assert "tugaskan" in [r.event for r in rows_of(engine, year, d.unit)]

    verified = rows_of(engine, year, d.unit)[-1]
    assert verified.event == "lolos_verifikasi"
    original = entry_of(verified)
    forged = original.model_copy(update={"actor": original.actor.model_copy(update={"unit": grandparent})})
    forged_hash = lifecycle.chain_hash(forged.model_dump(mode="json"))
    overwrite(engine, verified, actor_unit=grandparent, hash=forged_hash)
    with Session(engine) as session:  # the read model follows the forged chain
        case_row = session.get(CaseRow, (year, d.unit))
        assert case_row is not None
        case_row.data = {**case_row.data, "last_hash": forged_hash}
        session.add(case_row)
        session.commit()
    verdict = await audit(api, token, year, d.unit)
    assert verdict["ok"] is False and verdict["chain"]["altered_entries"] == []
    refused = [d for d in verdict["difference_codes"] if d["code"] == "audit.langkah_ditolak"]
    assert [r["params"]["entri"] for r in refused] == [at(verified.seq, "lolos_verifikasi")], verdict["differences"]
    assert [w["code"] for w in refused[0]["params"]["alasan"]] == ["penugasan.unit_induk"], refused


async def test_a_unit_moved_in_the_registry_later_leaves_an_earlier_judgement_valid(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, token
):
    """The verifier acted when the case's unit stood under another parent; the registry moves the unit under the
    verifier's own unit afterwards. The re-run judges the step with the parents it recorded, so the audit finds
    nothing wrong. Judged against today's registry, as an entry from before the lineage was recorded is, the same step
    is refused, and the difference says the registry may have changed since."""
    d = await case_at(
        api, settings, year, f"KANIM-AUD-L{year}", "verifikasi", calendar(datetime.now(UTC), OPENS_AT_ONCE)
    )
    judge_unit, old_parent = f"AUD-HAKIM-{year}", f"AUD-LAMA-{year}"

    async def register(code: str, parent: str | None) -> None:
        unit = {"code": code, "name": "Unit", "kind": "kanwil", "region": REGION, "parent": parent}
        registered = await api.post("/units", json=unit, headers=d.officials["admin"])
        assert registered.status_code in (200, 201), registered.text

    for code, parent in ((judge_unit, None), (old_parent, None), (d.unit, old_parent)):
        await register(code, parent)
    d.officials.headers["verifikator"] = token("verifikator", "verif-1", unit=judge_unit)  # the assigned verifier
    await d.send("lolos_verifikasi", "verifikator")
    rows = rows_of(engine, year, d.unit)
    verified = rows[-1]
    assert verified.event == "lolos_verifikasi" and verified.lineage == [old_parent], "judged under the old parent"

    await register(d.unit, judge_unit)  # now the verifier's own unit is above the case's: no longer theirs to judge
    refused = await api.post(
        f"{d.case_path}/events/lolos_verifikasi",
        json={},
        headers={**token("verifikator", "verif-1", unit=judge_unit), "Idempotency-Key": f"moved-{year}"},
    )
    assert refused.status_code == 403, refused.text
    verdict = await audit(api, token, year, d.unit)
    assert verdict["ok"], verdict["differences"]
    assert verdict["replay"]["lifecycle"]["lineage_from_registry"] == []

    # The same log as entries from before the lineage was recorded: judged against today's registry.
    unrecorded = [TransitionRow.model_validate({**r.model_dump(), "lineage": None}) for r in rows]
    with Session(engine) as session:
        case_row = session.get(CaseRow, (year, d.unit))
        start = start_of(None, case_row, year)
        assert start is not None
        found = rerun(session, start, unrecorded, [entry_of(r) for r in unrecorded], set())
    refusals = [r for r in found.differences if r.code.startswith("audit.langkah_ditolak")]
    assert [(r.code, r.params["entri"]) for r in refusals] == [
        ("audit.langkah_ditolak_registri_kini", entry(verified.seq, "lolos_verifikasi"))
    ], found.differences
    assert [w.code for w in refusals[0].params["alasan"]] == ["penugasan.unit_induk"]
    assert found.info["lineage_from_registry"] == [verified.seq]
    assert "diperiksa dengan registri unit hari ini" in render(refusals[0], "id")


# --- (b) changed workflow code no longer replays the committed histories ------------------------------------------


@pytest.mark.parametrize("change", list(CHANGED), ids=list(CHANGED))
async def test_incompatible_workflow_change_fails_replay(change: str, finished: Driver, client: Client, engine: Engine):
    assert RECORDED, "tests/histories/ holds no recorded history"
    changed = replayer((CHANGED[change],))
    for path in RECORDED:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        assert (await replay_history(history)).ok, f"{path.name} must replay through today's code"
        found = await replay_history(history, changed)
        assert not found.ok, f"{path.name} replayed through a workflow with a {change}"
        [difference] = found.differences
        assert difference.code == "audit.replay_gagal" and difference.params["workflow_id"] == path.stem
        assert "nondeterminism" in difference.params["galat"].lower(), difference
        assert render(difference, "id").startswith(f"Riwayat Temporal {path.stem} tidak dapat diputar ulang")

    # The auditor's verdict on a live case says the same.
    with Session(engine) as session:
        verdict = await verify_case(client, session, FINISHED_YEAR, FINISHED_UNIT, changed)
    assert not verdict.ok and not verdict.replay["ok"]
    assert any(
        d.code == "audit.replay_gagal"
        and d.params["workflow_id"] == case_workflow_id(FINISHED_YEAR, FINISHED_UNIT)
        and "Nondeterminism" in d.params["galat"]
        for d in verdict.difference_codes
    ), verdict.difference_codes


# --- (c) the history as it was at any moment ----------------------------------------------------------------------


async def test_history_as_of_before_during_and_after(api: httpx.AsyncClient, finished: Driver, token):
    path = f"/cycles/{FINISHED_YEAR}/cases/{FINISHED_UNIT}/history"
    auditor = token("auditor")
    entries = (await api.get(path, headers=auditor)).json()["entries"]
    assert len(entries) == 13
    moments = [datetime.fromisoformat(e["at"]) for e in entries]

    async def as_of(moment: str) -> httpx.Response:
        return await api.get(path, params={"as_of": moment}, headers=auditor)

    # A moment is cut at the end of its second (a fraction given is dropped), as the auditor's page cuts it.
    seconds = [m.replace(microsecond=0) for m in moments]

    def made_by(moment: datetime) -> list[int]:
        return [e["seq"] for e, second in zip(entries, seconds, strict=True) if second <= moment.replace(microsecond=0)]

    # Before the case existed: a 404 that says so (the second before the first entry's, and for the day before, a date).
    r = await as_of((seconds[0] - timedelta(microseconds=1)).isoformat())
    assert r.status_code == 404 and r.json()["error"] == "not_yet", r.text
    r = await as_of((moments[0] - timedelta(days=1)).date().isoformat())
    assert r.status_code == 404 and r.json()["error"] == "not_yet", r.text

    # In the middle: the stage then, and only the entries made by the end of that second (at an entry's moment, and
    # between it and the next).
    for k in (1, 4, 6, 10):
        for moment in (moments[k - 1], moments[k - 1] + (moments[k] - moments[k - 1]) / 2):
            r = await as_of(moment.isoformat())
            assert r.status_code == 200, r.text
            history = r.json()
            made = made_by(moment)
            assert made[:k] == list(range(1, k + 1)) and [e["seq"] for e in history["entries"]] == made, (k, moment)
            assert history["stage"] == entries[made[-1] - 1]["to"]

    # After it ended: the final stage and every entry; in another zone (WIB) the same moment gives the same answer.
    later = (await as_of((moments[-1] + timedelta(days=30)).isoformat())).json()
    assert later["stage"] == "selesai" and len(later["entries"]) == 13
    wib = moments[6].astimezone(timezone(timedelta(hours=7))).isoformat()
    assert [e["seq"] for e in (await as_of(wib)).json()["entries"]] == made_by(moments[6])


async def test_history_lists_refused_commands_for_auditors(api: httpx.AsyncClient, finished: Driver, token):
    path = f"/cycles/{FINISHED_YEAR}/cases/{FINISHED_UNIT}/history"
    before = datetime.now(UTC)
    ditjen = token("ditjen_ham", "ditjen-refused")
    r = await api.post(
        f"/cycles/{FINISHED_YEAR}/cases/{FINISHED_UNIT}/events/cabut",
        json={"alasan": "uji audit"},
        headers={**ditjen, "Idempotency-Key": f"audit-refusal-{before.timestamp()}"},
    )
    assert r.status_code == 409, r.text

    listed = (await api.get(path, params={"include_refused": "true"}, headers=token("auditor"))).json()
    mine = [x for x in listed["refused"] if x["actor"]["sub"] == "ditjen-refused"]
    assert len(mine) == 1 and mine[0]["event"] == "cabut" and mine[0]["status"] == 409 and mine[0]["why"]
    assert mine[0]["payload"] == {"alasan": "uji audit"}
    assert len(listed["entries"]) == 13, "refusals are listed beside the entries, never as entries"

    earlier = await api.get(  # the second before: the refusal may have come later in the same second as `before`
        path,
        params={"include_refused": "true", "as_of": (before - timedelta(seconds=1)).isoformat()},
        headers=token("auditor"),
    )
    assert not [x for x in earlier.json()["refused"] if x["actor"]["sub"] == "ditjen-refused"]
    assert (await api.get(path, headers=token("auditor"))).json()["refused"] is None
    r = await api.get(path, params={"include_refused": "true"}, headers=ditjen)
    assert r.status_code == 403, r.text


# --- (d) the audit pack, checked offline with the standard library alone ------------------------------------------


def rezip(pack: bytes, name: str, change) -> bytes:
    """The same pack with one file's bytes changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(pack)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, change(data) if info.filename == name else data)
    return out.getvalue()


def flip_one_byte(data: bytes, marker: bytes, offset: int, new: bytes) -> bytes:
    at = data.index(marker) + offset
    assert len(new) == 1 and data[at : at + 1] != new
    return data[:at] + new + data[at + 1 :]


async def test_audit_pack_verifies_offline(
    api: httpx.AsyncClient, finished: Driver, token, settings: Settings, client: Client, tmp_path: Path
):
    r = await api.get(f"/cycles/{FINISHED_YEAR}/cases/{FINISHED_UNIT}/audit/pack", headers=token("auditor"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip" and r.headers["x-p2ham-audit-ok"] == "true"
    assert f"p2ham-audit-{FINISHED_YEAR}-{FINISHED_UNIT}.zip" in r.headers["content-disposition"]
    pack = r.content
    with zipfile.ZipFile(io.BytesIO(pack)) as z:
        names = set(z.namelist())
        manifest = z.read("evidence-manifest.csv").decode().splitlines()
    required = {"entries.json", "entries.csv", "evidence-manifest.csv", "verdict.json", "README.txt", "verify.py"}
    assert required | {"SHA256SUMS", "refusals.csv"} <= names
    evidence = {n.removeprefix("evidence/") for n in names if n.startswith("evidence/")}
    assert len(evidence) >= 1 + 3 * 5, "the signed statement and every report photo are included"
    assert any("application/pdf" in line and "4 tandatangani_pernyataan" in line for line in manifest), manifest
    assert sum("image/png" in line and "7 kirim_laporan" in line for line in manifest) == 15, manifest

    path = tmp_path / "pack.zip"
    path.write_bytes(pack)
    status, out = await run(sys.executable, "-m", "service.audit_verify", str(path))
    assert status == 0, out
    last_hash = (await audit(api, token, FINISHED_YEAR, FINISHED_UNIT))["chain"]["last_hash"]
    assert f"Last hash: {last_hash}" in out

    # The copy inside the pack, unzipped, run by an interpreter without site-packages: the standard library only.
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(path) as z:
        z.extractall(unzipped)
    status, out = await run(sys.executable, "-S", "-I", str(unzipped / "verify.py"), str(unzipped))
    assert status == 0, out

    # One byte of entries.json altered (a penilai's name): the pack no longer verifies, and says where.
    altered = tmp_path / "altered.zip"
    altered.write_bytes(rezip(pack, "entries.json", lambda b: flip_one_byte(b, b'"Penilai A"', 9, b"X")))
    status, out = await run(sys.executable, "-m", "service.audit_verify", str(altered))
    assert status == 1, out
    assert "entries.json has changed since the pack was made" in out
    assert "entry 9 (nilai): its hash does not match its contents" in out

    # One byte of layout only (the same entries): SHA256SUMS still catches it.
    spaced = tmp_path / "spaced.zip"
    spaced.write_bytes(rezip(pack, "entries.json", lambda b: flip_one_byte(b, b'\n  "entries"', 1, b"\t")))
    status, out = await run(sys.executable, "-m", "service.audit_verify", str(spaced))
    assert status == 1 and "entries.json has changed" in out and "hash does not match" not in out, out

    # An evidence file swapped for other bytes.
    photo = sorted(evidence)[0]
    swapped = tmp_path / "swapped.zip"
    swapped.write_bytes(rezip(pack, f"evidence/{photo}", lambda b: b[:-1] + bytes([b[-1] ^ 1])))
    status, out = await run(sys.executable, "-m", "service.audit_verify", str(swapped))
    assert status == 1 and f"evidence/{photo}: the file's sha256 is not its name" in out, out

    # The command line writes the same pack.
    status, out = await run(
        str(P2HAM),
        "audit-pack",
        str(FINISHED_YEAR),
        FINISHED_UNIT,
        "--out",
        str(tmp_path / "cli"),
        env=cli_env(settings, client),
    )
    assert status == 0, out
    written = tmp_path / "cli" / f"p2ham-audit-{FINISHED_YEAR}-{FINISHED_UNIT}.zip"
    status, out = await run(sys.executable, "-m", "service.audit_verify", str(written))
    assert status == 0, out
