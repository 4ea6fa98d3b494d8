"""The case page (/ui/kasus/{year}/{unit}) of a case with 40 history entries, with 20,000 synthetic cases in the read
model: its server time, against the JSON reads of the same case (`GET /cycles/{year}/cases/{unit}` and its
`/history`) in the same run.

    .venv/bin/python -m bench.kasus [--cases 20000] [--repeat 30]

No Temporal needed: the page and the JSON reads use the read model only. A fresh SQLite database in a temporary
directory with the synthetic cases of bench/run.py (labelled synthetic) and, beside them, one synthetic case at
evaluasi whose 40 entries went through the report, eighteen rounds of returns and revisions (each with the report's
answers and photos), the team, the pass and a score sheet. Read as Ditjen HAM, who sees every entry and every form of
the stage. Each request is served in this process (httpx's ASGI transport, no network): its time is the server's.
Medians of `--repeat` requests, interleaved, after one request each to warm the caches.
"""

import asyncio
import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import httpx
from sqlmodel import Session, select

from activities.projection import case_row
from bench.dasbor import YEAR, prepare
from bench.served import Timings, arguments, conclude, medians, scratch
from models.contracts import CaseData, Penugasan, UnitInfo
from models.db import make_engine
from models.policy import CyclePolicy
from models.tables import CycleRow, EvidenceRow, TransitionRow, UnitRow
from service.api import create_app
from service.auth import mint
from service.demo import TEAM
from service.settings import Settings

UNIT = "BENCH-KASUS-40"
ENTRIES = 40
TARGET_MS = 50.0
WITNESSES = [
    {"nama": "Saksi Ditjen HAM (sintetis)", "jabatan": "Direktur", "unsur": "ditjen_ham"},
    {"nama": "Saksi Forkopimda (sintetis)", "jabatan": "Anggota", "unsur": "forkopimda"},
]


def history(case: CaseData, photos: dict[str, str]) -> list[tuple[str, str | None, str, str, dict[str, Any]]]:
    """(event, from, to, role, payload) of the 40 entries, in order."""
    criteria = case.policy.criteria_for(case.unit.kind)
    report = {
        "indikator": [
            {"kode": i.code, "nilai": c.scale[0], "bukti": [photos[c.code]], "keterangan": "Sintetis"}
            for c in criteria
            for i in c.indicators
        ]
    }
    notes = {"catatan": "Foto belum sesuai", "indikator": {criteria[0].indicators[0].code: "Foto buram"}}
    entries: list[tuple[str, str | None, str, str, dict[str, Any]]] = [
        ("ajukan", None, "permohonan", "operator_unit", {}),
        ("setujui_permohonan", "permohonan", "pencanangan_terjadwal", "ditjen_ham", {"saksi": WITNESSES}),
        ("deklarasikan", "pencanangan_terjadwal", "dicanangkan", "kanwil", {"saksi_hadir": WITNESSES}),
        ("tandatangani_pernyataan", "dicanangkan", "pembangunan", "kepala_unit", {"dokumen": photos["pernyataan"]}),
        ("buka_pelaporan", "pembangunan", "pelaporan", "system", {}),
        ("tugaskan", "pelaporan", "pelaporan", "ditjen_ham", TEAM),
        ("kirim_laporan", "pelaporan", "verifikasi", "operator_unit", report),
    ]
    while len(entries) < ENTRIES - 3:
        entries.append(("kembalikan", "verifikasi", "perbaikan", "verifikator", notes))
        entries.append(("kirim_perbaikan", "perbaikan", "verifikasi", "operator_unit", report))
    entries.append(("lolos_verifikasi", "verifikasi", "evaluasi", "verifikator", {}))
    entries.append(("tugaskan", "evaluasi", "evaluasi", "ditjen_ham", TEAM))
    entries.append(("nilai", "evaluasi", "evaluasi", "penilai", {"skor": dict.fromkeys(case.policy.weights, 88.0)}))
    assert len(entries) == ENTRIES
    return entries


