"""Cases brought to a chosen stage through the API, each step sent by the official whose job it is.

Built on service/demo.py (`open_case`, `declare`, `report`, `Driver`): the access matrix and the separation-of-duties
tests need cases at many stages, and every step here is the path a real official takes, evidence uploads included.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from models.policy import Calendar, CyclePolicy, compressed_calendar
from service.demo import TEAM, WITNESSES, Driver, declare, open_case, report, sample_photo, sample_statement
from service.settings import Settings

REGION = "KANWIL-DKI"  # where open_case registers its units
MATRIX_UNITS = ("DITJEN-HAM", "LAPAS-SURABAYA")  # where the access matrix's assigned judges sit
KIND = "kantor_imigrasi"  # their kind
REGULATION = "2023"  # the regulation of the cycles it sets up
WAIT = 30.0  # seconds a step may wait for the calendar on a slow machine
SCORES = {"penilai_a": 90, "penilai_b": 84}  # the two sheets of a case at evaluasi: a weighted 87, a pass
OPENS_AT_ONCE = timedelta(seconds=1)  # for cases that must get past pembangunan
OPENS_LATE = timedelta(seconds=150)  # for cases that must stay before pelaporan while they are tested


def calendar(now: datetime, reporting_opens_in: timedelta) -> Calendar:
    """A cycle measured in seconds whose windows last minutes: long enough for hundreds of requests at one stage.

    Applications and reporting close 200 s from `now`, the cycle ends at 220 s, an award lasts until 240 s, a revision
    takes 60 s; reporting opens `reporting_opens_in` from `now`.
    """
    cal = compressed_calendar(now, timedelta(seconds=20))
    return cal.model_copy(update={"reporting_opens": now + reporting_opens_in})


def roomy_calendar(reporting_opens_in: timedelta) -> Calendar:
    """A cycle of minutes, for tests that drive several cases through it: applications close in 2 minutes, reporting
    opens `reporting_opens_in` from now and closes in 4, the cycle ends in 5, an award lasts until 6."""
    now = datetime.now(UTC)
    return Calendar(
        applications_close=now + timedelta(minutes=2),
        reporting_opens=now + reporting_opens_in,
        reporting_closes=now + timedelta(minutes=4),
        cycle_ends=now + timedelta(minutes=5),
        award_valid_until=now + timedelta(minutes=6),
    )


async def _reject(d: Driver) -> None:
    await d.send("tolak_permohonan", "ditjen", {"alasan": "Surat permohonan belum ditandatangani kepala unit"})


async def _schedule(d: Driver) -> None:
    """Approved for a pencanangan a second from now; waits until the kanwil may declare it."""
    jadwal = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await d.send("setujui_permohonan", "ditjen", {"jadwal": jadwal, "tempat": "Aula Kanwil", "saksi": WITNESSES})
    await d.wait_until("kanwil", lambda v: "deklarasikan" in v["allowed"], "the pencanangan date", WAIT)


async def _declare_only(d: Driver) -> None:
    await d.send("deklarasikan", "kanwil", {"saksi_hadir": WITNESSES})


async def _declare_and_sign(d: Driver) -> None:
    await declare(d, datetime.now(UTC) + timedelta(seconds=1), WAIT)


async def _reporting_window(d: Driver) -> None:
    await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", WAIT)


async def _assign_and_report(d: Driver) -> None:
    """Ditjen HAM assigns the team (the demo's officials and every judge of the access matrix outside the case's
    unit), then the operator reports."""
    team = {
        "verifikator": [*TEAM["verifikator"], *(f"verifikator@{u}" for u in MATRIX_UNITS)],
        "penilai": [*TEAM["penilai"], *(f"penilai@{u}" for u in MATRIX_UNITS)],
        "ketua_penilai": TEAM["ketua_penilai"],
    }
    await d.send("tugaskan", "ditjen", team)
    await report(d)


async def _send_back(d: Driver) -> None:
    await d.send("kembalikan", "verifikator", {"catatan": "Foto ramp tidak sesuai dengan indikator"})


async def _pass_and_score(d: Driver) -> None:
    await d.send("lolos_verifikasi", "verifikator")
    codes = list((await d.call("GET", f"/cycles/{d.year}", "ketua"))["weights"])
    for who, score in SCORES.items():
        await d.send("nilai", who, {"skor": dict.fromkeys(codes, score)})


async def _fix_result(d: Driver) -> None:
    await d.send("tetapkan_hasil_evaluasi", "ketua")


async def _award(d: Driver) -> None:
    decree = {"nomor_keputusan": f"M.HH-{d.year}.HA.01", "tanggal": str(datetime.now(UTC).date())}
    await d.send("tetapkan_penghargaan", "ditjen", decree)


# stage -> (the stage before it on the way, the step that gets there)
STEPS: dict[str, tuple[str, Callable[[Driver], Awaitable[None]]]] = {
    "permohonan_ditolak": ("permohonan", _reject),
    "pencanangan_terjadwal": ("permohonan", _schedule),
    "dicanangkan": ("pencanangan_terjadwal", _declare_only),
    "pembangunan": ("permohonan", _declare_and_sign),
    "pelaporan": ("pembangunan", _reporting_window),
    "verifikasi": ("pelaporan", _assign_and_report),
    "perbaikan": ("verifikasi", _send_back),
    "evaluasi": ("verifikasi", _pass_and_score),
    "lolos_evaluasi": ("evaluasi", _fix_result),
    "berpredikat": ("lolos_evaluasi", _award),
}


async def drive(d: Driver, stage: str) -> None:
    if stage in STEPS:
        before, step = STEPS[stage]
        await drive(d, before)
        await step(d)


async def case_at(
    http: httpx.AsyncClient, settings: Settings, year: int, unit: str, stage: str, cal: Calendar
) -> Driver:
    """A new case of `unit` in `year`, brought to `stage` (at evaluasi: with penilai_a's and penilai_b's sheets)."""
    d = await open_case(http, settings, year, unit, cal, say=print)
    await drive(d, stage)
    view = await d.call("GET", d.case_path, "ditjen")
    assert view["stage"] == stage, f"{unit} should be at {stage}, is at {view['stage']}"
    return d


async def snapshot(http: httpx.AsyncClient, reader: dict[str, str], d: Driver) -> tuple[dict, dict]:
    """The case as `reader` sees it, and its history: equal before and after anything that must change nothing."""
    view = await http.get(d.case_path, headers=reader)
    history = await http.get(f"{d.case_path}/history", headers=reader)
    assert view.status_code == history.status_code == 200, (view.text, history.text)
    return view.json(), history.json()


async def report_answers(d: Driver, policy: CyclePolicy, event: str) -> list[dict[str, Any]]:
    """Every indicator of the unit kind's catalogue answered, each criterion with its own photos from the unit."""
    answers: list[dict[str, Any]] = []
    for c in policy.criteria_for(KIND):
        seeds = [f"{d.unit}-{event}-{c.code}-{n}" for n in range(policy.evidence.min_photos)]
        photos = [await d.upload("operator", f"{seed}.png", sample_photo(seed)) for seed in seeds]
        answers += [
            {"kode": i.code, "nilai": c.scale[0], "bukti": photos if n == 0 else []} for n, i in enumerate(c.indicators)
        ]
    return answers


