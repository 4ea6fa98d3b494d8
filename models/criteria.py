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


def _indicators(prefix: str, names: list[str]) -> list[Indicator]:
    return [Indicator(code=f"{prefix}.{i}", name=name) for i, name in enumerate(names, start=1)]


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
        Criterion(
            code="sarana",
            name="Aksesibilitas dan ketersediaan sarana prasarana",
            scale=ADA_PROSES_TIDAK,
            indicators=_indicators("sarana", sarana),
        ),
        Criterion(
            code="sdm",
            name="Ketersediaan petugas/SDM siaga",
            scale=ADA_TIDAK,
            indicators=_indicators("sdm", PETUGAS_SIAGA),
        ),
        Criterion(
            code="kepatuhan",
            name="Kepatuhan pelaksana terhadap standar pelayanan/SOP",
            scale=KEPATUHAN,
            indicators=_indicators("kepatuhan", LAYANAN.get(unit_kind, LAYANAN_UMUM)),
        ),
    ]
    if regulation != "2018":
        criteria += [
            Criterion(
                code="inovasi",
                name="Inovasi pelayanan publik",
                scale=ADA_TIDAK,
                indicators=_indicators("inovasi", INOVASI),
            ),
            Criterion(
                code="integritas",
                name="Integritas",
                scale=ADA_TIDAK,
                indicators=_indicators("integritas", INTEGRITAS),
            ),
        ]
    return criteria
