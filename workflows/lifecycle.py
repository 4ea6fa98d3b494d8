"""The P2HAM lifecycle: written once, here.

The state machine says which event leads where. `RULES` says who may send each event and what must be true
(guards); `TIMERS` says which events the calendar sends. The workflow, the API's "what may I do now" answer, the
role table, the diagram and the docs are all derived from these three.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from statemachine import State, StateMachine

from models.contracts import (
    PHOTO_TYPES,
    Actor,
    Alasan,
    CaseData,
    CaseView,
    Catatan,
    Deklarasikan,
    EvidenceInfo,
    JadwalUlang,
    Kembalikan,
    Kosong,
    Laporan,
    Nilai,
    Payload,
    Penugasan,
    Perpanjang,
    Rencana,
    Saksi,
    SetujuiPermohonan,
    Tandatangani,
    TanggapiRencana,
    TetapkanPenghargaan,
    Transition,
)
from models.policy import CyclePolicy
from models.workdays import add_working_days
from workflows.reasons import Reason, payload_reasons, reason


class Lifecycle(StateMachine):
    """One unit in one cycle year. Data updates ride on the transitions (`on_<event>`)."""

    permohonan = State(initial=True)
    permohonan_ditolak = State()
    pencanangan_terjadwal = State()
    dicanangkan = State()
    pembangunan = State()
    pelaporan = State()
    verifikasi = State()
    perbaikan = State()
    evaluasi = State()
    lolos_evaluasi = State()
    berpredikat = State()

    selesai = State(final=True)
    dicabut = State(final=True)
    tidak_lolos = State(final=True)
    tidak_melapor = State(final=True)
    ditolak = State(final=True)
    dibatalkan = State(final=True)
    transisi_selesai = State(final=True)

    setujui_permohonan = permohonan.to(pencanangan_terjadwal)
    tolak_permohonan = permohonan.to(permohonan_ditolak)
    ajukan_ulang = permohonan_ditolak.to(permohonan)
    tutup_permohonan = permohonan_ditolak.to(ditolak)
    jadwal_ulang = pencanangan_terjadwal.to.itself()
    deklarasikan = pencanangan_terjadwal.to(dicanangkan)
    tandatangani_pernyataan = dicanangkan.to(pembangunan)
    # The action plan: sent from the declaration until the reporting window opens, again whenever it changes (a moved
    # target date included), and answered by the Kanwil.
    kirim_rencana = dicanangkan.to.itself() | pembangunan.to.itself()
    tanggapi_rencana = dicanangkan.to.itself() | pembangunan.to.itself()
    buka_pelaporan = pembangunan.to(pelaporan)
    akhiri_transisi = pembangunan.to(transisi_selesai)
    perpanjang = pelaporan.to.itself()
    kirim_laporan = pelaporan.to(verifikasi)
    tutup_pelaporan = pelaporan.to(tidak_melapor)
    kembalikan = verifikasi.to(perbaikan)
    kirim_perbaikan = perbaikan.to(verifikasi)
    tutup_perbaikan = perbaikan.to(tidak_lolos)
    lolos_verifikasi = verifikasi.to(evaluasi)
    tidak_lolos_verifikasi = verifikasi.to(tidak_lolos)
    nilai = evaluasi.to.itself()
    # The team may be assigned or changed from reporting until the result is fixed.
    tugaskan = pelaporan.to.itself() | verifikasi.to.itself() | perbaikan.to.itself() | evaluasi.to.itself()
    tetapkan_hasil_evaluasi = evaluasi.to(lolos_evaluasi, cond="lulus") | evaluasi.to(tidak_lolos)
    tetapkan_penghargaan = lolos_evaluasi.to(berpredikat)
    cabut = berpredikat.to(dicabut)
    akhiri_masa_berlaku = berpredikat.to(selesai)
    batalkan = dibatalkan.from_.any()

    model: CaseData

    def __init__(self, case: CaseData) -> None:
        super().__init__(model=case, state_field="stage")

    def lulus(self) -> bool:
        policy = self.model.policy
        return policy.weighted_score(self.model.score_sheets) >= policy.pass_mark

    def on_setujui_permohonan(self, payload: SetujuiPermohonan) -> None:
        self.model.jadwal = payload.jadwal
        self.model.saksi = payload.saksi

    def on_jadwal_ulang(self, payload: JadwalUlang, now: datetime) -> None:
        self.model.jadwal, self.model.deadline_moved = payload.jadwal, now

    def on_buka_pelaporan(self) -> None:
        # On the event, not on entering the stage: `perpanjang` re-enters `pelaporan` and must keep its new deadline.
        self.model.reporting_deadline = self.model.policy.calendar.reporting_closes

    def on_perpanjang(self, payload: Perpanjang, now: datetime) -> None:
        self.model.reporting_deadline, self.model.deadline_moved = payload.batas_baru, now

    def on_kembalikan(self, now: datetime) -> None:
        cal, unit = self.model.policy.calendar, self.model.unit
        if cal.revision_working_days:
            deadline = add_working_days(now, cal.revision_working_days, unit.tz, cal.holidays or [])
        else:
            deadline = now + cal.revision_period
        self.model.revision_deadline = deadline

    def on_kirim_rencana(self, payload: Rencana, now: datetime) -> None:
        self.model.rencana, self.model.rencana_status, self.model.rencana_dikirim = payload, "dikirim", now

    def on_tanggapi_rencana(self, payload: TanggapiRencana) -> None:
        self.model.rencana_status = payload.keputusan

    def on_tugaskan(self, payload: Penugasan) -> None:
        self.model.penugasan = payload

    def on_nilai(self, actor: Actor, payload: Nilai) -> None:
        self.model.score_sheets[actor.sub] = dict(payload.skor)

    def on_tetapkan_hasil_evaluasi(self) -> None:
        self.model.score = self.model.policy.weighted_score(self.model.score_sheets)

    def on_tetapkan_penghargaan(self, payload: TetapkanPenghargaan) -> None:
        self.model.decree = f"{payload.nomor_keputusan} ({payload.tanggal.isoformat()})"

    def fire(
        self,
        event: str,
        actor: Actor,
        payload: dict[str, Any],
        now: datetime,
        evidence: Mapping[str, EvidenceInfo] | None = None,
        assignment: bool = True,
        lineage: tuple[str, ...] = (),
        record_lineage: bool = False,
    ) -> Transition:
        """Apply one event, or raise `Refused` with every reason and change nothing. `assignment` False: a case
        replayed from before assessors were assigned (`tugaskan`). `record_lineage`: the entry records the lineage
        the step was judged with (False: a step from before entries recorded it)."""
        why = refused(self.model, event, actor, now, payload, evidence, assignment, lineage)
        if why:
            raise Refused(event, why)
        source = self.model.stage
        self.send(event, payload=RULES[event].payload.model_validate(payload), actor=actor, now=now)
        kept = list(lineage) if record_lineage else None
        return record(self.model, event, source, actor, payload, now, sorted(evidence or {}), kept)


# The stages as names the rest of the code can spell without a string: `Stage.pelaporan == "pelaporan"`, and a
# misspelt stage fails at import, not in a query that silently counts nothing.
Stage = StrEnum("Stage", [(s.id, s.id) for s in Lifecycle.states])
FINAL_STAGES = frozenset(s.id for s in Lifecycle.final_states)
EVENTS = tuple(str(e) for e in Lifecycle._events)


def onward(stage: str) -> frozenset[str]:
    """`stage` and every stage a case can go on to from it, read off the machine; `batalkan`, which can end a case
    anywhere, is left out ("the stages after pelaporan" are the reporting, the assessment and their outcomes)."""
    seen, todo = {str(stage)}, [str(stage)]
    while todo:
        for t in getattr(Lifecycle, todo.pop()).transitions:
            if "batalkan" not in t.events and t.target.id not in seen:
                seen.add(t.target.id)
                todo.append(t.target.id)
    return frozenset(seen)


def sources(event: str) -> list[str]:
    """The stages in which `event` has a transition, read off the machine."""
    return [s.id for s in Lifecycle.states if any(event in t.events for t in s.transitions)]


def targets(event: str) -> list[str]:
    return sorted({t.target.id for s in Lifecycle.states for t in s.transitions if event in t.events})


class Refused(Exception):
    """An event that may not happen now; `why` says so for the official who tried it (rendered at the edge)."""

    def __init__(self, event: str, why: list[Reason]) -> None:
        super().__init__(f"{event} refused: " + "; ".join(r.code for r in why))
        self.event = event
        self.why = why


# --- Who may act, and what must be true -------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    case: CaseData
    actor: Actor
    now: datetime
    evidence: Mapping[str, EvidenceInfo] | None = None  # None: a case from before evidence was checked
    assignment: bool = True  # False: a case replayed from before the team was assigned (`tugaskan`)
    lineage: tuple[str, ...] = ()  # the case unit's parents in the unit registry, nearest first (from the API)

    def local(self, when: datetime) -> str:
        """A moment as a reason's parameter: in the unit's zone, so the reader sees WIB, WITA or WIT."""
        try:
            return when.astimezone(self.case.unit.tz).isoformat()
        except OverflowError:  # the first or last day a calendar can name, moved to another zone: as it was given
            return when.isoformat()


Check = Callable[[Attempt], list[Reason]]  # empty: nothing stands in the way
PayloadCheck = Callable[[Attempt, Any], list[Reason]]


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...]
    payload: type[Payload] = Kosong
    who: tuple[Check, ...] = ()  # scope and separation of duties: a failure is a 403
    guards: tuple[Check, ...] = ()  # the case and the clock: a failure is a 409
    checks: tuple[PayloadCheck, ...] = ()  # the payload's content: a failure is a 409
    # Whether the case waits for this event while it may be sent (a worklist lists what waits, not every option):
    # a next step waits; a correction or a way out (reschedule, extend, revoke, cancel) is there when needed.
    waits: Callable[[CaseData], bool] = lambda case: True


UNIT_ROLES = ("operator_unit", "kepala_unit")


def _own_unit(a: Attempt) -> list[Reason]:
    if a.actor.role in UNIT_ROLES and a.actor.unit != a.case.unit.code:
        return [reason("bukan_unit_anda", unit=a.case.unit.code, unit_anda=a.actor.unit)]
    if a.actor.role == "kanwil" and a.actor.region != a.case.unit.region:
        return [
            reason("bukan_wilayah_anda", unit=a.case.unit.code, wilayah=a.case.unit.region, wilayah_anda=a.actor.region)
        ]
    return []


def _not_a_member(a: Attempt) -> list[Reason]:
    if a.actor.unit == a.case.unit.code:
        return [reason("menilai_unit_sendiri", unit=a.case.unit.code)]
    parents = (*a.lineage, a.case.unit.parent) if a.assignment else ()
    if a.actor.unit is not None and a.actor.unit in parents:
        return [reason("penugasan.unit_induk", unit=a.case.unit.code, induk=a.actor.unit)]
    return []


def _assigned(role: str, why: Reason) -> Check:
    """Only the official the case's team names in this role may act (`tugaskan`); cases from before teams were
    assigned replay without the check."""

    def check(a: Attempt) -> list[Reason]:
        team = a.case.penugasan
        if a.assignment and (team is None or a.actor.sub not in team.members(role)):
            return [why]
        return []

    return check


def _not_an_assessor(a: Attempt) -> list[Reason]:
    return [reason("ketua_sudah_menilai")] if a.actor.sub in a.case.score_sheets else []


def _before_deadline(a: Attempt) -> list[Reason]:
    timer = next_timer(a.case)
    if timer is not None and a.now >= timer.at:
        return [reason("batas_waktu_lewat", batas=a.local(timer.at))]
    return []


def _first_sheet(a: Attempt) -> list[Reason]:
    return [reason("lembar_nilai_sudah_dikirim")] if a.actor.sub in a.case.score_sheets else []


def _two_assessors(a: Attempt) -> list[Reason]:
    n = len(a.case.score_sheets)
    return [] if n >= 2 else [reason("penilai_kurang", n=n)]


def _ceremony_time_reached(a: Attempt) -> list[Reason]:
    jadwal = a.case.jadwal
    if jadwal is not None and a.now < jadwal:
        return [reason("pencanangan_belum_waktunya", jadwal=a.local(jadwal))]
    return []


def _operator_before_reporting(a: Attempt) -> list[Reason]:
    if a.actor.role == "operator_unit" and a.case.stage in REPORTING_AND_AFTER:
        return [reason("batal_hanya_sebelum_pelaporan")]
    return []


def _calendar_sends(event: str) -> Check:
    def due(a: Attempt) -> list[Reason]:
        timer = next_timer(a.case)
        if timer is None or timer.event != event:
            return [reason("kalender_tidak_mengirim", event=event, stage=a.case.stage)]
        if a.now < timer.at:
            return [reason("kalender_belum_waktunya", event=event, pada=a.local(timer.at))]
        return []

    return due


def _witnesses(saksi: list[Saksi]) -> list[Reason]:
    kinds = {s.unsur for s in saksi}
    missing = [kind for kind in WITNESS_KINDS if kind not in kinds]
    return [reason("saksi_kurang", unsur=missing)] if missing else []


WITNESS_KINDS = ("ditjen_ham", "forkopimda")  # a pencanangan needs a witness of each


def _in_cycle(a: Attempt, when: datetime) -> list[Reason]:
    if when <= a.now:
        return [reason("tanggal_sudah_lewat", tanggal=a.local(when))]
    ends = a.case.policy.calendar.cycle_ends
    return [reason("tanggal_setelah_siklus", tanggal=a.local(when), akhir=a.local(ends))] if when > ends else []


def _answers_complete(a: Attempt, answers: list[tuple[str, str]]) -> list[Reason]:
    """Every indicator of the unit kind's catalogue answered once, on its scale (a report's, or a plan's state)."""
    scale = indicator_scales(a.case)
    given = dict(answers)
    problems = [
        reason("indikator_belum_dijawab", indikator=code, nama=name)
        for code, (_, name) in scale.items()
        if code not in given
    ]
    problems += [reason("indikator_tidak_dikenal", indikator=code) for code in given if code not in scale]
    problems += [
        reason("nilai_di_luar_skala", indikator=code, nilai=value, skala=" / ".join(scale[code][0]))
        for code, value in given.items()
        if code in scale and value not in scale[code][0]
    ]
    if len(given) != len(answers):
        problems.append(reason("indikator_dijawab_berulang"))
    return problems


