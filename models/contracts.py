"""Pydantic contracts shared by the API, the workflows and the activities (no database code here)."""

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from models.policy import CyclePolicy
from models.written import Day, Moment
from workflows.reasons import Reason


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no official types one: refuse it instead of storing it in SQLite alone.
    if "\x00" in value:
        raise PydanticCustomError("isian.karakter_nul", "text must not contain NUL characters")
    return value


# What the schema says of a text field: no NUL, and some character that is not blank (as Python's strip() and the
# schema's regular expressions understand blank), so a schema-valid text is never refused. The refusals themselves
# stay the validators' (they name the NUL, or the empty field).
VISIBLE = Field(json_schema_extra={"pattern": r"^[^\x00]*[^\s\x00\x1c-\x1f\x85\ufeff][^\x00]*$"})
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_printable), VISIBLE
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_printable), VISIBLE
]
CODE = r"^[A-Za-z0-9._-]{1,64}$"  # a unit's or a region's code
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=CODE)]
# \x85 and \ufeff named: the schema's regular expressions (ECMA) and pydantic's (Rust) disagree on their blankness
EmailText = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s\x85\ufeff]{1,64}@[^@\s\x85\ufeff]{1,190}$")
]

Role = Literal[
    "operator_unit",
    "kepala_unit",
    "kanwil",
    "ditjen_ham",
    "verifikator",
    "penilai",
    "ketua_penilai",
    "auditor",
    "admin",
    "system",
]
ROLES = tuple(role for role in get_args(Role) if role != "system")  # the roles a token can carry


class Actor(BaseModel):
    """Who acts: taken from the verified token, never from the request body."""

    sub: str
    name: str = ""
    role: Role
    unit: str | None = None
    region: str | None = None


SYSTEM = Actor(sub="system", name="Sistem P2HAM", role="system")


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def evidence_ids(self) -> set[str]:
        """The uploaded files this payload names; the API resolves them from the evidence store."""
        return set()


class Kosong(Payload):
    pass


class Saksi(Payload):
    nama: Name
    jabatan: Name
    unsur: Literal["ditjen_ham", "forkopimda", "lainnya"]
    email: EmailText | None = None  # to remind the witness before the ceremony


class SetujuiPermohonan(Payload):
    jadwal: Moment
    tempat: Name
    saksi: list[Saksi] = Field(max_length=50)


class Alasan(Payload):
    alasan: Text


class Catatan(Payload):
    catatan: Text


class Kembalikan(Catatan):
    """A report returned for revision: a general note, and what to fix per indicator."""

    indikator: dict[Code, Text] = Field(default_factory=dict, max_length=500)


class JadwalUlang(Payload):
    jadwal: Moment
    alasan: Text


class Deklarasikan(Payload):
    saksi_hadir: list[Saksi] = Field(max_length=50)


class Tandatangani(Payload):
    dokumen: Code

    def evidence_ids(self) -> set[str]:
        return {self.dokumen}


class JawabanIndikator(Payload):
    kode: Code
    nilai: Name
    bukti: list[Code] = Field(default_factory=list, max_length=50)
    keterangan: Text | None = None


class Laporan(Payload):
    indikator: list[JawabanIndikator] = Field(max_length=500)

    def evidence_ids(self) -> set[str]:
        return {bukti for answer in self.indikator for bukti in answer.bukti}


class Perpanjang(Payload):
    batas_baru: Moment
    alasan: Text


class Nilai(Payload):
    skor: dict[Code, Annotated[float, Field(ge=0, le=100)]]


Sub = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_printable), VISIBLE
]


DISTINCT = Field(json_schema_extra={"uniqueItems": True})


def _distinct(subs: list[str]) -> list[str]:
    if len(set(subs)) != len(subs):
        raise ValueError("an official is listed more than once")
    return subs


class Penugasan(Payload):
    """The team of a case (`tugaskan`): its verifiers, its assessors and the head of the assessment team, by `sub`."""

    verifikator: Annotated[list[Sub], DISTINCT, Field(min_length=1, max_length=20), AfterValidator(_distinct)]
    penilai: Annotated[list[Sub], DISTINCT, Field(min_length=2, max_length=20), AfterValidator(_distinct)]
    ketua_penilai: Sub

    def members(self, role: str) -> list[str]:
        """The subs the team names in this role."""
        return {"verifikator": self.verifikator, "penilai": self.penilai, "ketua_penilai": [self.ketua_penilai]}.get(
            role, []
        )


class TindakanRencana(Payload):
    """One indicator of the action plan (rencana aksi): where the unit stands on the indicator's scale, and, while it
    is not yet at the top of the scale, what stands in the way and what it will do about it, by whom and by when."""

    kode: Code
    keadaan: Name  # the current state, on the indicator's scale (Ada / Proses / Tidak ...)
    kesenjangan: Text | None = None  # the gap to the criterion
    kendala: Text | None = None  # the constraint (a protected heritage building, no budget this year)
    tindakan: Text | None = None  # the planned action
    alternatif: Text | None = None  # or the alternative arrangement, where the action itself is not possible
    penanggung_jawab: Name | None = None
    target: Moment | None = None
    bukti: list[Code] = Field(default_factory=list, max_length=50)  # evidence of progress, from the evidence store


class Rencana(Payload):
    """The action plan a unit sends in `dicanangkan` or `pembangunan` (`kirim_rencana`), again whenever it changes."""

    indikator: list[TindakanRencana] = Field(max_length=500)

    def evidence_ids(self) -> set[str]:
        return {bukti for action in self.indikator for bukti in action.bukti}


