"""The criteria catalogue per regulation: data, not code.

Permenkumham 27/2018 has three criteria; Permenkumham 2/2022 (and 25/2023, which opened the programme to
regional governments) add public-service innovation and integrity. The facility checklist follows Lampiran I of
the 2018 regulation: the unit kind picks its list.
"""

from functools import cache

from pydantic import BaseModel

# Each scale runs from met (its first value) to lacking (its last): the lifecycle and the oversight read them so.
ADA_PROSES_TIDAK = ["Ada", "Proses", "Tidak"]
ADA_TIDAK = ["Ada", "Tidak"]
KEPATUHAN = ["Patuh", "Cukup patuh", "Kurang patuh"]


class Indicator(BaseModel):
    code: str
    name: str


class Criterion(BaseModel):
    code: str
    name: str
    scale: list[str]
    indicators: list[Indicator]


def _criterion(code: str, name: str, scale: list[str], indicators: list[str]) -> Criterion:
    """A criterion whose indicators are coded after it, in their order: sarana.1, sarana.2, ..."""
    coded = [Indicator(code=f"{code}.{i}", name=indicator) for i, indicator in enumerate(indicators, start=1)]
    return Criterion(code=code, name=name, scale=scale, indicators=coded)


# Lampiran I Permenkumham 27/2018, kantor imigrasi: 13 facility items.
SARANA_UMUM = [
    "Maklumat pelayanan",
    "Sarana pengaduan (meja, kotak, telepon)",
    "Toilet ramah disabilitas",
    "Guiding block",
    "Informasi pelayanan publik",
    "Ruang laktasi",
    "Ruang bermain anak",
    "Penanda khusus kelompok rentan",
    "Alat bantu (kursi roda, kruk)",
    "Ramp",
    "Loket prioritas",
    "Tempat ibadah",
    "Helpdesk",
]
# Prisons check the visitors' side: 11 items.
SARANA_PEMASYARAKATAN = [
    "Maklumat pelayanan",
    "Sarana pengaduan",
    "Toilet ramah disabilitas",
    "Guiding block",
    "Informasi layanan kunjungan",
    "Ruang laktasi",
    "Ruang bermain anak",
    "Ruang tunggu prioritas",
    "Alat bantu (kursi roda, kruk)",
    "Ramp",
    "Ruang kunjungan ramah kelompok rentan",
]
LAYANAN = {
    "kantor_imigrasi": [
        "Antrean paspor",
        "Penerbitan paspor baru",
        "Penggantian paspor",
        "Perpanjangan izin tinggal",
    ],
    "upt_pemasyarakatan": [
        "Layanan kunjungan",
        "Layanan pengaduan",
        "Layanan kesehatan",
        "Layanan integrasi (remisi, pembebasan bersyarat)",
    ],
}
LAYANAN_UMUM = ["Layanan informasi", "Layanan pengaduan", "Layanan utama unit"]
PETUGAS_SIAGA = [
    "Petugas siaga bagi lanjut usia",
    "Petugas siaga bagi anak",
    "Petugas siaga bagi ibu hamil dan menyusui",
    "Petugas siaga bagi penyandang disabilitas",
]
INOVASI = ["Inovasi pelayanan bagi kelompok rentan", "Publikasi dan keberlanjutan inovasi"]
INTEGRITAS = ["Pernyataan bebas pungutan liar", "Survei kepuasan masyarakat", "Tindak lanjut pengaduan"]


@cache
def criterion_codes(regulation: str) -> tuple[str, ...]:
    """The criteria's codes, the same for every unit kind; cached, as every decoded policy checks its weights."""
    return tuple(c.code for c in catalogue(regulation))


def catalogue(regulation: str, unit_kind: str = "") -> list[Criterion]:
    """The criteria a unit of this kind reports on under this regulation."""
    sarana = SARANA_PEMASYARAKATAN if unit_kind == "upt_pemasyarakatan" else SARANA_UMUM
    criteria = [
        _criterion("sarana", "Aksesibilitas dan ketersediaan sarana prasarana", ADA_PROSES_TIDAK, sarana),
        _criterion("sdm", "Ketersediaan petugas/SDM siaga", ADA_TIDAK, PETUGAS_SIAGA),
        _criterion(
            "kepatuhan",
            "Kepatuhan pelaksana terhadap standar pelayanan/SOP",
            KEPATUHAN,
            LAYANAN.get(unit_kind, LAYANAN_UMUM),
        ),
    ]
    if regulation != "2018":
        criteria += [
            _criterion("inovasi", "Inovasi pelayanan publik", ADA_TIDAK, INOVASI),
            _criterion("integritas", "Integritas", ADA_TIDAK, INTEGRITAS),
        ]
    return criteria