def indicator_scales(case: CaseData) -> dict[str, tuple[list[str], str]]:
    """Each indicator of the case's catalogue: its scale and its name."""
    return {i.code: (c.scale, i.name) for c in case.policy.criteria_for(case.unit.kind) for i in c.indicators}


def _report_complete(a: Attempt, p: Laporan) -> list[Reason]:
    return _answers_complete(a, [(ans.kode, ans.nilai) for ans in p.indikator])


def _evidence_rules(a: Attempt, p: Laporan) -> list[Reason]:
    """The reasons units failed in past years: too few photos, one photo reused across criteria, foreign files."""
    if a.evidence is None:
        return []
    rules = a.case.policy.evidence
    criteria = a.case.policy.criteria_for(a.case.unit.kind)
    criterion_of = {i.code: c.code for c in criteria for i in c.indicators}
    used: dict[str, set[str]] = {}
    for answer in p.indikator:
        for bukti in answer.bukti:
            used.setdefault(bukti, set()).add(criterion_of.get(answer.kode, answer.kode))
    problems = [problem for bukti in used for problem in _evidence_problem(a, bukti)]
    for c in criteria:
        photos = {b for b, where in used.items() if c.code in where and _is_photo(a, b)}
        if len(photos) < rules.min_photos:
            problems.append(reason("foto_kurang", kriteria=c.code, jumlah=len(photos), minimum=rules.min_photos))
    if rules.unique_across_criteria:
        problems += [
            reason("bukti_dipakai_berulang", bukti=b, kriteria=sorted(w)) for b, w in used.items() if len(w) > 1
        ]
    return problems