def add_long_case(settings: Settings) -> None:
    """The case of the page: at evaluasi after 40 entries, its unit registered, its files in the evidence table."""
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        cycle = session.exec(select(CycleRow).where(CycleRow.year == YEAR)).one()
        policy = CyclePolicy.model_validate(cycle.policy)
        info = UnitInfo(code=UNIT, name="Lapas Sintetis 40 Langkah", kind="upt_pemasyarakatan", region="KANWIL-DKI")
        session.add(UnitRow(code=info.code, name=info.name, kind=info.kind, region=info.region, zona_waktu="WIB"))
        case = CaseData(
            year=YEAR,
            unit=info,
            policy=policy,
            stage="evaluasi",
            seq=ENTRIES,
            stage_since=now - timedelta(days=1),
            penugasan=Penugasan.model_validate(TEAM),
            score_sheets={"penilai-a": dict.fromkeys(policy.weights, 88.0)},
        )
        names = [c.code for c in policy.criteria_for(info.kind)] + ["pernyataan"]
        at = now - timedelta(days=ENTRIES)
        photos = {name: hashlib.sha256(f"{UNIT}-{name}".encode()).hexdigest() for name in names}
        for name, sha in photos.items():
            media, suffix = ("application/pdf", "pdf") if name == "pernyataan" else ("image/jpeg", "jpg")
            session.add(
                EvidenceRow(
                    id=sha,
                    unit=UNIT,
                    media_type=media,
                    size=180_000,
                    name=f"{name}.{suffix}",
                    uploaded_by="synthetic",
                    created_at=at,
                )
            )
        for seq, (event, source, target, role, payload) in enumerate(history(case, photos), start=1):
            session.add(
                TransitionRow(
                    year=YEAR,
                    unit=UNIT,
                    seq=seq,
                    at=at + timedelta(days=seq - 1),
                    event=event,
                    source=source,
                    target=target,
                    actor_sub=f"synthetic-{role}",
                    actor_name=f"Pejabat sintetis ({role})",
                    actor_role=role,
                    payload=payload,
                    evidence=[],
                    policy_version="synthetic",
                    prev_hash="",
                    hash=hashlib.sha256(f"{UNIT}-{seq}".encode()).hexdigest(),
                )
            )
        session.add(case_row(case))
        session.commit()
    engine.dispose()


def shows_every_entry(name: str, first: httpx.Response) -> None:
    """The case page's history table has a row per entry (its head left out): the page measured is the whole one."""
    if name == "case page (HTML)":
        rows = first.text.count("<tr>") - 1
        assert rows >= ENTRIES, f"the page shows {rows} rows, not the {ENTRIES} entries"


async def measure(settings: Settings, repeat: int) -> Timings:
    token = mint(settings, role="ditjen_ham", sub="bench", name="Bench")
    api_headers = {"Authorization": f"Bearer {token}"}
    paths = {
        "case page (HTML)": (f"/ui/kasus/{YEAR}/{UNIT}", {}),
        "JSON case": (f"/cycles/{YEAR}/cases/{UNIT}", api_headers),
        "JSON history": (f"/cycles/{YEAR}/cases/{UNIT}/history", api_headers),
    }
    return await medians(create_app(settings), paths, repeat, shows_every_entry)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = arguments("python -m bench.kasus", __doc__, 30, argv)
    with scratch("bench-kasus") as settings:
        t = time.perf_counter()
        prepare(settings, args.cases)
        add_long_case(settings)
        print(
            f"{args.cases} synthetic cases of {YEAR} and one of {ENTRIES} entries written in "
            f"{time.perf_counter() - t:.1f} s"
        )
        results = asyncio.run(measure(settings, args.repeat))
    ratios = {"case page / JSON case": "JSON case", "case page / JSON history": "JSON history"}
    conclude(results, args.repeat, "case page (HTML)", ratios, "the case page", TARGET_MS)


if __name__ == "__main__":
    main()
