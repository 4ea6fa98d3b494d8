"""The lifecycle state machine and every guard, without Temporal: pure Python, fast.

The expectations below are written from DESIGN.md section 2, not read off `workflows/lifecycle.py`, so a change to the
machine or to the role table that contradicts the design makes a test fail.
"""

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.contracts import ROLES, SYSTEM, Actor, CaseData, EvidenceInfo, Transition, UnitInfo
from models.policy import Calendar, CyclePolicy, compressed_calendar
from service.i18n import render
from workflows.lifecycle import (
    EVENTS,
    FINAL_STAGES,
    RULES,
    Lifecycle,
    Refused,
    Timer,
    application_refused,
    chain_hash,
    describe,
    forbidden,
    next_timer,
    refused,
    start,
    view,
)
from workflows.reasons import Reason, reason

# --- The calendar of one cycle, in order -------------------------------------------------------------------------

T0 = datetime(2024, 1, 1, tzinfo=UTC)
EARLY = T0 + timedelta(days=5)  # while applications are open
JADWAL = T0 + timedelta(days=15)  # the pencanangan
REVISION = timedelta(days=14)
CAL = Calendar(
    applications_close=T0 + timedelta(days=20),
    reporting_opens=T0 + timedelta(days=60),
    reporting_closes=T0 + timedelta(days=90),
    cycle_ends=T0 + timedelta(days=330),
    award_valid_until=T0 + timedelta(days=700),
    revision_period=REVISION,
)
IN_REPORTING = T0 + timedelta(days=70)
LATER = T0 + timedelta(days=200)  # verification, evaluation, award
FAR_FUTURE = CAL.award_valid_until + timedelta(days=365)
SECOND = timedelta(seconds=1)

POLICY = CyclePolicy(regulation="2023", calendar=CAL)
TRANSITION_YEAR = CyclePolicy(regulation="2022", ends_after="pembangunan", calendar=CAL)

UNIT = UnitInfo(code="KANIM-A", name="Kantor Imigrasi A", kind="kantor_imigrasi", region="KANWIL-DKI")
PRISON = UnitInfo(code="LAPAS-A", name="Lapas A", kind="upt_pemasyarakatan", region="KANWIL-DKI")
ASSESSORS_UNIT = "DITJEN-HAM"

STAGES = [
    "permohonan",
    "permohonan_ditolak",
    "pencanangan_terjadwal",
    "dicanangkan",
    "pembangunan",
    "pelaporan",
    "verifikasi",
    "perbaikan",
    "evaluasi",
    "lolos_evaluasi",
    "berpredikat",
    "selesai",
    "dicabut",
    "tidak_lolos",
    "tidak_melapor",
    "ditolak",
    "dibatalkan",
    "transisi_selesai",
]
FINAL = ["dibatalkan", "dicabut", "ditolak", "selesai", "tidak_lolos", "tidak_melapor", "transisi_selesai"]
NON_FINAL = [s for s in STAGES if s not in FINAL]
BEFORE_REPORTING = ["permohonan", "permohonan_ditolak", "pencanangan_terjadwal", "dicanangkan", "pembangunan"]
ALL_ROLES = (*ROLES, "system")

# DESIGN.md section 2, "Who may send which event".
ROLE_TABLE: dict[str, tuple[str, ...]] = {
    "setujui_permohonan": ("ditjen_ham",),
    "tolak_permohonan": ("ditjen_ham",),
    "ajukan_ulang": ("operator_unit",),
    "jadwal_ulang": ("ditjen_ham", "kanwil"),
    "deklarasikan": ("kanwil",),
    "tandatangani_pernyataan": ("kepala_unit",),
    "kirim_rencana": ("operator_unit",),
    "tanggapi_rencana": ("kanwil",),
    "kirim_laporan": ("operator_unit",),
    "kirim_perbaikan": ("operator_unit",),
    "perpanjang": ("ditjen_ham",),
    "kembalikan": ("verifikator",),
    "lolos_verifikasi": ("verifikator",),
    "tidak_lolos_verifikasi": ("verifikator",),
    "nilai": ("penilai",),
    "tetapkan_hasil_evaluasi": ("ketua_penilai",),
    "tugaskan": ("ditjen_ham",),
    "tetapkan_penghargaan": ("ditjen_ham",),
    "cabut": ("ditjen_ham",),
    "batalkan": ("operator_unit", "admin"),
    "buka_pelaporan": ("system",),
    "tutup_pelaporan": ("system",),
    "tutup_perbaikan": ("system",),
    "tutup_permohonan": ("system",),
    "akhiri_transisi": ("system",),
    "akhiri_masa_berlaku": ("system",),
}
SYSTEM_EVENTS = sorted(e for e, roles in ROLE_TABLE.items() if roles == ("system",))

# DESIGN.md section 2, the diagram: (event, from, to). tetapkan_hasil_evaluasi goes either way, by the score.
TRANSITIONS: list[tuple[str, str, str]] = [
    ("setujui_permohonan", "permohonan", "pencanangan_terjadwal"),
    ("tolak_permohonan", "permohonan", "permohonan_ditolak"),
    ("ajukan_ulang", "permohonan_ditolak", "permohonan"),
    ("tutup_permohonan", "permohonan_ditolak", "ditolak"),
    ("jadwal_ulang", "pencanangan_terjadwal", "pencanangan_terjadwal"),
    ("deklarasikan", "pencanangan_terjadwal", "dicanangkan"),
    ("tandatangani_pernyataan", "dicanangkan", "pembangunan"),
    ("buka_pelaporan", "pembangunan", "pelaporan"),
    ("akhiri_transisi", "pembangunan", "transisi_selesai"),
    ("perpanjang", "pelaporan", "pelaporan"),
    ("kirim_laporan", "pelaporan", "verifikasi"),
    ("tutup_pelaporan", "pelaporan", "tidak_melapor"),
    ("kembalikan", "verifikasi", "perbaikan"),
    ("kirim_perbaikan", "perbaikan", "verifikasi"),
    ("tutup_perbaikan", "perbaikan", "tidak_lolos"),
    ("lolos_verifikasi", "verifikasi", "evaluasi"),
    ("tidak_lolos_verifikasi", "verifikasi", "tidak_lolos"),
    ("nilai", "evaluasi", "evaluasi"),
    ("tetapkan_hasil_evaluasi", "evaluasi", "lolos_evaluasi"),
    ("tetapkan_penghargaan", "lolos_evaluasi", "berpredikat"),
    ("cabut", "berpredikat", "dicabut"),
    ("akhiri_masa_berlaku", "berpredikat", "selesai"),
] + [("batalkan", stage, "dibatalkan") for stage in NON_FINAL]
# Issue 12: the team is assigned (or changed) from reporting until the result is fixed.
TRANSITIONS += [("tugaskan", stage, stage) for stage in ("pelaporan", "verifikasi", "perbaikan", "evaluasi")]
# Issue 17: the action plan is sent and answered from the declaration until reporting opens.
TRANSITIONS += [
    (e, stage, stage) for e in ("kirim_rencana", "tanggapi_rencana") for stage in ("dicanangkan", "pembangunan")
]
EXTRA_TARGETS = {"tetapkan_hasil_evaluasi": ["tidak_lolos"]}


def expected_sources(event: str) -> list[str]:
    return [s for s in STAGES if (event, s) in {(e, src) for e, src, _ in TRANSITIONS}]


def expected_targets(event: str) -> list[str]:
    return sorted({t for e, _, t in TRANSITIONS if e == event} | set(EXTRA_TARGETS.get(event, [])))


# --- People ------------------------------------------------------------------------------------------------------


def person(role: str, sub: str | None = None, **claims: str) -> Actor:
    """An official of `role` who is in scope for UNIT unless `claims` say otherwise."""
    if role == "system":
        return SYSTEM
    defaults = {
        "operator_unit": {"unit": UNIT.code},
        "kepala_unit": {"unit": UNIT.code},
        "kanwil": {"region": UNIT.region},
        "verifikator": {"unit": ASSESSORS_UNIT},
        "penilai": {"unit": ASSESSORS_UNIT},
        "ketua_penilai": {"unit": ASSESSORS_UNIT},
    }.get(role, {})
    return Actor(sub=sub or f"{role}-1", name=f"Pak {role}", role=role, **(defaults | claims))