def _is_photo(a: Attempt, bukti: str) -> bool:
    info = (a.evidence or {}).get(bukti)
    return info is not None and info.media_type in PHOTO_TYPES


def _evidence_problem(a: Attempt, bukti: str) -> list[Reason]:
    if a.evidence is None:
        return []
    info = a.evidence.get(bukti)
    if info is None:
        return [reason("bukti_belum_diunggah", bukti=bukti)]
    if info.unit != a.case.unit.code:
        return [reason("bukti_unit_lain", bukti=bukti, unit=info.unit)]
    return []


def _signed_statement(a: Attempt, p: Tandatangani) -> list[Reason]:
    return _evidence_problem(a, p.dokumen)


def _plan_complete(a: Attempt, p: Rencana) -> list[Reason]:
    return _answers_complete(a, [(action.kode, action.keadaan) for action in p.indikator])


def _plan_actions(a: Attempt, p: Rencana) -> list[Reason]:
    """An indicator not yet met needs an action (or an alternative arrangement), who is responsible, and by when. A
    target date that is new or moved must lie ahead, inside the cycle; one kept from the plan before may have passed."""
    scales = indicator_scales(a.case)
    before = {t.kode: t.target for t in a.case.rencana.indikator} if a.case.rencana else {}
    problems = []
    for action in p.indikator:
        if action.kode not in scales or done(action.keadaan, scales[action.kode][0]):
            continue
        if not (action.tindakan or action.alternatif):
            problems.append(reason("rencana.tindakan_kosong", indikator=action.kode))
        if not action.penanggung_jawab:
            problems.append(reason("rencana.penanggung_jawab_kosong", indikator=action.kode))
        if action.target is None:
            problems.append(reason("rencana.target_kosong", indikator=action.kode))
        elif action.target != before.get(action.kode):
            problems += _target_ahead(a, action.kode, action.target)
    return problems + [r for action in p.indikator for bukti in action.bukti for r in _evidence_problem(a, bukti)]


