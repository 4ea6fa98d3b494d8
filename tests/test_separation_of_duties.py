"""Separation of duties through the API: nobody judges their own unit, nobody scores twice, the head of the assessment
team fixes a result only after two other assessors scored. Every refusal changes nothing and is kept for auditors.

Also here: an `Idempotency-Key` belongs to one request; reused for another it is refused, retried it gives the first
answer again.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.tables import RefusalRow
from service.demo import WITNESSES, Driver
from service.settings import Settings
from tests.stages import OPENS_AT_ONCE, OPENS_LATE, calendar, case_at, snapshot

Token = Callable[..., dict[str, str]]
Official = tuple[str, str, dict[str, str]]  # role, sub, unit or region claims
ASSESSORS = "DITJEN-HAM"


class Desk:
    """One case and the officials who try things on it; `refuse` checks that a refusal changed nothing."""

    def __init__(self, api: httpx.AsyncClient, token: Token, d: Driver) -> None:
        self.api, self.token, self.d = api, token, d
        self.reader = token("auditor", "auditor-sod")
        self.tried: list[tuple[str, str, str, int, str]] = []  # (sub, role, event, status, a word of the reason)

    async def post(self, event: str, headers: dict[str, str], payload: dict[str, Any], key: str = "") -> httpx.Response:
        headers = {**headers, "Idempotency-Key": key or str(uuid.uuid4())}
        return await self.api.post(f"{self.d.case_path}/events/{event}", json=payload, headers=headers)

    async def refuse(
        self, event: str, official: Official, payload: dict[str, Any], status: int, because: str
    ) -> list[str]:
        """`official` (role, sub, claims) sends `event` and gets `status` with the reason `because` (its code)."""
        role, sub, claims = official
        before = await snapshot(self.api, self.reader, self.d)
        response = await self.post(event, self.token(role, sub, **claims), payload)
        assert response.status_code == status, response.text
        why = response.json()["why"]
        assert because in [r["code"] for r in response.json()["why_codes"]], why
        assert await snapshot(self.api, self.reader, self.d) == before, f"the refused {event} changed the case"
        self.tried.append((sub, role, event, status, because))
        return why

    def assert_logged(self, engine: Engine) -> None:
        """The `refusal` table holds exactly the refusals tried, in order, each with its actor and reasons."""
        with Session(engine) as session:
            rows = session.exec(
                select(RefusalRow)
                .where(RefusalRow.year == self.d.year, RefusalRow.unit == self.d.unit)
                .order_by(RefusalRow.id)
            ).all()
        logged = [(r.actor_sub, r.actor_role, r.event, r.status) for r in rows]
        assert logged == [tried[:4] for tried in self.tried]
        for row, (*_, word) in zip(rows, self.tried, strict=True):
            assert row.why and any(reason["code"] == word for reason in row.why), row.why


async def test_a_verifier_from_the_unit_cannot_verify_it(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, token: Token, year: int
) -> None:
    d = await case_at(api, settings, year, "SOD-VERIF", "verifikasi", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    desk = Desk(api, token, d)
    member = ("verifikator", "verif-orang-dalam", {"unit": d.unit})
    attempts = {
        "lolos_verifikasi": {},
        "kembalikan": {"catatan": "Foto ramp buram"},
        "tidak_lolos_verifikasi": {"alasan": "Bukti dukung tidak sesuai"},
    }
    for event, payload in attempts.items():
        why = await desk.refuse(event, member, payload, status=403, because="menilai_unit_sendiri")
        assert d.unit in " ".join(why)
    desk.assert_logged(engine)

    view = await d.send("lolos_verifikasi", "verifikator")  # a verifier from Ditjen HAM may
    assert view["stage"] == "evaluasi"


async def test_four_eyes_at_evaluation(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, token: Token, year: int
) -> None:
    d = await case_at(api, settings, year, "SOD-EVAL", "verifikasi", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    await d.send("lolos_verifikasi", "verifikator")
    codes = list((await d.call("GET", f"/cycles/{year}", "ketua"))["weights"])
    desk = Desk(api, token, d)
    outsider = {"unit": ASSESSORS}

    insider = ("penilai", "penilai-orang-dalam", {"unit": d.unit})
    await desk.refuse("nilai", insider, {"skor": dict.fromkeys(codes, 100)}, status=403, because="menilai_unit_sendiri")
    await d.send("nilai", "penilai_a", {"skor": dict.fromkeys(codes, 90)})
    again = ("penilai", "penilai-a", outsider)
    await desk.refuse(
        "nilai", again, {"skor": dict.fromkeys(codes, 60)}, status=409, because="lembar_nilai_sudah_dikirim"
    )
    ketua = ("ketua_penilai", "ketua-1", outsider)
    await desk.refuse("tetapkan_hasil_evaluasi", ketua, {}, status=409, because="penilai_kurang")
    await d.send("nilai", "penilai_b", {"skor": dict.fromkeys(codes, 84)})
    scorer = ("ketua_penilai", "penilai-a", outsider)  # scored as a penilai, now acting as head of the team
    await desk.refuse("tetapkan_hasil_evaluasi", scorer, {}, status=403, because="ketua_sudah_menilai")
    member = ("ketua_penilai", "ketua-orang-dalam", {"unit": d.unit})
    await desk.refuse("tetapkan_hasil_evaluasi", member, {}, status=403, because="menilai_unit_sendiri")
    desk.assert_logged(engine)

    view = await d.send("tetapkan_hasil_evaluasi", "ketua")  # two distinct assessors, an independent head
    assert view["stage"] == "lolos_evaluasi"
    history = await d.call("GET", f"{d.case_path}/history", "ketua")
    scorers = [e["actor"]["sub"] for e in history["entries"] if e["event"] == "nilai"]
    assert scorers == ["penilai-a", "penilai-b"]
    assert history["entries"][-1]["actor"] == {"sub": "ketua-1", "name": "Ketua Tim Penilai", "role": "ketua_penilai"}


async def test_an_idempotency_key_belongs_to_one_request(
    api: httpx.AsyncClient, settings: Settings, engine: Engine, token: Token, year: int
) -> None:
    d = await case_at(api, settings, year, "SOD-IDEM", "permohonan", calendar(datetime.now(UTC), OPENS_LATE))
    desk = Desk(api, token, d)
    jadwal = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    body = {"jadwal": jadwal, "tempat": "Aula Kanwil DKI Jakarta", "saksi": WITNESSES}
    key = f"setujui-{uuid.uuid4()}"

    first = await desk.post("setujui_permohonan", d.officials["ditjen"], body, key)
    assert first.status_code == 200, first.text
    after_first = await snapshot(api, desk.reader, d)

    retried = await desk.post("setujui_permohonan", d.officials["ditjen"], body, key)
    assert (retried.status_code, retried.json()) == (200, first.json())  # not a 409: the retry is the same request

    other_requests = [
        (d.officials["ditjen"], {**body, "tempat": "Aula Kantor Imigrasi"}),  # the same official, another body
        (d.officials["ditjen"], {**body, "jadwal": (datetime.now(UTC) + timedelta(seconds=90)).isoformat()}),
        (token("ditjen_ham", "ditjen-2"), body),  # another official, the same body
    ]
    for headers, other in other_requests:
        reused = await desk.post("setujui_permohonan", headers, other, key)
        assert reused.status_code == 422, reused.text
        assert reused.json()["error"] == "idempotency_key_reused"
        assert set(reused.json()) == {"error", "message", "why", "why_codes"} and reused.json()["why"]
        assert reused.json()["why_codes"] == [{"code": "kunci_milik_permintaan_lain", "params": {"kunci": key}}]
        assert await snapshot(api, desk.reader, d) == after_first
    reused_key = "kunci_milik_permintaan_lain"
    desk.tried += [
        (sub, "ditjen_ham", "setujui_permohonan", 422, reused_key) for sub in ("ditjen-1", "ditjen-1", "ditjen-2")
    ]
    desk.assert_logged(engine)

    history = after_first[1]["entries"]
    assert [e["event"] for e in history] == ["ajukan", "setujui_permohonan"]
    assert history[-1]["payload"]["tempat"] == body["tempat"]

    again = await desk.post("setujui_permohonan", d.officials["ditjen"], body, key)  # still the first answer
    assert (again.status_code, again.json()) == (200, first.json())
    assert await snapshot(api, desk.reader, d) == after_first
