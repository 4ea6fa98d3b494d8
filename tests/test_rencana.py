"""Issue 17: the action plan of `pembangunan` through the API, against a real Temporal dev server: sent, returned,
revised and accepted in the audit chain; its draft read by the right people only; its target dates followed up; the
report starting from it; and the oversight numbers over it."""

import asyncio
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from models.policy import Calendar
from models.tables import NotificationRow
from service.demo import TEAM, Driver, declare, open_case, plan, sample_photo
from service.settings import Settings
from tests.replay import fetch_and_keep, replayer
from tests.stages import OPENS_LATE, WAIT, calendar, case_at
from tests.test_read_rules import signed_in
from workflows.unit import case_workflow_id

S = timedelta(seconds=1)
HERITAGE = "Gedung cagar budaya: tidak boleh dibangun toilet baru"
BLOCK_B = "Layanan bagi penyandang disabilitas dipindahkan ke blok B di luar gedung cagar budaya"


def seconds_calendar(now: datetime, reporting_opens_in: float, reminder: float = 4) -> Calendar:
    """A cycle in seconds whose `pembangunan` lasts until `reporting_opens_in`; one reminder offset (H-`reminder`)."""
    return Calendar(
        applications_close=now + 60 * S,
        reporting_opens=now + reporting_opens_in * S,
        reporting_closes=now + 200 * S,
        cycle_ends=now + 220 * S,
        award_valid_until=now + 240 * S,
        reminders_before=[reminder * S],
    )


async def building(api: httpx.AsyncClient, settings: Settings, year: int, unit: str, cal: Calendar, **kw) -> Driver:
    """A case declared and signed: in `pembangunan`."""
    d = await open_case(api, settings, year, unit, cal, say=lambda _: None, **kw)
    await declare(d, datetime.now(UTC) + S, WAIT)
    return d