PENILAI_A, PENILAI_B = person("penilai", "penilai-a"), person("penilai", "penilai-b")

# --- Payloads ----------------------------------------------------------------------------------------------------


def answers(policy: CyclePolicy, unit: UnitInfo) -> list[dict[str, Any]]:
    """Every indicator of the unit kind's catalogue, answered with the first value of its scale; each criterion's
    first indicator carries the criterion's own `min_photos` photos."""
    photos = policy.evidence.min_photos
    return [
        {"kode": i.code, "nilai": c.scale[0], "bukti": [f"foto-{c.code}-{n}" for n in range(photos)] if k == 0 else []}
        for c in policy.criteria_for(unit.kind)
        for k, i in enumerate(c.indicators)
    ]


REPORT = answers(POLICY, UNIT)
STATEMENT = "pernyataan-KANIM-A"


def uploaded(ids: set[str], media_type: str = "image/png", unit: str = UNIT.code) -> dict[str, EvidenceInfo]:
    return {i: EvidenceInfo(id=i, media_type=media_type, size=1024, unit=unit) for i in ids}


# What the evidence store knows: the unit's photos and its signed statement (a PDF).
EVIDENCE = uploaded({b for a in REPORT for b in a["bukti"]}) | uploaded({STATEMENT}, "application/pdf")
WITNESSES = [
    {"nama": "Dr. Hajerati", "jabatan": "Direktur Jenderal HAM", "unsur": "ditjen_ham"},
    {"nama": "Kombes Pol. Budi", "jabatan": "Anggota Forkopimda", "unsur": "forkopimda"},
]
EXTRA_WITNESS = {"nama": "Ibu Sari", "jabatan": "Tokoh masyarakat", "unsur": "lainnya"}
DITJEN_WITNESS, FORKOPIMDA_WITNESS = ([w, EXTRA_WITNESS] for w in WITNESSES)


def scores(sarana: float, sdm: float, kepatuhan: float, inovasi: float, integritas: float) -> dict[str, float]:
    return {"sarana": sarana, "sdm": sdm, "kepatuhan": kepatuhan, "inovasi": inovasi, "integritas": integritas}


# Default weights 30/20/20/15/15: A = 71.0, B = 80.0, B_LOW = 78.0 (the plain means would be 66, 80 and 78).
SHEET_A = scores(100, 50, 80, 60, 40)
SHEET_B = scores(80, 90, 70, 100, 60)
SHEET_B_LOW = scores(80, 80, 70, 100, 60)
PASSING = {"penilai-a": SHEET_A, "penilai-b": SHEET_B}

NEW_DEADLINE = CAL.reporting_closes + timedelta(days=20)

# The action plan: every indicator met but the disability toilet, which a heritage building rules out.
TARGET = JADWAL + timedelta(days=30)
PLAN = [{"kode": a["kode"], "keadaan": a["nilai"]} for a in REPORT]
PLAN[2] = {
    "kode": "sarana.3",
    "keadaan": "Tidak",
    "kendala": "gedung cagar budaya",
    "alternatif": "warga binaan dipindahkan ke blok B",
    "penanggung_jawab": "Kasubag Umum",
    "target": TARGET.isoformat(),
}
SENT_PLAN = {"rencana": {"indikator": PLAN}, "rencana_status": "dikirim"}

# The team Ditjen HAM assigned (`tugaskan`): the `person(...)` defaults of the three roles and every named assessor.
TEAM = {
    "verifikator": ["verifikator-1"],
    "penilai": ["penilai-1", "penilai-a", "penilai-b", "penilai-c"],
    "ketua_penilai": "ketua_penilai-1",
}

# event -> (who sends it validly, a valid payload, when; None = the moment the calendar names)
VALID: dict[str, tuple[Actor, dict[str, Any], datetime | None]] = {
    "setujui_permohonan": (
        person("ditjen_ham"),
        {"jadwal": JADWAL.isoformat(), "tempat": "Aula Kanwil DKI", "saksi": WITNESSES},
        EARLY,
    ),
    "tolak_permohonan": (person("ditjen_ham"), {"alasan": "berkas permohonan belum lengkap"}, EARLY),
    "ajukan_ulang": (person("operator_unit"), {"catatan": "berkas sudah dilengkapi"}, EARLY),
    "jadwal_ulang": (
        person("kanwil"),
        {"jadwal": (JADWAL + timedelta(days=3)).isoformat(), "alasan": "Kakanwil dinas luar"},
        EARLY,
    ),
    "deklarasikan": (person("kanwil"), {"saksi_hadir": WITNESSES}, JADWAL),
    "tandatangani_pernyataan": (person("kepala_unit"), {"dokumen": STATEMENT}, JADWAL + timedelta(days=1)),
    "kirim_rencana": (person("operator_unit"), {"indikator": PLAN}, JADWAL + timedelta(days=1)),
    "tanggapi_rencana": (person("kanwil"), {"keputusan": "diterima"}, JADWAL + timedelta(days=2)),
    "kirim_laporan": (person("operator_unit"), {"indikator": REPORT}, IN_REPORTING),
    "kirim_perbaikan": (person("operator_unit"), {"indikator": REPORT}, LATER),
    "perpanjang": (
        person("ditjen_ham"),
        {"batas_baru": NEW_DEADLINE.isoformat(), "alasan": "gangguan aplikasi"},
        IN_REPORTING,
    ),
    "kembalikan": (person("verifikator"), {"catatan": "foto ramp tidak sesuai"}, LATER),
    "lolos_verifikasi": (person("verifikator"), {}, LATER),
    "tidak_lolos_verifikasi": (person("verifikator"), {"alasan": "bukti dukung tidak sesuai"}, LATER),
    "nilai": (person("penilai", "penilai-c"), {"skor": SHEET_B}, LATER),
    "tetapkan_hasil_evaluasi": (person("ketua_penilai"), {}, LATER),
    "tugaskan": (person("ditjen_ham"), TEAM, IN_REPORTING),
    "tetapkan_penghargaan": (
        person("ditjen_ham"),
        {"nomor_keputusan": "M.HH-01.HA.01 TAHUN 2024", "tanggal": "2024-12-10"},
        LATER,
    ),
    "cabut": (person("ditjen_ham"), {"alasan": "pengaduan terbukti"}, LATER),
    "batalkan": (person("admin"), {"alasan": "unit dilebur"}, EARLY),
    **dict.fromkeys(SYSTEM_EVENTS, (SYSTEM, {}, None)),
}
POLICY_FOR = {"akhiri_transisi": TRANSITION_YEAR}
EVENT_DATA = {"tanggapi_rencana": SENT_PLAN}  # what the case holds when the event is valid

# What a case at a stage carries when it got there the ordinary way.
STAGE_DATA: dict[str, dict[str, Any]] = {
    "pencanangan_terjadwal": {"jadwal": JADWAL},
    "dicanangkan": {"jadwal": JADWAL},
    "pelaporan": {"reporting_deadline": CAL.reporting_closes},
    "perbaikan": {"reporting_deadline": CAL.reporting_closes, "revision_deadline": LATER + REVISION},
    "evaluasi": {"score_sheets": PASSING},
    "lolos_evaluasi": {"score_sheets": PASSING, "score": 75.5},
}

# --- Helpers -----------------------------------------------------------------------------------------------------


def case_at(stage: str, policy: CyclePolicy = POLICY, unit: UnitInfo = UNIT, **data: Any) -> CaseData:
    """A case at `stage` as it got there the ordinary way, with TEAM assigned (so the guards under test are the
    others); `penugasan=None` for a case without a team."""
    fields = copy.deepcopy({"penugasan": TEAM} | STAGE_DATA.get(stage, {}) | data)
    return CaseData(year=2024, unit=unit, policy=policy, stage=stage, **fields)


