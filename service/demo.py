"""One case through the whole happy path, through the real API: the newcomer's proof that it works.

`p2ham demo` runs it against the running stack; the acceptance test runs the very same steps.
"""

import asyncio
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from models.policy import Calendar, compressed_calendar
from service.auth import mint
from service.i18n import DEFAULT_LOCALE, display, gettext
from service.settings import Settings
from workflows.lifecycle import Stage

Say = Callable[[str], None]


class Officials:
    """Dev tokens for everyone who acts on one unit's case."""

    def __init__(self, settings: Settings, unit: str, region: str) -> None:
        people = {
            "admin": dict(role="admin", sub="admin-1", name="Admin Ditjen HAM"),
            "operator": dict(role="operator_unit", sub=f"op-{unit}", name=f"Operator {unit}", unit=unit),
            "kepala": dict(role="kepala_unit", sub=f"kepala-{unit}", name=f"Kepala {unit}", unit=unit),
            "ditjen": dict(role="ditjen_ham", sub="ditjen-1", name="Direktur Diseminasi dan Penguatan HAM"),
            "kanwil": dict(role="kanwil", sub=f"kakanwil-{region}", name=f"Kakanwil {region}", region=region),
            "verifikator": dict(role="verifikator", sub="verif-1", name="Verifikator Ditjen HAM", unit="DITJEN-HAM"),
            "penilai_a": dict(role="penilai", sub="penilai-a", name="Penilai A", unit="DITJEN-HAM"),
            "penilai_b": dict(role="penilai", sub="penilai-b", name="Penilai B", unit="DITJEN-HAM"),
            "ketua": dict(role="ketua_penilai", sub="ketua-1", name="Ketua Tim Penilai", unit="DITJEN-HAM"),
        }
        self.headers = {who: {"Authorization": f"Bearer {mint(settings, **claims)}"} for who, claims in people.items()}

    def __getitem__(self, who: str) -> dict[str, str]:
        return self.headers[who]


# The team Ditjen HAM assigns to the case (`tugaskan`): only these officials verify, score and fix the result.
TEAM = {"verifikator": ["verif-1"], "penilai": ["penilai-a", "penilai-b"], "ketua_penilai": "ketua-1"}

WITNESSES = [
    {"nama": "Dr. Hajerati", "jabatan": "Direktur Jenderal HAM", "unsur": "ditjen_ham"},
    {"nama": "Kombes Pol. Budi", "jabatan": "Anggota Forkopimda", "unsur": "forkopimda"},
]


def sample_photo(seed: str) -> bytes:
    """A real (1x1) PNG whose colour comes from `seed`: distinct seeds give distinct files, hence distinct ids."""
    colour = zlib.crc32(seed.encode()).to_bytes(4, "big")[:3]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" + colour))
        + chunk(b"IEND", b"")
    )


def sample_statement(unit: str) -> bytes:
    """A minimal PDF standing in for the signed surat pernyataan pencanangan."""
    return f"%PDF-1.4\n% Surat pernyataan pencanangan P2HAM, {unit}\n%%EOF\n".encode()