def _target_ahead(a: Attempt, kode: str, target: datetime) -> list[Reason]:
    """As `_in_cycle`, naming the indicator: a plan has a target date for each action not yet met."""
    ends = a.case.policy.calendar.cycle_ends
    if target <= a.now:
        return [reason("rencana.target_sudah_lewat", indikator=kode, tanggal=a.local(target))]
    if target > ends:
        return [reason("rencana.target_setelah_siklus", indikator=kode, tanggal=a.local(target), akhir=a.local(ends))]
    return []


def done(keadaan: str, scale: list[str]) -> bool:
    """An indicator is met when its state is the top of its scale (Ada, Patuh)."""
    return keadaan == scale[0]


def lacking(keadaan: str, scale: list[str]) -> bool:
    """An indicator is lacking when its state is the bottom of its scale (Tidak, Kurang patuh): what the programme
    may have to fund or help with. Read off the catalogue's scale, so a catalogue with other words works as well."""
    return keadaan == scale[-1]


def _plan_sent(a: Attempt) -> list[Reason]:
    if a.case.rencana is None:
        return [reason("rencana.belum_dikirim")]
    if a.case.rencana_status != "dikirim":
        return [reason("rencana.sudah_ditanggapi")]
    return []


def _revision_says_what(a: Attempt, p: TanggapiRencana) -> list[Reason]:
    if p.keputusan == "perbaiki" and not (p.catatan or p.indikator):
        return [reason("rencana.catatan_perbaikan_wajib", isian="catatan")]  # the field a form shows it beside
    return []