@dataclass
class Try:
    """One attempt: the valid one for `event` unless a field says otherwise."""

    event: str
    stage: str
    who: Actor | None = None
    payload: dict[str, Any] | None = None
    now: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    unit: UnitInfo | None = None
    policy: CyclePolicy | None = None

    def case(self) -> CaseData:
        data = EVENT_DATA.get(self.event, {}) | self.data
        return case_at(self.stage, self.policy or POLICY_FOR.get(self.event, POLICY), self.unit or UNIT, **data)

    def args(self, case: CaseData) -> tuple[Actor, dict[str, Any], datetime]:
        who, payload, now = VALID[self.event]
        timer = next_timer(case)
        when = self.now or now or (timer.at if timer else LATER)
        return self.who or who, copy.deepcopy(self.payload if self.payload is not None else payload), when


def fire(t: Try) -> tuple[CaseData, Transition]:
    case = t.case()
    return case, Lifecycle(case).fire(t.event, *t.args(case), EVIDENCE)


def assert_refused(t: Try, *words: str) -> list[str]:
    """The attempt raises `Refused`, changes nothing, and every reason is a sentence naming `words`."""
    case = t.case()
    actor, payload, now = t.args(case)
    before = case.model_dump()
    with pytest.raises(Refused) as caught:
        Lifecycle(case).fire(t.event, actor, payload, now, EVIDENCE)
    assert case.model_dump() == before, "a refused event changed the case"
    why = caught.value.why
    assert caught.value.event == t.event
    assert why == refused(case, t.event, actor, now, payload, EVIDENCE)
    assert why
    text = " ".join(f"{r.code} {json.dumps(r.params)} {utc(r)} {in_both_languages(r)[1]}" for r in why).lower()
    for word in words:
        assert word.lower() in text, f"{word!r} not in {why}"
    return why


def utc(r: Reason) -> str:
    """The moments a reason names (in the unit's zone), as the tests write them (UTC)."""
    moments = [v for v in r.params.values() if isinstance(v, str) and v[:4].isdigit() and "T" in v]
    return " ".join(datetime.fromisoformat(v).astimezone(UTC).isoformat() for v in moments)


def in_both_languages(r: Reason) -> tuple[str, str]:
    """The reason in Bahasa Indonesia and in English: whole sentences from the catalogue, no placeholder left, no
    stage, event or role identifier where its display name belongs."""
    words = render(r, "id"), render(r, "en")
    for text in words:
        assert text != r.code and len(text.split()) >= 3 and "{" not in text, (r, text)
        for name in ("stage", "event", "role"):
            value = r.params.get(name)
            assert not isinstance(value, str) or "_" not in value or value not in text, (r, text)
    assert words[0] != words[1], r
    return words


def allowed_events(case: CaseData, actor: Actor, now: datetime) -> set[str]:
    return set(view(case, actor, now).allowed)


# --- The machine is the design's machine -------------------------------------------------------------------------


def test_the_transition_table_covers_every_transition_of_the_machine() -> None:
    machine = {(e, s.id, t.target.id) for s in Lifecycle.states for t in s.transitions for e in t.events}
    designed = set(TRANSITIONS) | {
        (e, s, t) for e, ts in EXTRA_TARGETS.items() for s in expected_sources(e) for t in ts
    }
    assert machine == designed
    assert set(EVENTS) == set(ROLE_TABLE) == set(RULES) == set(VALID)
    assert [s.id for s in Lifecycle.states] == STAGES
    assert sorted(FINAL_STAGES) == FINAL


@pytest.mark.parametrize("event", sorted(ROLE_TABLE))
def test_roles_follow_the_design(event: str) -> None:
    assert set(RULES[event].roles) == set(ROLE_TABLE[event])


@pytest.mark.parametrize(("event", "source", "target"), TRANSITIONS, ids=[f"{e}:{s}" for e, s, _ in TRANSITIONS])
def test_a_valid_attempt_moves_the_case(event: str, source: str, target: str) -> None:
    case, entry = fire(Try(event, source))
    assert case.stage == target
    assert (entry.event, entry.source, entry.target, entry.seq, case.seq) == (event, source, target, 1, 1)
    assert entry.actor == VALID[event][0]
    assert case.last_hash == entry.hash == chain_hash(entry.model_dump(mode="json"))


@pytest.mark.parametrize(
    ("event", "stage", "attribute", "expected"),
    [
        ("setujui_permohonan", "permohonan", "jadwal", JADWAL),
        ("jadwal_ulang", "pencanangan_terjadwal", "jadwal", JADWAL + timedelta(days=3)),
        ("buka_pelaporan", "pembangunan", "reporting_deadline", CAL.reporting_closes),
        ("perpanjang", "pelaporan", "reporting_deadline", NEW_DEADLINE),
        ("kembalikan", "verifikasi", "revision_deadline", LATER + REVISION),
        ("nilai", "evaluasi", "score_sheets", PASSING | {"penilai-c": SHEET_B}),
        ("tetapkan_penghargaan", "lolos_evaluasi", "decree", "M.HH-01.HA.01 TAHUN 2024 (2024-12-10)"),
    ],
)
def test_a_transition_records_its_data(event: str, stage: str, attribute: str, expected: Any) -> None:
    case, _ = fire(Try(event, stage))
    assert getattr(case, attribute) == expected


# --- The evaluation result ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sheets", "pass_mark", "score", "target"),
    [
        (PASSING, 75.0, 75.5, "lolos_evaluasi"),
        (PASSING, 75.5, 75.5, "lolos_evaluasi"),  # exactly the pass mark passes
        (PASSING, 75.6, 75.5, "tidak_lolos"),
        ({"penilai-a": SHEET_A, "penilai-b": SHEET_B_LOW}, 75.0, 74.5, "tidak_lolos"),
        ({"penilai-a": SHEET_A, "penilai-b": SHEET_B, "penilai-c": SHEET_B_LOW}, 76.0, 76.33, "lolos_evaluasi"),
    ],
)
def test_tetapkan_hasil_evaluasi_compares_the_weighted_score_with_the_pass_mark(
    sheets: dict[str, dict[str, float]], pass_mark: float, score: float, target: str
) -> None:
    case = case_at("evaluasi", POLICY.model_copy(update={"pass_mark": pass_mark}), score_sheets=sheets)
    entry = Lifecycle(case).fire("tetapkan_hasil_evaluasi", person("ketua_penilai"), {}, LATER)
    assert (case.stage, entry.target, case.score) == (target, target, score)


def test_the_score_uses_the_policy_weights() -> None:
    weights = {"sarana": 1.0, "sdm": 0.0, "kepatuhan": 0.0, "inovasi": 0.0, "integritas": 3.0}
    policy = CyclePolicy(regulation="2023", calendar=CAL, weights=weights, pass_mark=60)
    # A: (100 + 3 * 40) / 4 = 55; B: (80 + 3 * 60) / 4 = 65; mean 60.
    case = case_at("evaluasi", policy)
    Lifecycle(case).fire("tetapkan_hasil_evaluasi", person("ketua_penilai"), {}, LATER)
    assert (case.score, case.stage) == (60.0, "lolos_evaluasi")


# --- Guards, scope and separation of duties -----------------------------------------------------------------------

OTHER_OPERATOR = person("operator_unit", "op-b", unit="KANIM-B")
MEMBER = {"unit": UNIT.code}