class TanggapiRencana(Payload):
    """The Kanwil's answer to the plan as last sent: accepted, or to be revised, with notes per indicator."""

    keputusan: Literal["diterima", "perbaiki"]
    catatan: Text | None = None
    indikator: dict[Code, Text] = Field(default_factory=dict, max_length=500)


class TetapkanPenghargaan(Payload):
    nomor_keputusan: Name
    tanggal: Day


UTC_OFFSET_HOURS = {"WIB": 7, "WITA": 8, "WIT": 9}  # Indonesia keeps no daylight saving time
WIB = timezone(timedelta(hours=UTC_OFFSET_HOURS["WIB"]), "WIB")  # the ministry's zone: its calendar and cycle years


UnitKind = Literal["upt_pemasyarakatan", "kantor_imigrasi", "kanwil", "unit_utama", "opd", "lainnya"]


class UnitInfo(BaseModel):
    code: Code
    name: Name
    kind: UnitKind
    region: Code
    parent: Code | None = None
    zona_waktu: Literal["WIB", "WITA", "WIT"] = "WIB"
    email: EmailText | None = None  # the unit's official address, for reminders; Kanwil units are reached by it too

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(hours=UTC_OFFSET_HOURS[self.zona_waktu]), self.zona_waktu)


PHOTO_TYPES = ("image/jpeg", "image/png")


class EvidenceInfo(BaseModel):
    """An uploaded file as the server knows it (content-addressed: `id` is its sha256). Never taken from the client."""

    id: str
    media_type: str
    size: int
    unit: str


PROJECT_TRANSITION = "project_transition"  # the activity's name: workflows may not import the database code
ARSIPKAN_RIWAYAT = "arsipkan_riwayat"  # exports a closed case's history to the archive (activities/archive.py)


class ClosedRun(BaseModel):
    """A case run that has ended (or is about to): its history, and the runs it continued, go to the archive."""

    workflow_id: str
    run_id: str
    year: int
    unit: str


class Transition(BaseModel):
    """One step of a case, as projected to the read model and the audit log."""

    year: int
    unit: str
    seq: int
    at: datetime
    event: str
    source: str | None
    target: str
    actor: Actor
    payload: dict[str, Any]
    evidence: list[str] = Field(default_factory=list)  # sha256 of every file the step relied on
    policy_version: str = ""  # sha256 of the cycle policy in force
    # The case unit's parents in the unit registry the step was judged with (`EventRequest.lineage`), so the audit's
    # re-run asks the registry as it was. None: not recorded (a step of the calendar, or one from before it was); left
    # out of the entry then, so entries hashed before it existed hash the same.
    lineage: list[str] | None = Field(default=None, exclude_if=lambda v: v is None)
    prev_hash: str
    hash: str


class CaseData(BaseModel):
    """The extended state of one case: everything the guards need, and nothing more."""

    year: int
    unit: UnitInfo
    policy: CyclePolicy
    stage: str | None = None
    seq: int = 0
    last_hash: str = ""
    jadwal: datetime | None = None
    reporting_deadline: datetime | None = None
    revision_deadline: datetime | None = None
    score_sheets: dict[str, dict[str, float]] = Field(default_factory=dict)
    score: float | None = None
    decree: str | None = None
    stage_since: datetime | None = None
    deadline_moved: datetime | None = None  # when `jadwal_ulang` or `perpanjang` last moved this stage's deadline
    saksi: list[Saksi] = Field(default_factory=list)
    reminded: list[str] = Field(default_factory=list)  # keys of the reminders sent in this stage (sent once each)
    penugasan: Penugasan | None = None  # the assigned team (`tugaskan`); None until Ditjen HAM assigns one
    rencana: Rencana | None = None  # the action plan as last sent (`kirim_rencana`)
    rencana_status: Literal["dikirim", "diterima", "perbaiki"] | None = None  # the Kanwil's answer to it, if any
    rencana_dikirim: datetime | None = None  # when it was sent


class CaseStart(BaseModel):
    """Input of the case workflow: the unit's application."""

    case: CaseData
    applicant: Actor
    catatan: str | None = None


class EventRequest(BaseModel):
    """An official's event as it reaches the workflow's update."""

    event: str
    actor: Actor
    payload: dict[str, Any] = Field(default_factory=dict)
    evidence: dict[str, EvidenceInfo] = Field(default_factory=dict)  # resolved by the API from the evidence store
    lineage: list[str] = Field(default_factory=list)  # the case unit's parents in the unit registry (the API's)


class CaseView(BaseModel):
    year: int
    unit: str
    stage: str
    final: bool
    seq: int
    deadline: datetime | None
    allowed: list[str]
    waiting: list[str] = []  # of those, what the case waits for (a next step, not a correction or a way out)
    refused: dict[str, list[str]] = {}  # the reasons in the reader's words, filled where the view is answered
    refused_codes: dict[str, list[Reason]]  # the same reasons as data: message ids and parameters


class Recipient(BaseModel):
    """Who a notification is for: a role, scoped to a unit or region; `email` only where the case itself knows it."""

    role: str
    unit: str | None = None
    region: str | None = None
    name: str | None = None
    email: str | None = None


class Notice(BaseModel):
    """One reminder or escalation, due at `at` about `deadline`. `key` makes it exactly-once."""

    key: str
    kind: str
    at: datetime
    deadline: datetime
    year: int
    unit: UnitInfo
    stage: str
    recipients: list[Recipient]
    indikator: str | None = None  # an action plan's notice: the indicator whose action is due
    tindakan: str | None = None  # and that action, in the unit's words


KIRIM_NOTIFIKASI = "kirim_notifikasi"  # the delivery activity's name (workflows may not import it)