def _notes_name_indicators(a: Attempt, p: Kembalikan | TanggapiRencana) -> list[Reason]:
    codes = {i.code for c in a.case.policy.criteria_for(a.case.unit.kind) for i in c.indicators}
    unknown = sorted(set(p.indikator) - codes)
    return [reason("catatan_indikator_tidak_dikenal", indikator=unknown)] if unknown else []


def _score_sheet_complete(a: Attempt, p: Nilai) -> list[Reason]:
    codes = list(a.case.policy.weights)
    missing = [c for c in codes if c not in p.skor]
    unknown = [c for c in p.skor if c not in codes]
    problems = [reason("skor_kriteria_kurang", kriteria=missing)] if missing else []
    return problems + ([reason("skor_kriteria_tidak_dikenal", kriteria=unknown)] if unknown else [])


def _later_deadline(a: Attempt, p: Perpanjang) -> list[Reason]:
    current = a.case.reporting_deadline
    if current is not None and p.batas_baru <= current:
        return [reason("batas_baru_tidak_lebih_lambat", batas=a.local(current))]
    return _in_cycle(a, p.batas_baru)


def _has_reporting(a: Attempt) -> list[Reason]:
    return [] if a.case.policy.has_reporting else [reason("siklus_tanpa_pelaporan")]


def _transition_year(a: Attempt) -> list[Reason]:
    return [reason("siklus_dengan_pelaporan")] if a.case.policy.has_reporting else []