REFUSALS: list[tuple[str, Try, tuple[str, ...]]] = [
    (
        "setujui without a Forkopimda witness",
        Try(
            "setujui_permohonan",
            "permohonan",
            payload={"jadwal": JADWAL.isoformat(), "tempat": "Aula", "saksi": DITJEN_WITNESS},
        ),
        ("Forkopimda", "witness"),
    ),
    (
        "setujui without a Ditjen HAM witness",
        Try(
            "setujui_permohonan",
            "permohonan",
            payload={"jadwal": JADWAL.isoformat(), "tempat": "Aula", "saksi": FORKOPIMDA_WITNESS},
        ),
        ("Ditjen HAM", "witness"),
    ),
    (
        "setujui without witnesses",
        Try("setujui_permohonan", "permohonan", payload={"jadwal": JADWAL.isoformat(), "tempat": "Aula", "saksi": []}),
        ("Ditjen HAM", "Forkopimda"),
    ),
    (
        "setujui with a date in the past",
        Try("setujui_permohonan", "permohonan", now=JADWAL + SECOND),
        ("not in the future", JADWAL.isoformat()),
    ),
    (
        "setujui after the cycle ends",
        Try(
            "setujui_permohonan",
            "permohonan",
            payload={"jadwal": (CAL.cycle_ends + SECOND).isoformat(), "tempat": "Aula", "saksi": WITNESSES},
        ),
        ("after the cycle ends", CAL.cycle_ends.isoformat()),
    ),
    ("tolak without a reason", Try("tolak_permohonan", "permohonan", payload={}), ("alasan",)),
    ("tolak with a blank reason", Try("tolak_permohonan", "permohonan", payload={"alasan": "   "}), ("alasan",)),
    (
        "ajukan_ulang after applications close",
        Try("ajukan_ulang", "permohonan_ditolak", now=CAL.applications_close),
        ("deadline passed", CAL.applications_close.isoformat()),
    ),
    (
        "ajukan_ulang by another unit's operator",
        Try("ajukan_ulang", "permohonan_ditolak", who=OTHER_OPERATOR),
        ("KANIM-B", "KANIM-A"),
    ),
    (
        "jadwal_ulang to a past date",
        Try("jadwal_ulang", "pencanangan_terjadwal", payload={"jadwal": EARLY.isoformat(), "alasan": "x"}),
        ("not in the future",),
    ),
    (
        "jadwal_ulang by another region's kanwil",
        Try("jadwal_ulang", "pencanangan_terjadwal", who=person("kanwil", region="KANWIL-JATIM")),
        ("KANWIL-JATIM", "KANWIL-DKI"),
    ),
    (
        "deklarasikan before the scheduled time",
        Try("deklarasikan", "pencanangan_terjadwal", now=JADWAL - SECOND),
        ("scheduled", JADWAL.isoformat()),
    ),
    (
        "deklarasikan without a Forkopimda witness present",
        Try("deklarasikan", "pencanangan_terjadwal", payload={"saksi_hadir": DITJEN_WITNESS}),
        ("Forkopimda",),
    ),
    (
        "deklarasikan without a Ditjen HAM witness present",
        Try("deklarasikan", "pencanangan_terjadwal", payload={"saksi_hadir": FORKOPIMDA_WITNESS}),
        ("Ditjen HAM",),
    ),
    (
        "deklarasikan by another region's kanwil",
        Try("deklarasikan", "pencanangan_terjadwal", who=person("kanwil", region="KANWIL-JATIM")),
        ("KANWIL-JATIM", "KANWIL-DKI"),
    ),
    ("tandatangani without a document", Try("tandatangani_pernyataan", "dicanangkan", payload={}), ("dokumen",)),
    (
        "tandatangani by another unit's head",
        Try("tandatangani_pernyataan", "dicanangkan", who=person("kepala_unit", unit="KANIM-B")),
        ("KANIM-B", "KANIM-A"),
    ),
    (
        "kirim_rencana without an action for an indicator not met",
        Try(
            "kirim_rencana",
            "pembangunan",
            payload={"indikator": [*PLAN[:2], {**PLAN[2], "alternatif": None}, *PLAN[3:]]},
        ),
        ("sarana.3", "planned action", "alternative"),
    ),
    (
        "kirim_rencana without who is responsible and by when",
        Try(
            "kirim_rencana",
            "dicanangkan",
            payload={
                "indikator": [
                    *PLAN[:2],
                    {"kode": "sarana.3", "keadaan": "Proses", "tindakan": "bangun ramp"},
                    *PLAN[3:],
                ]
            },
        ),
        ("sarana.3", "responsible", "target date"),
    ),
    (
        "kirim_rencana with a target date in the past",
        Try("kirim_rencana", "pembangunan", now=TARGET + SECOND),
        ("sarana.3", "has passed", TARGET.isoformat()),
    ),
    (
        "kirim_rencana with a target date after the cycle ends",
        Try(
            "kirim_rencana",
            "pembangunan",
            payload={"indikator": [*PLAN[:2], {**PLAN[2], "target": (CAL.cycle_ends + SECOND).isoformat()}, *PLAN[3:]]},
        ),
        ("sarana.3", "after the cycle ends", CAL.cycle_ends.isoformat()),
    ),
    (
        "kirim_rencana with a state off the scale and an indicator left out",
        Try("kirim_rencana", "pembangunan", payload={"indikator": [{**PLAN[0], "keadaan": "Sebagian"}, *PLAN[2:]]}),
        ("Sebagian", "sarana.2", "not answered"),
    ),
    (
        "kirim_rencana by another unit's operator",
        Try("kirim_rencana", "pembangunan", who=OTHER_OPERATOR),
        ("KANIM-B", "KANIM-A"),
    ),
    (
        "tanggapi_rencana before a plan was sent",
        Try("tanggapi_rencana", "pembangunan", data={"rencana": None, "rencana_status": None}),
        ("not sent an action plan",),
    ),
    (
        "tanggapi_rencana twice to the same plan",
        Try("tanggapi_rencana", "pembangunan", data={"rencana_status": "diterima"}),
        ("already been answered",),
    ),
    (
        "tanggapi_rencana returning it without a note",
        Try("tanggapi_rencana", "pembangunan", payload={"keputusan": "perbaiki"}),
        ("what must be revised",),
    ),
    (
        "tanggapi_rencana with a note on an indicator not in the catalogue",
        Try("tanggapi_rencana", "pembangunan", payload={"keputusan": "perbaiki", "indikator": {"sarana.99": "x"}}),
        ("sarana.99", "not in the criteria catalogue"),
    ),
    (
        "tanggapi_rencana by another region's kanwil",
        Try("tanggapi_rencana", "dicanangkan", who=person("kanwil", region="KANWIL-JATIM")),
        ("KANWIL-JATIM", "KANWIL-DKI"),
    ),
    (
        "kirim_laporan with an unanswered indicator",
        Try("kirim_laporan", "pelaporan", payload={"indikator": REPORT[1:]}),
        ("sarana.1", "not answered"),
    ),
    (
        "kirim_laporan with an unknown indicator",
        Try("kirim_laporan", "pelaporan", payload={"indikator": [*REPORT, {"kode": "sarana.99", "nilai": "Ada"}]}),
        ("sarana.99", "not in the criteria catalogue"),
    ),
    (
        "kirim_laporan with a value off the scale",
        Try("kirim_laporan", "pelaporan", payload={"indikator": [{**REPORT[0], "nilai": "Lengkap"}, *REPORT[1:]]}),
        ("Lengkap", "not on the scale", "Ada / Proses / Tidak"),
    ),
    (
        "kirim_laporan reusing a photo across criteria (policy.evidence.unique_across_criteria)",
        Try("kirim_laporan", "pelaporan", payload={"indikator": [{**a, "bukti": ["foto-sarana-0"]} for a in REPORT]}),
        ("foto-sarana-0", "sarana", "integritas"),
    ),
    (
        "kirim_laporan with too few photos for a criterion",
        Try("kirim_laporan", "pelaporan", payload={"indikator": [{**a, "bukti": a["bukti"][:2]} for a in REPORT]}),
        ("public service innovation", "2 photos", "at least 3"),
    ),
    (
        "kirim_laporan with a file that was never uploaded",
        Try(
            "kirim_laporan", "pelaporan", payload={"indikator": [{**REPORT[0], "bukti": ["foto-hilang"]}, *REPORT[1:]]}
        ),
        ("foto-hilang", "has not been uploaded"),
    ),
    (
        "kirim_laporan counting a PDF as a photo",
        Try("kirim_laporan", "pelaporan", payload={"indikator": [{**REPORT[0], "bukti": [STATEMENT]}, *REPORT[1:]]}),
        ("sarana", "0 photos"),
    ),
    (
        "tandatangani with a statement that was never uploaded",
        Try("tandatangani_pernyataan", "dicanangkan", payload={"dokumen": "pernyataan-lain"}),
        ("pernyataan-lain", "has not been uploaded"),
    ),
    (
        "kirim_laporan answering an indicator twice",
        Try("kirim_laporan", "pelaporan", payload={"indikator": [*REPORT, REPORT[0]]}),
        ("more than once",),
    ),
    (
        "kirim_laporan with another unit kind's catalogue",
        Try("kirim_laporan", "pelaporan", who=person("operator_unit", unit=PRISON.code), unit=PRISON),
        ("sarana.12", "not in the criteria catalogue"),
    ),
    (
        "kirim_laporan at the reporting deadline",
        Try("kirim_laporan", "pelaporan", now=CAL.reporting_closes),
        ("deadline passed", CAL.reporting_closes.isoformat()),
    ),
    ("kirim_laporan by another unit's operator", Try("kirim_laporan", "pelaporan", who=OTHER_OPERATOR), ("KANIM-B",)),
    (
        "kirim_perbaikan at the revision deadline",
        Try("kirim_perbaikan", "perbaikan", now=LATER + REVISION),
        ("deadline passed", (LATER + REVISION).isoformat()),
    ),
    (
        "kirim_perbaikan incomplete",
        Try("kirim_perbaikan", "perbaikan", payload={"indikator": REPORT[:-1]}),
        ("not answered",),
    ),
    (
        "kirim_perbaikan by another unit's operator",
        Try("kirim_perbaikan", "perbaikan", who=OTHER_OPERATOR),
        ("KANIM-B",),
    ),
    (
        "perpanjang to an earlier deadline",
        Try(
            "perpanjang",
            "pelaporan",
            payload={"batas_baru": (CAL.reporting_closes - SECOND).isoformat(), "alasan": "x"},
        ),
        ("later than the current", CAL.reporting_closes.isoformat()),
    ),
    (
        "perpanjang not later than an extension already given",
        Try("perpanjang", "pelaporan", data={"reporting_deadline": NEW_DEADLINE + SECOND}),
        ("later than the current", (NEW_DEADLINE + SECOND).isoformat()),
    ),
    (
        "perpanjang beyond the cycle",
        Try("perpanjang", "pelaporan", payload={"batas_baru": (CAL.cycle_ends + SECOND).isoformat(), "alasan": "x"}),
        ("after the cycle ends",),
    ),
    (
        "perpanjang without a reason",
        Try("perpanjang", "pelaporan", payload={"batas_baru": NEW_DEADLINE.isoformat()}),
        ("alasan",),
    ),
    ("kembalikan without a note", Try("kembalikan", "verifikasi", payload={}), ("catatan",)),
    (
        "kembalikan by a verifikator of the unit",
        Try("kembalikan", "verifikasi", who=person("verifikator", **MEMBER)),
        ("conflict of interest", "KANIM-A"),
    ),
    (
        "lolos_verifikasi by a verifikator of the unit",
        Try("lolos_verifikasi", "verifikasi", who=person("verifikator", **MEMBER)),
        ("conflict of interest",),
    ),
    (
        "lolos_verifikasi with unknown fields",
        Try("lolos_verifikasi", "verifikasi", payload={"x": 1}),
        ("x", "isian.tidak_dikenal"),
    ),
    ("tidak_lolos_verifikasi without a reason", Try("tidak_lolos_verifikasi", "verifikasi", payload={}), ("alasan",)),
    (
        "tidak_lolos_verifikasi by a verifikator of the unit",
        Try("tidak_lolos_verifikasi", "verifikasi", who=person("verifikator", **MEMBER)),
        ("conflict of interest",),
    ),
    (
        "tugaskan with the head of the team among its assessors",
        Try("tugaskan", "verifikasi", payload=TEAM | {"ketua_penilai": "penilai-a"}),
        ("penugasan.ketua_juga_penilai",),
    ),
    ("tugaskan with one assessor", Try("tugaskan", "evaluasi", payload=TEAM | {"penilai": ["p-1"]}), ("penilai",)),
    (
        "kembalikan by a verifikator not on the team",
        Try("kembalikan", "verifikasi", who=person("verifikator", "verifikator-9")),
        ("penugasan.bukan_verifikator",),
    ),
    (
        "lolos_verifikasi before any team is assigned",
        Try("lolos_verifikasi", "verifikasi", data={"penugasan": None}),
        ("penugasan.bukan_verifikator",),
    ),
    (
        "kembalikan by a verifikator of the unit's parent",
        Try(
            "kembalikan",
            "verifikasi",
            who=person("verifikator", unit="KANWIL-DKI-UNIT"),
            unit=UNIT.model_copy(update={"parent": "KANWIL-DKI-UNIT"}),
        ),
        ("penugasan.unit_induk",),
    ),
    (
        "nilai by a penilai not on the team",
        Try("nilai", "evaluasi", who=person("penilai", "penilai-9")),
        ("penugasan.bukan_penilai",),
    ),
    (
        "tetapkan_hasil_evaluasi by a ketua not on the team",
        Try("tetapkan_hasil_evaluasi", "evaluasi", who=person("ketua_penilai", "ketua-9")),
        ("penugasan.bukan_ketua_penilai",),
    ),
    (
        "nilai by a penilai of the unit",
        Try("nilai", "evaluasi", who=person("penilai", "penilai-x", **MEMBER)),
        ("conflict of interest",),
    ),
    ("nilai a second sheet by the same assessor", Try("nilai", "evaluasi", who=PENILAI_A), ("already", "one sheet")),
    (
        "nilai with a criterion missing",
        Try("nilai", "evaluasi", payload={"skor": {k: 80 for k in SHEET_A if k != "integritas"}}),
        ("skor_kriteria_kurang", "integritas"),
    ),
    (
        "nilai with an unknown criterion",
        Try("nilai", "evaluasi", payload={"skor": SHEET_A | {"kebersihan": 80}}),
        ("unknown", "kebersihan"),
    ),
    ("nilai above 100", Try("nilai", "evaluasi", payload={"skor": SHEET_A | {"sarana": 101}}), ("sarana", "100")),
    ("nilai below 0", Try("nilai", "evaluasi", payload={"skor": SHEET_A | {"sdm": -1}}), ("sdm", "0")),
    (
        "tetapkan_hasil_evaluasi by a ketua of the unit",
        Try("tetapkan_hasil_evaluasi", "evaluasi", who=person("ketua_penilai", **MEMBER)),
        ("conflict of interest",),
    ),
    (
        "tetapkan_hasil_evaluasi by a ketua who scored",
        Try("tetapkan_hasil_evaluasi", "evaluasi", who=person("ketua_penilai", "penilai-a")),
        ("scored this case yourself",),
    ),
    (
        "tetapkan_hasil_evaluasi after one sheet",
        Try("tetapkan_hasil_evaluasi", "evaluasi", data={"score_sheets": {"penilai-a": SHEET_A}}),
        ("two assessors", "four eyes", "1 have scored"),
    ),
    (
        "tetapkan_hasil_evaluasi before any sheet",
        Try("tetapkan_hasil_evaluasi", "evaluasi", data={"score_sheets": {}}),
        ("two assessors", "0 have scored"),
    ),
    (
        "tetapkan_penghargaan without a decree number",
        Try("tetapkan_penghargaan", "lolos_evaluasi", payload={"tanggal": "2024-12-10"}),
        ("nomor_keputusan",),
    ),
    (
        "tetapkan_penghargaan without a date",
        Try("tetapkan_penghargaan", "lolos_evaluasi", payload={"nomor_keputusan": "M.HH-01"}),
        ("tanggal",),
    ),
    ("cabut without a reason", Try("cabut", "berpredikat", payload={"alasan": ""}), ("alasan",)),
    ("batalkan without a reason", Try("batalkan", "pembangunan", payload={}), ("alasan",)),
    (
        "batalkan by another unit's operator",
        Try("batalkan", "permohonan", who=OTHER_OPERATOR),
        ("KANIM-B", "KANIM-A"),
    ),
]