class Driver:
    """Sends each step as the right official and says what happened."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        officials: Officials,
        year: int,
        unit: str,
        say: Say,
        language: str = DEFAULT_LOCALE,
    ) -> None:
        self.http, self.officials, self.year, self.unit, self.say = http, officials, year, unit, say
        self.language = language  # what it says, it says in this language (P2HAM_LANGUAGE)
        self.case_path = f"/cycles/{year}/cases/{unit}"

    async def call(self, method: str, path: str, who: str, json: Any = None, expect: int = 200) -> dict[str, Any]:
        headers = dict(self.officials[who])
        if method == "POST" and "/events/" in path:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        response = await self.http.request(method, path, json=json, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path} as {who}: {response.status_code} {response.text}")
        return response.json()

    async def upload(self, who: str, name: str, content: bytes) -> str:
        response = await self.http.post("/evidence", files={"file": (name, content)}, headers=self.officials[who])
        if response.status_code not in (200, 201):
            raise RuntimeError(f"upload of {name} as {who}: {response.status_code} {response.text}")
        return response.json()["id"]

    async def send(self, event: str, who: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        before = await self.call("GET", self.case_path, who)
        view = await self.call("POST", f"{self.case_path}/events/{event}", who, payload or {})
        self.step(before["stage"], event, view["stage"], who)
        return view

    def step(self, before: str, event: str, after: str, who: str) -> None:
        """One transition as a line: the stages and the event by their names, and who sent it."""
        lang = self.language
        names = {"sebelum": display(lang, "stage", before) if before else "", "sesudah": display(lang, "stage", after)}
        self.say(gettext(lang, "demo.langkah", peristiwa=display(lang, "event", event), oleh=who, **names))

    async def wait_until(self, who: str, done: Callable[[dict[str, Any]], bool], what: str, timeout: float) -> dict:
        self.say(gettext(self.language, "demo.menunggu", apa=what))
        deadline = time.monotonic() + timeout
        while True:
            view = await self.call("GET", self.case_path, who)
            if done(view):
                return view
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {timeout:.0f}s; the case is at {view['stage']}")
            await asyncio.sleep(0.2)


async def open_case(
    http: httpx.AsyncClient,
    settings: Settings,
    year: int,
    unit: str,
    calendar: Calendar,
    ends_after: str = "penghargaan",
    say: Say = print,
    email: str | None = None,
    region: str = "KANWIL-DKI",
) -> Driver:
    """An admin sets up the cycle and registers the unit (in `region`); the unit's operator applies."""
    d = Driver(http, Officials(settings, unit, region), year, unit, say, settings.language)
    policy = {"regulation": "2023", "ends_after": ends_after, "calendar": calendar.model_dump(mode="json")}
    await d.call("PUT", f"/cycles/{year}", "admin", policy)
    unit_info = {"code": unit, "name": f"Kantor Imigrasi {unit}", "kind": "kantor_imigrasi", "region": region}
    await d.call("POST", "/units", "admin", {**unit_info, "email": email}, expect=201)
    say(gettext(d.language, "demo.mengajukan", tahun=year, unit=unit))
    view = await d.call("POST", f"/cycles/{year}/cases", "operator", {"unit": unit}, expect=201)
    d.step("", "ajukan", view["stage"], "operator")
    return d


async def declare(d: Driver, jadwal: datetime, timeout: float, target: datetime | None = None) -> None:
    """Ditjen HAM approves with witnesses, the Kanwil declares at the set time, the unit head signs. With a `target`
    date, the unit's action plan is sent and accepted between the declaration and the signature."""
    ceremony = {"jadwal": jadwal.isoformat(), "tempat": "Aula Kanwil DKI Jakarta", "saksi": WITNESSES}
    await d.send("setujui_permohonan", "ditjen", ceremony)
    date_reached = gettext(d.language, "demo.tanggal_pencanangan")
    await d.wait_until("kanwil", lambda v: "deklarasikan" in v["allowed"], date_reached, timeout)
    await d.send("deklarasikan", "kanwil", {"saksi_hadir": WITNESSES})
    if target is not None:
        await plan_accepted(d, target)
    statement = await d.upload("kepala", "pernyataan.pdf", sample_statement(d.unit))
    await d.send("tandatangani_pernyataan", "kepala", {"dokumen": statement})


async def plan(d: Driver, target: datetime) -> list[dict[str, Any]]:
    """The operator's action plan: every indicator of the catalogue met but one, a facility still missing, with its
    constraint, the alternative arrangement, who is responsible and the target date."""
    cycle = await d.call("GET", f"/cycles/{d.year}?kind=kantor_imigrasi", "operator")
    actions: list[dict[str, Any]] = [
        {"kode": i["code"], "keadaan": c["scale"][0]} for c in cycle["criteria"] for i in c["indicators"]
    ]
    actions[2] |= {
        "keadaan": "Tidak",
        "kesenjangan": "Belum ada toilet ramah disabilitas",
        "kendala": "Gedung cagar budaya: tidak boleh dibangun toilet baru",
        "alternatif": "Layanan bagi penyandang disabilitas dipindahkan ke blok B di luar gedung cagar budaya",
        "penanggung_jawab": "Kepala Subbagian Umum",
        "target": target.isoformat(),
    }
    return actions