def _timer(event: str, *guards: Check) -> Rule:
    return Rule(("system",), guards=(*guards, _calendar_sends(event)))


def _team_apart(a: Attempt, p: Penugasan) -> list[Reason]:
    """Four eyes: the head of the assessment team fixes the result and is not one of its assessors."""
    if p.ketua_penilai in p.penilai:
        return [reason("penugasan.ketua_juga_penilai", ketua=p.ketua_penilai)]
    return []


def _never(case: CaseData) -> bool:
    return False


VERIFIER = (_not_a_member, _assigned("verifikator", reason("penugasan.bukan_verifikator")))

REPORT_RULE = Rule(
    ("operator_unit",),
    Laporan,
    who=(_own_unit,),
    guards=(_before_deadline,),
    checks=(_report_complete, _evidence_rules),
)

RULES: dict[str, Rule] = {
    "setujui_permohonan": Rule(
        ("ditjen_ham",),
        SetujuiPermohonan,
        checks=(lambda a, p: _in_cycle(a, p.jadwal), lambda a, p: _witnesses(p.saksi)),
    ),
    "tolak_permohonan": Rule(("ditjen_ham",), Alasan),
    "ajukan_ulang": Rule(("operator_unit",), Catatan, who=(_own_unit,), guards=(_before_deadline,)),
    "jadwal_ulang": Rule(
        ("ditjen_ham", "kanwil"),
        JadwalUlang,
        who=(_own_unit,),
        checks=(lambda a, p: _in_cycle(a, p.jadwal),),
        waits=_never,
    ),
    "deklarasikan": Rule(
        ("kanwil",),
        Deklarasikan,
        who=(_own_unit,),
        guards=(_ceremony_time_reached,),
        checks=(lambda a, p: _witnesses(p.saksi_hadir),),
    ),
    "tandatangani_pernyataan": Rule(("kepala_unit",), Tandatangani, who=(_own_unit,), checks=(_signed_statement,)),
    "kirim_rencana": Rule(
        ("operator_unit",),
        Rencana,
        who=(_own_unit,),
        checks=(_plan_complete, _plan_actions),
        waits=lambda case: case.rencana_status in (None, "perbaiki"),  # none sent yet, or returned: sent again later
    ),
    "tanggapi_rencana": Rule(
        ("kanwil",),
        TanggapiRencana,
        who=(_own_unit,),
        guards=(_plan_sent,),
        checks=(_revision_says_what, _notes_name_indicators),
    ),
    "kirim_laporan": REPORT_RULE,
    "kirim_perbaikan": REPORT_RULE,
    "perpanjang": Rule(("ditjen_ham",), Perpanjang, checks=(_later_deadline,), waits=_never),
    "tugaskan": Rule(("ditjen_ham",), Penugasan, checks=(_team_apart,), waits=lambda case: case.penugasan is None),
    "kembalikan": Rule(("verifikator",), Kembalikan, who=VERIFIER, checks=(_notes_name_indicators,)),
    "lolos_verifikasi": Rule(("verifikator",), who=VERIFIER),
    "tidak_lolos_verifikasi": Rule(("verifikator",), Alasan, who=VERIFIER),
    "nilai": Rule(
        ("penilai",),
        Nilai,
        who=(_not_a_member, _assigned("penilai", reason("penugasan.bukan_penilai"))),
        guards=(_first_sheet,),
        checks=(_score_sheet_complete,),
    ),
    "tetapkan_hasil_evaluasi": Rule(
        ("ketua_penilai",),
        who=(_not_a_member, _assigned("ketua_penilai", reason("penugasan.bukan_ketua_penilai")), _not_an_assessor),
        guards=(_two_assessors,),
    ),
    "tetapkan_penghargaan": Rule(("ditjen_ham",), TetapkanPenghargaan),
    "cabut": Rule(("ditjen_ham",), Alasan, waits=_never),
    "batalkan": Rule(
        ("operator_unit", "admin"), Alasan, who=(_own_unit,), guards=(_operator_before_reporting,), waits=_never
    ),
    "tutup_permohonan": _timer("tutup_permohonan"),
    "buka_pelaporan": _timer("buka_pelaporan", _has_reporting),
    "akhiri_transisi": _timer("akhiri_transisi", _transition_year),
    "tutup_pelaporan": _timer("tutup_pelaporan"),
    "tutup_perbaikan": _timer("tutup_perbaikan"),
    "akhiri_masa_berlaku": _timer("akhiri_masa_berlaku"),
}