@pytest.mark.parametrize(("t", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_guard_refuses_with_a_reason_and_changes_nothing(t: Try, words: tuple[str, ...]) -> None:
    assert_refused(t, *words)


def test_every_guarded_event_has_a_refusal_case() -> None:
    guarded = {e for e, rule in RULES.items() if rule.who or rule.guards or rule.checks or rule.payload.model_fields}
    assert guarded - set(SYSTEM_EVENTS) <= {t.event for _, t, _ in REFUSALS}


@pytest.mark.parametrize(
    ("event", "role"),
    [(e, r) for e in sorted(ROLE_TABLE) for r in ALL_ROLES if r not in ROLE_TABLE[e]],
)
def test_a_role_not_in_the_table_is_refused(event: str, role: str) -> None:
    source = expected_sources(event)[0]
    if ROLE_TABLE[event] == ("system",):
        assert assert_refused(Try(event, source, who=person(role))) == [reason("dikirim_kalender", event=event)]
    else:
        expected = reason("peran_salah", event=event, roles=list(ROLE_TABLE[event]), role=role)
        assert assert_refused(Try(event, source, who=person(role))) == [expected]


@pytest.mark.parametrize("event", sorted(ROLE_TABLE))
def test_the_wrong_stage_names_the_stages_where_the_event_is_possible(event: str) -> None:
    sources = expected_sources(event)
    for stage in STAGES:
        if stage not in sources:
            expected = reason("tahap_salah", event=event, stages=sources, stage=stage)
            assert assert_refused(Try(event, stage)) == [expected]


def test_an_unknown_event_is_refused() -> None:
    assert forbidden(case_at("permohonan"), "setujui", person("ditjen_ham")) == [
        reason("peristiwa_tidak_dikenal", nama="setujui")
    ]
    with pytest.raises(Refused):
        Lifecycle(case_at("permohonan")).fire("setujui", person("ditjen_ham"), {}, EARLY)


@pytest.mark.parametrize("stage", NON_FINAL)
@pytest.mark.parametrize("role", ["operator_unit", "admin"])
def test_batalkan_by_an_operator_only_before_reporting_by_an_admin_always(role: str, stage: str) -> None:
    t = Try("batalkan", stage, who=person(role))
    if role == "admin" or stage in BEFORE_REPORTING:
        assert fire(t)[0].stage == "dibatalkan"
    else:
        assert_refused(t, "before reporting", "admin")


@pytest.mark.parametrize("stage", FINAL)
def test_a_final_stage_allows_nothing(stage: str) -> None:
    case = case_at(stage)
    for role in ALL_ROLES:
        shown = view(case, person(role), FAR_FUTURE)
        assert shown.final and shown.allowed == [] and set(shown.refused_codes) == set(EVENTS), role
    assert_refused(Try("batalkan", stage), "tahap_salah")


# --- The calendar's events ---------------------------------------------------------------------------------------

SYSTEM_MOMENTS: list[tuple[str, str, CyclePolicy, dict[str, Any], datetime]] = [
    ("tutup_permohonan", "permohonan_ditolak", POLICY, {}, CAL.applications_close),
    ("buka_pelaporan", "pembangunan", POLICY, {}, CAL.reporting_opens),
    ("tutup_pelaporan", "pelaporan", POLICY, {}, CAL.reporting_closes),
    ("tutup_perbaikan", "perbaikan", POLICY, {}, LATER + REVISION),
    ("akhiri_transisi", "pembangunan", TRANSITION_YEAR, {}, CAL.cycle_ends),
    ("akhiri_masa_berlaku", "berpredikat", POLICY, {}, CAL.award_valid_until),
]


def test_every_system_event_has_a_moment() -> None:
    assert sorted(row[0] for row in SYSTEM_MOMENTS) == SYSTEM_EVENTS


@pytest.mark.parametrize(("event", "stage", "policy", "data", "moment"), SYSTEM_MOMENTS)
def test_the_calendar_sends_its_event_at_its_moment_and_not_before(
    event: str, stage: str, policy: CyclePolicy, data: dict[str, Any], moment: datetime
) -> None:
    case = case_at(stage, policy, **data)
    assert next_timer(case) == Timer(event, moment)
    local = moment.astimezone(UNIT.tz).isoformat()
    assert refused(case, event, SYSTEM, moment - SECOND, {}) == [
        reason("kalender_belum_waktunya", event=event, pada=local)
    ]
    assert refused(case, event, SYSTEM, moment, {}) == []
    assert refused(case, event, SYSTEM, moment + timedelta(days=1), {}) == []
    target = expected_targets(event)[0]
    assert Lifecycle(case).fire(event, SYSTEM, {}, moment).target == case.stage == target


@pytest.mark.parametrize("now", [CAL.reporting_opens, CAL.cycle_ends, FAR_FUTURE])
def test_a_transition_year_never_opens_reporting_and_ends_at_cycle_end(now: datetime) -> None:
    case = case_at("pembangunan", TRANSITION_YEAR)
    assert_refused(Try("buka_pelaporan", "pembangunan", now=now, policy=TRANSITION_YEAR), "no reporting stage")
    assert allowed_events(case, SYSTEM, now) == ({"akhiri_transisi"} if now >= CAL.cycle_ends else set())
    assert allowed_events(case, SYSTEM, CAL.cycle_ends - SECOND) == set()
    assert allowed_events(case, SYSTEM, CAL.cycle_ends) == {"akhiri_transisi"}


@pytest.mark.parametrize("now", [CAL.cycle_ends, FAR_FUTURE])
def test_a_cycle_with_reporting_never_ends_as_a_transition_year(now: datetime) -> None:
    case = case_at("pembangunan")
    assert reason("siklus_dengan_pelaporan") in refused(case, "akhiri_transisi", SYSTEM, now)
    assert allowed_events(case, SYSTEM, now) == {"buka_pelaporan"}


@pytest.mark.parametrize(
    ("stage", "policy", "data", "expected"),
    [
        ("permohonan", POLICY, {}, None),
        ("permohonan_ditolak", POLICY, {}, Timer("tutup_permohonan", CAL.applications_close)),
        ("pencanangan_terjadwal", POLICY, {}, None),
        ("dicanangkan", POLICY, {}, None),
        ("pembangunan", POLICY, {}, Timer("buka_pelaporan", CAL.reporting_opens)),
        ("pembangunan", TRANSITION_YEAR, {}, Timer("akhiri_transisi", CAL.cycle_ends)),
        ("pelaporan", POLICY, {}, Timer("tutup_pelaporan", CAL.reporting_closes)),
        ("pelaporan", POLICY, {"reporting_deadline": NEW_DEADLINE}, Timer("tutup_pelaporan", NEW_DEADLINE)),
        ("pelaporan", POLICY, {"reporting_deadline": None}, Timer("tutup_pelaporan", CAL.reporting_closes)),
        ("verifikasi", POLICY, {}, None),
        ("perbaikan", POLICY, {}, Timer("tutup_perbaikan", LATER + REVISION)),
        ("perbaikan", POLICY, {"revision_deadline": None}, None),
        ("evaluasi", POLICY, {}, None),
        ("lolos_evaluasi", POLICY, {}, None),
        ("berpredikat", POLICY, {}, Timer("akhiri_masa_berlaku", CAL.award_valid_until)),
    ]
    + [(stage, POLICY, {}, None) for stage in FINAL],
)
def test_next_timer_per_stage(stage: str, policy: CyclePolicy, data: dict[str, Any], expected: Timer | None) -> None:
    case = case_at(stage, policy, **data)
    assert next_timer(case) == expected
    assert view(case, SYSTEM, EARLY).deadline == (expected.at if expected else None)


# --- Deadlines that officials move --------------------------------------------------------------------------------


def test_perpanjang_moves_the_reporting_deadline() -> None:
    case, _ = fire(Try("perpanjang", "pelaporan"))
    assert case.reporting_deadline == NEW_DEADLINE
    assert next_timer(case) == Timer("tutup_pelaporan", NEW_DEADLINE)
    operator, after_old_deadline = person("operator_unit"), CAL.reporting_closes + timedelta(days=1)
    assert refused(case, "kirim_laporan", operator, after_old_deadline, {"indikator": REPORT}, EVIDENCE) == []
    assert refused(case, "tutup_pelaporan", SYSTEM, after_old_deadline) != []
    assert refused(case, "tutup_pelaporan", SYSTEM, NEW_DEADLINE) == []


@pytest.mark.parametrize(
    ("policy", "now"),
    [
        (POLICY, LATER),
        (CyclePolicy(regulation="2023", calendar=compressed_calendar(T0, timedelta(seconds=1))), T0 + SECOND),
    ],
)
def test_kembalikan_gives_a_revision_deadline_of_now_plus_the_revision_period(
    policy: CyclePolicy, now: datetime
) -> None:
    case = case_at("verifikasi", policy)
    Lifecycle(case).fire("kembalikan", person("verifikator"), {"catatan": "foto ramp buram"}, now)
    deadline = now + policy.calendar.revision_period
    assert (case.stage, case.revision_deadline) == ("perbaikan", deadline)
    assert next_timer(case) == Timer("tutup_perbaikan", deadline)
    report = {"indikator": REPORT}
    assert refused(case, "kirim_perbaikan", person("operator_unit"), deadline - SECOND, report, EVIDENCE) == []
    assert refused(case, "kirim_perbaikan", person("operator_unit"), deadline, report, EVIDENCE) != []


# --- Whole cases, from the application on, and their hash chain ---------------------------------------------------

PATHS: dict[str, list[tuple[str, Actor | None]]] = {
    "award with a revision": [
        ("setujui_permohonan", None),
        ("deklarasikan", None),
        ("tandatangani_pernyataan", None),
        ("buka_pelaporan", None),
        ("tugaskan", None),
        ("kirim_laporan", None),
        ("kembalikan", None),
        ("kirim_perbaikan", None),
        ("lolos_verifikasi", None),
        ("nilai", PENILAI_A),
        ("nilai", PENILAI_B),
        ("tetapkan_hasil_evaluasi", None),
        ("tetapkan_penghargaan", None),
        ("akhiri_masa_berlaku", None),
    ],
    "transition year": [
        ("setujui_permohonan", None),
        ("jadwal_ulang", None),
        ("deklarasikan", person("kanwil", "kakanwil-2")),
        ("tandatangani_pernyataan", None),
        ("akhiri_transisi", None),
    ],
    "rejected, reapplied, cancelled": [
        ("tolak_permohonan", None),
        ("ajukan_ulang", None),
        ("batalkan", person("operator_unit")),
    ],
}
PATH_ENDS = {"award with a revision": "selesai", "transition year": "transisi_selesai"}


def drive(name: str) -> tuple[CaseData, list[Transition]]:
    policy = TRANSITION_YEAR if name == "transition year" else POLICY
    case = CaseData(year=2024, unit=UNIT, policy=policy)
    machine, first = start(case, person("operator_unit"), "mohon dicanangkan", T0)
    entries = [first]
    for event, who in PATHS[name]:
        actor, payload, now = Try(event, case.stage or "", who=who).args(case)
        if event == "deklarasikan":
            now = case.jadwal or now
        entries.append(machine.fire(event, actor, payload, now, EVIDENCE))
    return case, entries


@pytest.mark.parametrize("name", sorted(PATHS))
def test_a_case_driven_from_its_application(name: str) -> None:
    case, entries = drive(name)
    assert [(e.event, e.seq) for e in entries] == [
        (e, i) for i, e in enumerate(["ajukan"] + [e for e, _ in PATHS[name]], 1)
    ]
    assert (entries[0].source, entries[0].target, entries[0].payload) == (
        None,
        "permohonan",
        {"catatan": "mohon dicanangkan"},
    )
    assert [e.source for e in entries[1:]] == [e.target for e in entries[:-1]]
    assert case.stage == entries[-1].target == PATH_ENDS.get(name, "dibatalkan")
    assert case.seq == len(entries)


@pytest.mark.parametrize("name", sorted(PATHS))
def test_each_record_chains_to_the_previous_hash(name: str) -> None:
    case, entries = drive(name)
    assert entries[0].prev_hash == ""
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == previous.hash
    for entry in entries:
        assert entry.hash == chain_hash(entry.model_dump(mode="json"))
    assert len({e.hash for e in entries}) == len(entries)
    assert case.last_hash == entries[-1].hash


@pytest.mark.parametrize(
    "change",
    [
        {"event": "cabut"},
        {"target": "dicabut"},
        {"seq": 99},
        {"at": "2024-01-02T00:00:00Z"},
        {"payload": {"alasan": "diubah"}},
        {"actor": {"sub": "someone-else", "name": "", "role": "admin", "unit": None, "region": None}},
        {"prev_hash": "0" * 64},
    ],
)
def test_an_altered_entry_has_another_hash(change: dict[str, Any]) -> None:
    _, entries = drive("rejected, reapplied, cancelled")
    entry = entries[1].model_dump(mode="json")
    assert chain_hash(entry) == entry["hash"] == chain_hash(entry | {"hash": "ignored"})
    assert chain_hash(entry | change) != entry["hash"]


def test_a_refused_event_writes_no_record() -> None:
    case = CaseData(year=2024, unit=UNIT, policy=POLICY)
    machine, _ = start(case, person("operator_unit"), None, T0)
    before = case.model_dump()
    approval = {"jadwal": JADWAL.isoformat(), "tempat": "Aula", "saksi": DITJEN_WITNESS}
    with pytest.raises(Refused, match="saksi_kurang"):
        machine.fire("setujui_permohonan", person("ditjen_ham"), approval, EARLY)
    with pytest.raises(Refused, match="tahap_salah"):
        machine.fire("deklarasikan", person("kanwil"), {"saksi_hadir": WITNESSES}, JADWAL)
    assert case.model_dump() == before
    assert machine.fire("tolak_permohonan", person("ditjen_ham"), {"alasan": "belum lengkap"}, EARLY).seq == 2


# --- The application ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "now", "forbidden_words", "refused_words"),
    [
        (person("operator_unit"), EARLY, None, None),
        (person("operator_unit"), CAL.applications_close, None, "permohonan_ditutup"),
        (person("operator_unit", unit="KANIM-B"), EARLY, "bukan_unit_anda", None),
        (person("kepala_unit"), EARLY, "peran_salah", None),
        (person("admin"), EARLY, "peran_salah", None),
    ],
)
def test_application_refused(
    actor: Actor, now: datetime, forbidden_words: str | None, refused_words: str | None
) -> None:
    no, not_now = application_refused(POLICY, UNIT.code, actor, now)
    assert [r.code for r in no] == ([forbidden_words] if forbidden_words else [])
    assert [r.code for r in not_now] == ([refused_words] if refused_words else [])


# --- What may I do now? --------------------------------------------------------------------------------------------

VIEWS: list[tuple[str, Actor, datetime, dict[str, Any], set[str]]] = [
    ("permohonan", person("ditjen_ham"), EARLY, {}, {"setujui_permohonan", "tolak_permohonan"}),
    ("permohonan", person("operator_unit"), EARLY, {}, {"batalkan"}),
    ("permohonan", person("operator_unit", unit="KANIM-B"), EARLY, {}, set()),
    ("permohonan", person("admin"), EARLY, {}, {"batalkan"}),
    ("permohonan", person("auditor"), EARLY, {}, set()),
    ("permohonan_ditolak", person("operator_unit"), EARLY, {}, {"ajukan_ulang", "batalkan"}),
    ("permohonan_ditolak", person("operator_unit"), CAL.applications_close, {}, {"batalkan"}),
    ("permohonan_ditolak", SYSTEM, CAL.applications_close, {}, {"tutup_permohonan"}),
    ("pencanangan_terjadwal", person("kanwil"), JADWAL - SECOND, {}, {"jadwal_ulang"}),
    ("pencanangan_terjadwal", person("kanwil"), JADWAL, {}, {"jadwal_ulang", "deklarasikan"}),
    ("pencanangan_terjadwal", person("kanwil", region="KANWIL-JATIM"), JADWAL, {}, set()),
    ("pencanangan_terjadwal", person("ditjen_ham"), JADWAL, {}, {"jadwal_ulang"}),
    ("dicanangkan", person("kepala_unit"), JADWAL, {}, {"tandatangani_pernyataan"}),
    ("pembangunan", SYSTEM, CAL.reporting_opens - SECOND, {}, set()),
    ("pelaporan", person("operator_unit"), IN_REPORTING, {}, {"kirim_laporan"}),
    ("pelaporan", person("ditjen_ham"), IN_REPORTING, {}, {"perpanjang", "tugaskan"}),
    ("pelaporan", person("admin"), IN_REPORTING, {}, {"batalkan"}),
    ("verifikasi", person("verifikator"), LATER, {}, {"kembalikan", "lolos_verifikasi", "tidak_lolos_verifikasi"}),
    ("verifikasi", person("verifikator", **MEMBER), LATER, {}, set()),
    ("verifikasi", person("verifikator", "verifikator-9"), LATER, {}, set()),  # not on the team
    ("verifikasi", person("verifikator"), LATER, {"penugasan": None}, set()),  # no team yet
    ("verifikasi", person("ditjen_ham"), LATER, {}, {"tugaskan"}),
    ("perbaikan", person("operator_unit"), LATER, {}, {"kirim_perbaikan"}),
    ("evaluasi", person("penilai", "penilai-c"), LATER, {}, {"nilai"}),
    ("evaluasi", PENILAI_A, LATER, {}, set()),
    ("evaluasi", person("ketua_penilai"), LATER, {}, {"tetapkan_hasil_evaluasi"}),
    ("evaluasi", person("ketua_penilai"), LATER, {"score_sheets": {"penilai-a": SHEET_A}}, set()),
    ("lolos_evaluasi", person("ditjen_ham"), LATER, {}, {"tetapkan_penghargaan"}),
    ("berpredikat", person("ditjen_ham"), LATER, {}, {"cabut"}),
    ("berpredikat", SYSTEM, CAL.award_valid_until, {}, {"akhiri_masa_berlaku"}),
]


@pytest.mark.parametrize(
    ("stage", "actor", "now", "data", "expected"), VIEWS, ids=[f"{v[0]}:{v[1].role}:{i}" for i, v in enumerate(VIEWS)]
)
def test_view_lists_exactly_the_allowed_events_and_why_not_the_others(
    stage: str, actor: Actor, now: datetime, data: dict[str, Any], expected: set[str]
) -> None:
    case = case_at(stage, **data)
    before = case.model_dump()
    shown = view(case, actor, now)
    assert case.model_dump() == before
    assert set(shown.allowed) == expected
    assert set(shown.refused_codes) == set(EVENTS) - expected
    for event, why in shown.refused_codes.items():
        assert why and all(in_both_languages(r) for r in why), (event, why)
    assert (shown.stage, shown.unit, shown.year, shown.final) == (stage, UNIT.code, 2024, False)


@pytest.mark.parametrize(
    ("stage", "actor", "now", "data", "waiting"),
    [
        # A next step waits; a way out (cancel) does not put the case on anyone's worklist.
        ("permohonan", person("operator_unit"), EARLY, {}, []),
        ("permohonan", person("ditjen_ham"), EARLY, {}, ["setujui_permohonan", "tolak_permohonan"]),
        ("pencanangan_terjadwal", person("ditjen_ham"), EARLY, {}, []),  # rescheduling: an option
        ("pelaporan", person("operator_unit"), IN_REPORTING, {}, ["kirim_laporan"]),
        # The team waits to be assigned where there is none; once there, changing it (or extending) is an option.
        ("pelaporan", person("ditjen_ham"), IN_REPORTING, {"penugasan": None}, ["tugaskan"]),
        ("pelaporan", person("ditjen_ham"), IN_REPORTING, {}, []),
        # The plan waits until sent, and again when the Kanwil returns it; then the Kanwil's answer waits.
        ("pembangunan", person("operator_unit"), EARLY, {}, ["kirim_rencana"]),
        ("pembangunan", person("operator_unit"), EARLY, SENT_PLAN, []),
        ("pembangunan", person("kanwil"), EARLY, SENT_PLAN, ["tanggapi_rencana"]),
        ("pembangunan", person("operator_unit"), EARLY, SENT_PLAN | {"rencana_status": "perbaiki"}, ["kirim_rencana"]),
        ("pembangunan", person("operator_unit"), EARLY, SENT_PLAN | {"rencana_status": "diterima"}, []),
        ("berpredikat", person("ditjen_ham"), LATER, {}, []),  # revoking: an option
    ],
)
def test_what_waits_is_the_next_step_not_every_option(
    stage: str, actor: Actor, now: datetime, data: dict[str, Any], waiting: list[str]
) -> None:
    shown = view(case_at(stage, **data), actor, now)
    assert shown.waiting == waiting and set(shown.waiting) <= set(shown.allowed), shown


def test_view_explains_a_guard_to_the_official() -> None:
    shown = view(case_at("pencanangan_terjadwal"), person("kanwil"), JADWAL - SECOND)
    assert shown.refused_codes["deklarasikan"] == [
        reason("pencanangan_belum_waktunya", jadwal=JADWAL.astimezone(UNIT.tz).isoformat())
    ]
    assert shown.refused_codes["setujui_permohonan"] == [
        reason("peran_salah", event="setujui_permohonan", roles=["ditjen_ham"], role="kanwil")
    ]
    too_late = view(case_at("dicanangkan"), person("kanwil"), JADWAL)
    assert too_late.refused_codes["deklarasikan"] == [
        reason("tahap_salah", event="deklarasikan", stages=["pencanangan_terjadwal"], stage="dicanangkan")
    ]


# A sample of the refusals above, word for word in both languages, so a reviewer reads what an official reads.
WORD_FOR_WORD = [
    (
        Try(
            "setujui_permohonan",
            "permohonan",
            payload={"jadwal": JADWAL.isoformat(), "tempat": "Aula", "saksi": DITJEN_WITNESS},
        ),
        "Pencanangan memerlukan saksi dari unsur Forkopimda. Tambahkan saksi Forkopimda lalu ajukan kembali.",
        "The pencanangan needs a witness from Forkopimda. Add a Forkopimda witness and send it again.",
    ),
    (
        Try("setujui_permohonan", "permohonan", who=person("kepala_unit")),
        "Langkah “Setujui permohonan” dilakukan oleh Ditjen HAM; Anda masuk sebagai Kepala unit.",
        "The step “Approve the application” is taken by Ditjen HAM (Directorate General of Human Rights); "
        "you are signed in as Head of unit.",
    ),
    (
        Try("tetapkan_penghargaan", "permohonan"),
        "Langkah “Tetapkan predikat” hanya dapat dilakukan pada tahap Lolos evaluasi; kasus ini berada pada tahap "
        "Permohonan.",
        "The step “Grant the award” can be taken only at the stage Passed evaluation; this case is at the stage "
        "Application.",
    ),
    (
        Try("tetapkan_hasil_evaluasi", "evaluasi", data={"score_sheets": {"penilai-a": SHEET_A}}),
        "Paling sedikit dua penilai harus memberi nilai terlebih dahulu (prinsip empat mata); sejauh ini 1 penilai "
        "sudah memberi nilai.",
        "At least two assessors must score first (four eyes); 1 have scored so far.",
    ),
]


@pytest.mark.parametrize(("t", "indonesian", "english"), WORD_FOR_WORD)
def test_a_refusal_word_for_word_in_bahasa_indonesia_and_english(t: Try, indonesian: str, english: str) -> None:
    [why] = assert_refused(t)
    assert in_both_languages(why) == (indonesian, english)


# --- The machine as data -----------------------------------------------------------------------------------------


def test_describe_lists_states_final_states_and_events() -> None:
    described = describe()
    assert described["initial"] == "permohonan"
    assert described["states"] == STAGES
    assert described["final"] == FINAL and len(described["final"]) == 7
    events = {e["event"]: e for e in described["events"]}
    assert len(events) == len(described["events"]) == len(ROLE_TABLE) + 1
    assert events["ajukan"] == {
        "event": "ajukan",
        "from": [],
        "to": ["permohonan"],
        "roles": ["operator_unit"],
        "automatic": False,
    }
    for event, roles in ROLE_TABLE.items():
        entry = events[event]
        assert set(entry["roles"]) == set(roles), event
        assert entry["from"] == expected_sources(event), event
        assert entry["to"] == expected_targets(event), event
        assert entry["automatic"] == (roles == ("system",)), event


def test_start_enters_permohonan_with_the_first_record() -> None:
    case = CaseData(year=2024, unit=UNIT, policy=POLICY)
    machine, entry = start(case, person("operator_unit"), None, T0)
    assert case.stage == "permohonan" and machine.current_state_value == "permohonan"
    assert (entry.event, entry.source, entry.target, entry.seq, entry.prev_hash) == (
        "ajukan",
        None,
        "permohonan",
        1,
        "",
    )
    assert entry.payload == {} and case.last_hash == entry.hash