async def plan_accepted(d: Driver, target: datetime) -> None:
    """The operator sends the action plan (`kirim_rencana`), the Kanwil accepts it (`tanggapi_rencana`)."""
    await d.send("kirim_rencana", "operator", {"indikator": await plan(d, target)})
    await d.send("tanggapi_rencana", "kanwil", {"keputusan": "diterima", "catatan": "Rencana dapat dilaksanakan"})


async def assign(d: Driver) -> None:
    """Ditjen HAM assigns the case's verifier, assessors and head of the assessment team (`tugaskan`)."""
    await d.send("tugaskan", "ditjen", TEAM)


async def report(d: Driver, event: str = "kirim_laporan") -> None:
    """The operator uploads photos for each criterion and answers every indicator of the unit kind's catalogue."""
    cycle = await d.call("GET", f"/cycles/{d.year}?kind=kantor_imigrasi", "operator")
    answers = []
    for c in cycle["criteria"]:
        names = [f"{d.unit}-{c['code']}-{n}.png" for n in range(cycle["evidence"]["min_photos"])]
        photos = [await d.upload("operator", name, sample_photo(name + event)) for name in names]
        for i, indicator in enumerate(c["indicators"]):
            bukti = photos if i == 0 else []
            answers.append(
                {"kode": indicator["code"], "nilai": c["scale"][0], "bukti": bukti, "keterangan": "tersedia"}
            )
    await d.send(event, "operator", {"indikator": answers})


async def happy_path(
    http: httpx.AsyncClient,
    settings: Settings,
    year: int,
    unit: str,
    step: timedelta,
    say: Say = print,
    with_plan: bool = True,
) -> Driver:
    """Drive one unit from application to the end of its award, each step by the official whose job it is; with its
    action plan sent and accepted in `dicanangkan` (`with_plan` False: the path as it was before plans)."""
    now = datetime.now(UTC)
    wait = 10 * step.total_seconds()
    cal = compressed_calendar(now, step)
    d = await open_case(http, settings, year, unit, cal, say=say)
    # After the reporting window opens: the case has left pembangunan before a plan reminder is due. Not the cycle's
    # last moment: runs side by side (the benchmark) each set the cycle's calendar a moment apart, and a case keeps
    # the one it started with.
    target = cal.reporting_closes if with_plan else None
    await declare(d, datetime.now(UTC) + 2 * step, wait, target)  # two steps after the approval, however long setup
    window = gettext(d.language, "demo.jendela_pelaporan")
    await d.wait_until("operator", lambda v: v["stage"] == Stage.pelaporan, window, wait)
    say(gettext(d.language, "demo.kalender", peristiwa=display(d.language, "event", "buka_pelaporan")))
    await assign(d)
    await report(d)
    await d.send("lolos_verifikasi", "verifikator")
    codes = list((await d.call("GET", f"/cycles/{year}", "ketua"))["weights"])
    await d.send("nilai", "penilai_a", {"skor": dict.fromkeys(codes, 90)})
    await d.send("nilai", "penilai_b", {"skor": dict.fromkeys(codes, 84)})
    await d.send("tetapkan_hasil_evaluasi", "ketua")
    await d.send(
        "tetapkan_penghargaan", "ditjen", {"nomor_keputusan": f"M.HH-{year}.HA.01", "tanggal": str(now.date())}
    )
    validity = gettext(d.language, "demo.akhir_masa_berlaku")
    await d.wait_until("ditjen", lambda v: v["stage"] == Stage.selesai, validity, 2 * wait)
    say(gettext(d.language, "demo.kalender", peristiwa=display(d.language, "event", "akhiri_masa_berlaku")))
    return d