REPORTING_AND_AFTER = onward(Stage.pelaporan) - FINAL_STAGES  # open stages from the reporting window on
# The events whose conflict of interest is judged against the case unit's parents in the registry (`lineage`).
JUDGED_BY_LINEAGE = frozenset(event for event, rule in RULES.items() if _not_a_member in rule.who)


# --- The calendar's events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timer:
    event: str
    at: datetime


def next_timer(case: CaseData) -> Timer | None:
    """The automatic event the calendar sends next in this stage, and when."""
    cal = case.policy.calendar
    match case.stage:
        case "permohonan_ditolak":
            return Timer("tutup_permohonan", cal.applications_close)
        case "pembangunan" if case.policy.has_reporting:
            return Timer("buka_pelaporan", cal.reporting_opens)
        case "pembangunan":
            return Timer("akhiri_transisi", cal.cycle_ends)
        case "pelaporan":
            return Timer("tutup_pelaporan", case.reporting_deadline or cal.reporting_closes)
        case "perbaikan" if case.revision_deadline is not None:
            return Timer("tutup_perbaikan", case.revision_deadline)
        case "berpredikat":
            return Timer("akhiri_masa_berlaku", cal.award_valid_until)
    return None


# --- The application that starts a case (`ajukan`: the workflow does not exist yet) ------------------------------

APPLICANT_ROLES = ("operator_unit",)


COHORT_ROLES = ("admin",)  # an admin opens many units' cases at once, on their behalf


def applications_closed(policy: CyclePolicy, now: datetime) -> list[Reason]:
    closes = policy.calendar.applications_close
    return [] if now < closes else [reason("permohonan_ditutup", tanggal=closes.isoformat())]


def application_refused(
    policy: CyclePolicy, unit: str, actor: Actor, now: datetime
) -> tuple[list[Reason], list[Reason]]:
    """(forbidden, refused) for a unit's application: who may apply, and whether the cycle is open."""
    if actor.role not in APPLICANT_ROLES:
        return [reason("peran_salah", event="ajukan", roles=list(APPLICANT_ROLES), role=actor.role)], []
    if actor.unit != unit:
        return [reason("bukan_unit_anda", unit=unit, unit_anda=actor.unit)], []
    return [], applications_closed(policy, now)


def cohort_refused(policy: CyclePolicy, actor: Actor, now: datetime) -> tuple[list[Reason], list[Reason]]:
    """(forbidden, refused) for opening a cohort: the same calendar rule as a unit's own application."""
    if actor.role not in COHORT_ROLES:
        return [reason("kohort_peran_salah", roles=list(COHORT_ROLES), role=actor.role)], []
    return [], applications_closed(policy, now)


# --- Explanations -----------------------------------------------------------------------------------------------


def forbidden(
    case: CaseData, event: str, actor: Actor, assignment: bool = True, lineage: tuple[str, ...] = ()
) -> list[Reason]:
    """Why this actor may not send this event to this case at all (role, scope, assignment, conflict of interest)."""
    rule = RULES.get(event)
    if rule is None:
        return [reason("peristiwa_tidak_dikenal", nama=event)]
    if actor.role not in rule.roles:
        if rule.roles == ("system",):
            return [reason("dikirim_kalender", event=event)]
        return [reason("peran_salah", event=event, roles=list(rule.roles), role=actor.role)]
    attempt = Attempt(case, actor, datetime.min, assignment=assignment, lineage=lineage)
    return [why for check in rule.who for why in check(attempt)]