def the_action(actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The one indicator the demo's plan has as "Tidak" (the disability toilet)."""
    return next(a for a in actions if a["keadaan"] == "Tidak")


async def test_a_plan_returned_revised_and_accepted_is_four_chained_entries_read_only_by_its_readers(
    api: httpx.AsyncClient, settings: Settings, year: int, token
):
    d = await case_at(api, settings, year, "RUTAN-RANGKAS", "pembangunan", calendar(datetime.now(UTC), OPENS_LATE))
    actions = await plan(d, datetime.now(UTC) + 100 * S)
    assert (the_action(actions)["kendala"], the_action(actions)["alternatif"]) == (HERITAGE, BLOCK_B)
    code = the_action(actions)["kode"]
    draft_path = f"{d.case_path}/draft/rencana"

    # The draft: saved, checked like the submission, and read by the unit, its Kanwil, Ditjen HAM and auditors only.
    incomplete = [*actions[:2], {"kode": code, "keadaan": "Tidak", "kendala": HERITAGE}, *actions[3:]]
    draft = await d.call("PUT", draft_path, "operator", {"indikator": incomplete})
    assert not draft["ready"] and {c["code"] for c in draft["check_codes"]} == {
        "rencana.tindakan_kosong",
        "rencana.penanggung_jawab_kosong",
        "rencana.target_kosong",
    }
    draft = await d.call("PUT", draft_path, "operator", {"indikator": actions})
    assert draft["ready"] and draft["checks"] == []
    neighbour = token("operator_unit", "op-tetangga", unit="KANIM-TETANGGA")
    far_kanwil = token("kanwil", "kanwil-jatim", region="KANWIL-JATIM")
    for headers, status in [
        (d.officials["kanwil"], 200),
        (d.officials["kepala"], 200),
        (token("ditjen_ham"), 200),
        (token("auditor"), 200),
        (neighbour, 404),
        (far_kanwil, 404),
        (token("verifikator", unit="DITJEN-HAM"), 403),
    ]:
        got = await api.get(draft_path, headers=headers)
        assert got.status_code == status, (headers, got.text)
        assert status != 200 or got.json()["rencana"] == draft["rencana"]
    assert (await api.put(draft_path, json={"indikator": actions}, headers=neighbour)).status_code in (403, 404)
    assert (await api.put(draft_path, json={"indikator": actions}, headers=d.officials["kanwil"])).status_code == 403

    async def waiting_for(headers: dict[str, str]) -> list[str]:
        """What GET /me/tasks says this official may send now on this case."""
        got = await api.get("/me/tasks", params={"year": year}, headers=headers)
        assert got.status_code == 200, got.text
        return next((t["events"] for t in got.json()["items"] if t["unit"] == d.unit), [])

    # Sent (the plan is on its Kanwil's worklist, no other Kanwil's), returned with a note, revised, accepted.
    assert "tanggapi_rencana" not in await waiting_for(d.officials["kanwil"])
    await d.send("kirim_rencana", "operator", draft["rencana"])
    assert "tanggapi_rencana" in await waiting_for(d.officials["kanwil"])
    assert await waiting_for(far_kanwil) == []
    note = {code: "Pastikan blok B memiliki akses kursi roda sebelum dipakai"}
    returned = {"keputusan": "perbaiki", "catatan": "Lengkapi jalur akses", "indikator": note}
    await d.send("tanggapi_rencana", "kanwil", returned)
    assert "tanggapi_rencana" not in await waiting_for(d.officials["kanwil"])  # answered: off the worklist
    assert "kirim_rencana" in await waiting_for(d.officials["operator"])  # returned: the unit's to revise
    sent = await d.call("GET", f"{d.case_path}/rencana", "operator")
    assert sent["status"] == "perbaiki" and sent["catatan_kanwil"] == "Lengkapi jalur akses"
    assert next(a for a in sent["indikator"] if a["kode"] == code)["catatan_kanwil"] == note[code]
    refused = await api.post(
        f"{d.case_path}/events/tanggapi_rencana",
        json={"keputusan": "diterima"},
        headers={**d.officials["kanwil"], "Idempotency-Key": f"{year}-twice"},
    )
    assert refused.status_code == 409 and "sudah ditanggapi" in " ".join(refused.json()["why"])
    revised = [a | {"tindakan": "Bangun ramp kursi roda menuju blok B"} if a["kode"] == code else a for a in actions]
    await d.send("kirim_rencana", "operator", {"indikator": revised})
    assert "tanggapi_rencana" in await waiting_for(d.officials["kanwil"])  # sent again: back on it
    assert "kirim_rencana" not in await waiting_for(d.officials["operator"])  # sent: nothing waits for the unit
    await d.send("tanggapi_rencana", "kanwil", {"keputusan": "diterima"})
    assert "kirim_rencana" not in await waiting_for(d.officials["operator"])  # accepted (it may still send a change)

    entries = (await api.get(f"{d.case_path}/history", headers=token("auditor"))).json()["entries"]
    plan_entries = [e for e in entries if e["event"] in ("kirim_rencana", "tanggapi_rencana")]
    assert [(e["event"], e["actor"]["role"], e["actor"]["sub"]) for e in plan_entries] == [
        ("kirim_rencana", "operator_unit", f"op-{d.unit}"),
        ("tanggapi_rencana", "kanwil", "kakanwil-KANWIL-DKI"),
        ("kirim_rencana", "operator_unit", f"op-{d.unit}"),
        ("tanggapi_rencana", "kanwil", "kakanwil-KANWIL-DKI"),
    ]
    assert all(len(e["hash"]) == 64 and (e["from"], e["to"]) == ("pembangunan", "pembangunan") for e in plan_entries)
    assert len({e["hash"] for e in entries}) == len(entries)
    assert plan_entries[1]["payload"]["indikator"] == note

    accepted = await d.call("GET", f"{d.case_path}/rencana", "kanwil")
    assert accepted["status"] == "diterima" and accepted["belum_selesai"] == [code]
    assert next(a for a in accepted["indikator"] if a["kode"] == code)["alternatif"] == BLOCK_B
    assert (await api.get(f"{d.case_path}/rencana", headers=neighbour)).status_code == 404
    assert (await api.get(f"{d.case_path}/history", headers=neighbour)).status_code == 404

    # The audit re-runs the steps and the chain, plan included, and finds nothing wrong.
    verdict = (await api.get(f"{d.case_path}/audit", headers=token("auditor"))).json()
    assert verdict["chain"]["ok"] and verdict["replay"]["lifecycle"]["ok"], verdict


def notices(engine: Engine, year: int, unit: str, kind: str) -> list[NotificationRow]:
    with Session(engine) as s:
        query = select(NotificationRow).where(
            NotificationRow.year == year, NotificationRow.unit == unit, NotificationRow.kind == kind
        )
        return list(s.exec(query))


def indicator(row: NotificationRow) -> str:
    """The indicator a plan's notice is about: the last part of its key."""
    return row.notice_key.rsplit("/", 1)[1]


async def until(found: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        await asyncio.sleep(0.2)
    return result


async def test_a_target_date_10_s_out_is_reminded_once_and_its_miss_escalated_to_the_kanwil_once(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, year: int, token
):
    d = await building(api, settings, year, "RUTAN-TARGET", seconds_calendar(datetime.now(UTC), 90))
    target = datetime.now(UTC) + 10 * S
    await d.send("kirim_rencana", "operator", {"indikator": await plan(d, target)})

    escalated = await until(lambda: notices(engine, year, d.unit, "eskalasi_rencana"), "the escalation", 2 * WAIT)
    reminded = notices(engine, year, d.unit, "tindakan_rencana")
    assert [(r.role, r.due_at.replace(tzinfo=UTC)) for r in reminded] == [("operator_unit", target - 4 * S)]
    assert [(r.role, r.target_region, r.due_at.replace(tzinfo=UTC)) for r in escalated] == [
        ("kanwil", "KANWIL-DKI", target)
    ]
    assert "sarana.3" in escalated[0].subject and BLOCK_B in escalated[0].body
    # The case wakes again (the Kanwil answers); nothing is sent twice.
    await d.send("tanggapi_rencana", "kanwil", {"keputusan": "diterima"})
    mine = {"year": year}  # other tests' cases of the same region share the database
    kanwil_feed = (await api.get("/notifications", params=mine, headers=d.officials["kanwil"])).json()
    assert [n["kind"] for n in kanwil_feed if n["kind"].endswith("rencana")] == ["eskalasi_rencana"]
    operator_feed = (await api.get("/notifications", params=mine, headers=d.officials["operator"])).json()
    assert [n["kind"] for n in operator_feed if n["kind"].endswith("rencana")] == ["tindakan_rencana"]
    # The action in the unit's words reaches its operator and its Kanwil, nobody else.
    for role, claims in [("kanwil", {"region": "KANWIL-JATIM"}), ("operator_unit", {"unit": "KANIM-TETANGGA"})]:
        feed = (await api.get("/notifications", params=mine, headers=token(role, f"{role}-lain", **claims))).json()
        assert not [n for n in feed if n["kind"].endswith("rencana")], feed
    assert len(notices(engine, year, d.unit, "tindakan_rencana")) == 1
    assert len(notices(engine, year, d.unit, "eskalasi_rencana")) == 1


async def test_a_plan_sent_after_its_first_reminder_moment_is_reminded_only_at_the_last(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, year: int
):
    cal = seconds_calendar(datetime.now(UTC), 45).model_copy(update={"reminders_before": [20 * S, 4 * S]})
    d = await building(api, settings, year, "RUTAN-SEPEKAN", cal)
    # Some time into pembangunan (its first reminder out), an action due in 10 s: its "H-20" moment, inside the stage,
    # passed before the plan was sent.
    await until(
        lambda: notices(engine, year, d.unit, "persiapan_pelaporan"), "the first reminder of the stage", 2 * WAIT
    )
    target = datetime.now(UTC) + 10 * S
    await d.send("kirim_rencana", "operator", {"indikator": await plan(d, target)})

    await until(lambda: notices(engine, year, d.unit, "eskalasi_rencana"), "the escalation", 2 * WAIT)
    reminded = notices(engine, year, d.unit, "tindakan_rencana")
    assert [r.due_at.replace(tzinfo=UTC) for r in reminded] == [target - 4 * S]
    mine = {"year": year}
    operator_feed = (await api.get("/notifications", params=mine, headers=d.officials["operator"])).json()
    assert [n["kind"] for n in operator_feed if n["kind"].endswith("rencana")] == ["tindakan_rencana"]


async def test_a_transition_years_plan_is_followed_up_until_the_cycle_ends_and_not_escalated_as_it_closes(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, client: Client, year: int
):
    now = datetime.now(UTC)
    cal = Calendar(  # the "reporting window" of a transition year opens nothing
        applications_close=now + 30 * S,
        reporting_opens=now + 5 * S,
        reporting_closes=now + 40 * S,
        cycle_ends=now + 45 * S,
        award_valid_until=now + 60 * S,
        reminders_before=[4 * S],
    )
    d = await building(api, settings, year, "LAPAS-PERALIHAN", cal, ends_after="pembangunan")
    during = datetime.now(UTC) + 12 * S  # after the date a regular year's reporting window would have opened
    actions = await plan(d, during)
    actions[3] |= {k: v for k, v in actions[2].items() if k != "kode"} | {"target": cal.cycle_ends.isoformat()}
    await d.send("kirim_rencana", "operator", {"indikator": actions})

    handle = client.get_workflow_handle(case_workflow_id(year, d.unit))
    await handle.result()  # closed, its notices delivered
    assert (await d.call("GET", d.case_path, "operator"))["stage"] == "transisi_selesai"
    reminded = notices(engine, year, d.unit, "tindakan_rencana")
    assert sorted((indicator(r), r.due_at.replace(tzinfo=UTC)) for r in reminded) == sorted(
        [(actions[2]["kode"], during - 4 * S), (actions[3]["kode"], cal.cycle_ends - 4 * S)]
    )
    escalated = notices(engine, year, d.unit, "eskalasi_rencana")
    assert [(indicator(r), r.due_at.replace(tzinfo=UTC)) for r in escalated] == [(actions[2]["kode"], during)]
    await replayer().replay_workflow(await fetch_and_keep(client, handle.id, "transition_year_plan"))


async def test_the_report_draft_starts_from_the_plans_met_indicators_and_their_evidence(
    api: httpx.AsyncClient, settings: Settings, year: int, token
):
    d = await building(api, settings, year, "RUTAN-LAPOR", seconds_calendar(datetime.now(UTC), 15))
    photo = await d.upload("operator", "maklumat.png", sample_photo(f"{year}-maklumat"))
    actions = await plan(d, datetime.now(UTC) + 100 * S)
    actions[0]["bukti"] = [photo]
    await d.send("kirim_rencana", "operator", {"indikator": actions})
    await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", WAIT)

    draft = await d.call("GET", f"{d.case_path}/draft", "operator")
    met = [a for a in actions if a["keadaan"] != "Tidak"]
    assert draft["from_plan"] and draft["saved_at"] is None
    assert draft["laporan"]["indikator"] == [
        {"kode": a["kode"], "nilai": a["keadaan"], "bukti": a.get("bukti", [])} for a in met
    ]
    assert the_action(actions)["kode"] not in {a["kode"] for a in draft["laporan"]["indikator"]}
    # What the plan said was not done, for the verifier next to the report: once assigned, in the API and on the case
    # page; a verifier the team does not name sees neither.
    await d.send("tugaskan", "ditjen", TEAM)
    assigned, other = {"sub": TEAM["verifikator"][0], "unit": "DITJEN-HAM"}, {"sub": "verif-9", "unit": "DITJEN-HAM"}
    for claims, status in [(assigned, 200), (other, 404)]:
        got = await api.get(f"{d.case_path}/rencana", headers=token("verifikator", **claims))
        assert got.status_code == status, got.text
        assert status != 200 or got.json()["belum_selesai"] == [the_action(actions)["kode"]]
        async with signed_in(api, "verifikator", claims) as browser:
            case_page = await browser.get(f"/ui/kasus/{year}/{d.unit}")
        assert case_page.status_code == status
        assert (BLOCK_B in case_page.text) == (status == 200)
        assert ('data-testid="rencana-belum-selesai"' in case_page.text) == (status == 200)

    # Once the unit saves its own draft, that is the draft.
    own = {"indikator": [{"kode": actions[0]["kode"], "nilai": "Proses", "bukti": []}]}
    await d.call("PUT", f"{d.case_path}/draft", "operator", own)
    again = await d.call("GET", f"{d.case_path}/draft", "operator")
    assert not again["from_plan"] and [a["nilai"] for a in again["laporan"]["indikator"]] == ["Proses"]


async def test_oversight_numbers_over_three_units_in_two_regions_equal_a_count_by_hand(
    api: httpx.AsyncClient, settings: Settings, year: int, token
):
    now = datetime.now(UTC)
    a = await building(api, settings, year, "KANIM-DKI-A", seconds_calendar(now, 150))
    b = await building(api, settings, year, "KANIM-DKI-B", seconds_calendar(now, 150))
    c = await building(api, settings, year, "KANIM-JATIM-C", seconds_calendar(now, 150), region="KANWIL-JATIM")

    # A: two facilities "Tidak", one "Proses", one service "Kurang patuh" (the bottom of its scale), accepted.
    # B: no plan. C: one facility "Tidak", its target date soon missed.
    a_plan = await plan(a, now + 100 * S)
    action = {"tindakan": "Pasang guiding block", "penanggung_jawab": "Kasubag Umum", "target": a_plan[2]["target"]}
    kepatuhan = next(n for n, x in enumerate(a_plan) if x["kode"] == "kepatuhan.1")
    for n, keadaan in ((3, "Tidak"), (4, "Proses"), (kepatuhan, "Kurang patuh")):
        a_plan[n] |= action | {"keadaan": keadaan}
    await a.send("kirim_rencana", "operator", {"indikator": a_plan})
    await a.send("tanggapi_rencana", "kanwil", {"keputusan": "diterima"})
    c_target = datetime.now(UTC) + 3 * S
    await c.send("kirim_rencana", "operator", {"indikator": await plan(c, c_target)})
    await until(lambda: datetime.now(UTC) > c_target + S, "C's target date")

    # By hand: DKI has 2 cases, 1 with a plan (accepted), nothing overdue; JATIM 1 case, 1 plan not yet answered,
    # 1 action overdue. At the bottom of the scale: sarana.3 in A and C, sarana.4 and kepatuhan.1 in A.
    dki = {"cases": 2, "with_plan": 1, "share_with_plan": 0.5, "accepted": 1, "overdue_actions": 0}
    jatim = {"cases": 1, "with_plan": 1, "share_with_plan": 1.0, "accepted": 0, "overdue_actions": 1}
    national = {"cases": 3, "with_plan": 2, "share_with_plan": 2 / 3, "accepted": 1, "overdue_actions": 1}
    got = (await api.get(f"/cycles/{year}/dashboard", headers=token("ditjen_ham"))).json()["plans"]
    assert {k: v for k, v in got["national"].items() if k != "most_tidak"} == national
    assert got["national"]["most_tidak"] == [
        {"kode": "sarana.3", "units": 2},
        {"kode": "kepatuhan.1", "units": 1},
        {"kode": "sarana.4", "units": 1},
    ]
    assert {k: v for k, v in got["by_region"]["KANWIL-DKI"].items() if k != "most_tidak"} == dki
    assert {k: v for k, v in got["by_region"]["KANWIL-JATIM"].items() if k != "most_tidak"} == jatim
    assert got["by_region"]["KANWIL-JATIM"]["most_tidak"] == [{"kode": "sarana.3", "units": 1}]

    # The CSV carries the same numbers.
    text = (await api.get(f"/cycles/{year}/dashboard?format=csv", headers=token("ditjen_ham"))).text
    rows = {(r[0], r[1], r[2]): r[3] for r in csv.reader(io.StringIO(text)) if r[0].startswith("plans")}
    assert rows[("plans", "", "with_plan")] == "2" and rows[("plans", "KANWIL-JATIM", "overdue_actions")] == "1"
    assert rows[("plans_most_tidak", "", "sarana.3")] == "2"
    assert float(rows[("plans", "KANWIL-DKI", "share_with_plan")]) == 0.5
    assert b.unit not in text