async def valid_payloads(d: Driver, cal: Calendar) -> dict[str, dict[str, Any]]:
    """A payload for every event (DESIGN.md section 4) that passes all its checks on `d`'s case, made now."""
    policy = CyclePolicy(regulation=REGULATION, calendar=cal)
    now = datetime.now(UTC)
    statement = await d.upload("kepala", "pernyataan.pdf", sample_statement(d.unit))
    laporan = {"indikator": await report_answers(d, policy, "kirim_laporan")}
    rencana = [{"kode": i.code, "keadaan": c.scale[0]} for c in policy.criteria_for(KIND) for i in c.indicators]
    rencana[2] |= {"keadaan": "Tidak", "alternatif": "Layanan dipindahkan ke blok B", "penanggung_jawab": "Kasubag"}
    rencana[2]["target"] = (now + timedelta(seconds=150)).isoformat()
    perbaikan = {"indikator": await report_answers(d, policy, "kirim_perbaikan")}
    return {
        "setujui_permohonan": {
            "jadwal": (now + timedelta(seconds=120)).isoformat(),
            "tempat": "Aula Kanwil DKI Jakarta",
            "saksi": WITNESSES,
        },
        "tolak_permohonan": {"alasan": "Berkas permohonan belum lengkap"},
        "ajukan_ulang": {"catatan": "Berkas sudah dilengkapi"},
        "jadwal_ulang": {"jadwal": (now + timedelta(seconds=125)).isoformat(), "alasan": "Kakanwil dinas luar"},
        "deklarasikan": {"saksi_hadir": WITNESSES},
        "tandatangani_pernyataan": {"dokumen": statement},
        "kirim_rencana": {"indikator": rencana},
        "tanggapi_rencana": {"keputusan": "diterima"},  # refused on these cases: none has sent a plan
        "kirim_laporan": laporan,
        "kirim_perbaikan": perbaikan,
        "perpanjang": {"batas_baru": (cal.reporting_closes + timedelta(seconds=10)).isoformat(), "alasan": "Gangguan"},
        "kembalikan": {"catatan": "Foto guiding block buram"},
        "lolos_verifikasi": {},
        "tidak_lolos_verifikasi": {"alasan": "Bukti dukung tidak sesuai"},
        "nilai": {"skor": dict.fromkeys(policy.weights, 88)},
        "tetapkan_hasil_evaluasi": {},
        "tugaskan": {"verifikator": ["verif-2"], "penilai": ["penilai-c", "penilai-d"], "ketua_penilai": "ketua-2"},
        "tetapkan_penghargaan": {"nomor_keputusan": f"M.HH-{d.year}.HA.02", "tanggal": str(now.date())},
        "cabut": {"alasan": "Pengaduan masyarakat terbukti"},
        "batalkan": {"alasan": "Unit dilebur"},
    }