def refused(
    case: CaseData,
    event: str,
    actor: Actor,
    now: datetime,
    payload: dict[str, Any] | None = None,
    evidence: Mapping[str, EvidenceInfo] | None = None,
    assignment: bool = True,
    lineage: tuple[str, ...] = (),
) -> list[Reason]:
    """Every reason why `event` cannot happen now. Empty means it can. Without a payload, only asks "may I?".

    `evidence` is what the evidence store knows of the files the payload names (resolved by the API); None only when
    replaying a case from before evidence was checked.
    """
    why = forbidden(case, event, actor, assignment, lineage)
    if why:
        return why
    if case.stage not in sources(event):
        return [reason("tahap_salah", event=event, stages=sources(event), stage=case.stage)]
    rule = RULES[event]
    attempt = Attempt(case, actor, now, evidence, assignment, lineage)
    why = [r for guard in rule.guards for r in guard(attempt)]
    if payload is None:
        return why
    try:
        parsed = rule.payload.model_validate(payload)
    except ValidationError as e:
        return why + payload_reasons(e.errors())
    return why + [r for check in rule.checks for r in check(attempt, parsed)]


def view(case: CaseData, actor: Actor, now: datetime, lineage: tuple[str, ...] = ()) -> CaseView:
    """The case as this actor sees it: the events it may send now, and the reasons for every other one."""
    allowed, refusals = [], {}
    for event in EVENTS:
        why = refused(case, event, actor, now, lineage=lineage)
        if why:
            refusals[event] = why
        else:
            allowed.append(event)
    timer = next_timer(case)
    return CaseView(
        year=case.year,
        unit=case.unit.code,
        stage=case.stage or "",
        final=case.stage in FINAL_STAGES,
        seq=case.seq,
        deadline=timer.at if timer else None,
        allowed=allowed,
        waiting=[event for event in allowed if RULES[event].waits(case)],
        refused_codes=refusals,
    )


# --- The record of a step ---------------------------------------------------------------------------------------


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def policy_version(case: CaseData) -> str:
    return hashlib.sha256(canonical(case.policy.model_dump(mode="json"))).hexdigest()


def chain_hash(entry: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of an entry (without its own hash), chained by `prev_hash`."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def record(
    case: CaseData,
    event: str,
    source: str | None,
    actor: Actor,
    payload: dict[str, Any],
    now: datetime,
    evidence: list[str] | None = None,
    lineage: list[str] | None = None,
) -> Transition:
    case.seq += 1
    if source != case.stage:  # a new stage: its own reminders from now on
        case.stage_since = now
        case.reminded = []
        case.deadline_moved = None
    entry = Transition(
        year=case.year,
        unit=case.unit.code,
        seq=case.seq,
        at=now,
        event=event,
        source=source,
        target=case.stage or "",
        actor=actor,
        payload=payload,
        evidence=evidence or [],
        policy_version=policy_version(case),
        lineage=lineage,
        prev_hash=case.last_hash,
        hash="",
    )
    entry.hash = chain_hash(entry.model_dump(mode="json"))
    case.last_hash = entry.hash
    return entry


def start(case: CaseData, applicant: Actor, catatan: str | None, now: datetime) -> tuple[Lifecycle, Transition]:
    """The application (`ajukan`): the machine enters `permohonan` and the first entry is written."""
    machine = Lifecycle(case)
    payload = {"catatan": catatan} if catatan else {}
    return machine, record(case, "ajukan", None, applicant, payload, now)


def describe() -> dict[str, Any]:
    """The machine as data, for `GET /lifecycle`, the role table and the docs (service/docs.py adds the names)."""
    return {
        "initial": Lifecycle.initial_state.id,
        "states": [s.id for s in Lifecycle.states],
        "final": sorted(FINAL_STAGES),
        "events": [
            {
                "event": "ajukan",
                "from": [],
                "to": [Lifecycle.initial_state.id],
                "roles": list(APPLICANT_ROLES),
                "automatic": False,
            },
        ]
        + [
            {
                "event": event,
                "from": sources(event),
                "to": targets(event),
                "roles": list(RULES[event].roles),
                "automatic": RULES[event].roles == ("system",),
            }
            for event in EVENTS
        ],
    }


def mermaid() -> str:
    """The diagram for the README, drawn from the machine itself (a test keeps the README equal to it)."""
    lines = ["stateDiagram-v2", f"    [*] --> {Lifecycle.initial_state.id}: ajukan"]
    for state in Lifecycle.states:
        for t in state.transitions:
            for event in map(str, t.events):
                automatic = " (timer)" if RULES[event].roles == ("system",) else ""
                lines.append(f"    {t.source.id} --> {t.target.id}: {event}{automatic}")
    lines += [f"    {final} --> [*]" for final in sorted(FINAL_STAGES)]
    return "\n".join(lines)
