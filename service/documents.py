"""Outcome documents of the evaluation, in the reader's language (Bahasa Indonesia by default), from the read model.

Pass (`lolos_evaluasi`): the *Berita Acara Hasil Evaluasi*. Fail (`tidak_lolos` at evaluation): the *Surat Keterangan
Hasil Evaluasi*, which lists the reasons per criterion. Both name the unit, the date the result was fixed, each
assessor's scores per criterion, the weighted total and the pass mark; the unit's own officials read them without the
pass mark and the weights (the result, not the formula) and without who gave which sheet. Awarded
(`tetapkan_penghargaan`): the *Surat Keterangan Predikat Unit Kerja P2HAM*, whose QR code leads to the award's public
verification page. All are rebuilt on every request from what the read model holds (the case's data and its audit
log), so they always say what the history says.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

import segno
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from models.contracts import Actor, CaseData
from models.tables import TransitionRow
from service import register
from service.i18n import DEFAULT_LOCALE, display, gettext, supported
from workflows import access
from workflows.lifecycle import Stage

TEMPLATES = Path(__file__).parent / "templates"
# Autoescape: unit and assessor names come from people; StrictUndefined: a missing value is a bug, not a blank.
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), undefined=StrictUndefined)


@pass_context
def tanggal(context: Context, moment: datetime | date) -> str:
    """'Kamis, 10 Desember 2026' in the reader's language; a moment in the unit's own time zone, a date (a decree's)
    as it is."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:  # the audit log keeps UTC; SQLite hands it back without its offset
            moment = moment.replace(tzinfo=UTC)
        day = moment.astimezone(context["zone"]).date()
    else:
        day = moment
    locale = context["locale"]
    # The weekday, then the long date ("10 Desember 2026"; Babel's full Indonesian form would write "09 Desember").
    return f"{format_date(day, 'EEEE', locale=locale)}, {format_date(day, 'long', locale=locale)}"


@pass_context
def angka(context: Context, value: float) -> str:
    """A score with two decimals, written as the reader's language writes numbers ('82,50' in Bahasa Indonesia)."""
    return format_decimal(value, format="#,##0.00", locale=context["locale"])


@pass_context
def bobot(context: Context, value: float) -> str:
    """A weight as people write it: '30', or '12,50' when it has a fraction."""
    return str(int(value)) if value == int(value) else angka(context, value)


ENV.filters["tanggal"] = tanggal
ENV.filters["angka"] = angka
ENV.filters["bobot"] = bobot


@dataclass(frozen=True)
class Assessor:
    sub: str
    name: str
    scores: dict[str, float]  # criterion code -> 0..100
    total: float  # this sheet's weighted total


@dataclass(frozen=True)
class CriterionResult:
    code: str
    weight: float | None  # None: not for this reader
    mean: float  # across assessors
    below: bool  # under the pass mark: a reason for a fail


@dataclass(frozen=True)
class EvaluationOutcome:
    year: int
    unit_code: str
    unit_name: str
    unit_kind: str
    unit_zone: tzinfo
    region: str
    passed: bool
    fixed_at: datetime
    fixed_by: str
    score: float
    pass_mark: float | None  # None, with `total_weight` and each criterion's weight: not for this reader (a unit)
    total_weight: float | None
    assessors: list[Assessor]
    criteria: list[CriterionResult]
    reference: str  # the audit-log hash of the decision, to check the document against the history

    @property
    def reasons(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.below]

    @property
    def formula(self) -> bool:
        """Whether the reader sees the pass mark and the weights."""
        return self.pass_mark is not None


@dataclass(frozen=True)
class Document:
    filename: str
    html: str


DECISION = "tetapkan_hasil_evaluasi"


def evaluation_outcome(
    case: CaseData, history: Sequence[TransitionRow], anonymous: bool = False, formula: bool = True
) -> EvaluationOutcome | None:
    """The evaluation's result as recorded, or None while it has not been fixed. `anonymous`: the assessors are
    numbered, not named (for readers who see the scores but not who gave them). `formula` False: without the pass
    mark and the weights (for the unit roles, which see the result, not the formula)."""
    decision = next((e for e in history if e.event == DECISION), None)
    if decision is None:
        return None
    policy = case.policy
    names = {e.actor_sub: e.actor_name or e.actor_sub for e in history if e.event == "nilai"}
    sheets = case.score_sheets
    if anonymous:
        sheets = {f"Penilai {n}": sheet for n, sheet in enumerate(sheets.values(), start=1)}
        names = {}
    assessors = [
        # One sheet alone through the policy's own formula: that assessor's weighted total.
        Assessor(sub=sub, name=names.get(sub, sub), scores=sheet, total=policy.weighted_score({sub: sheet}))
        for sub, sheet in sheets.items()
    ]
    criteria = []
    for code, weight in policy.weights.items():
        mean = round(sum(s.get(code, 0.0) for s in sheets.values()) / len(sheets), 2) if sheets else 0.0
        criteria.append(
            CriterionResult(code, weight if formula else None, mean, weight > 0 and mean < policy.pass_mark)
        )
    return EvaluationOutcome(
        year=case.year,
        unit_code=case.unit.code,
        unit_name=case.unit.name,
        unit_kind=case.unit.kind,
        unit_zone=case.unit.tz,
        region=case.unit.region,
        passed=decision.target == Stage.lolos_evaluasi,
        fixed_at=decision.at,
        fixed_by=decision.actor_name or decision.actor_sub,
        score=case.score if case.score is not None else policy.weighted_score(sheets),
        pass_mark=policy.pass_mark if formula else None,
        total_weight=sum(policy.weights.values()) if formula else None,
        assessors=assessors,
        criteria=criteria,
        reference=decision.hash,
    )


def hasil_evaluasi(
    case: CaseData, history: Sequence[TransitionRow], reader: Actor | None = None, locale: str = DEFAULT_LOCALE
) -> Document | None:
    """The outcome document for a case whose evaluation result is fixed, in `locale`, as `reader` may read it (the
    assessors named or numbered, the pass mark and weights shown or not: `workflows/access.py`); None before the
    result. Without a reader: the whole record."""
    anonymous = reader is not None and not access.names_assessors(case, reader)
    formula = reader is None or access.sees_results_policy(reader)
    outcome = evaluation_outcome(case, history, anonymous, formula)
    if outcome is None:
        return None
    locale = supported(locale)
    name = "berita-acara-hasil-evaluasi" if outcome.passed else "surat-keterangan-hasil-evaluasi"
    template = ENV.get_template(f"{name.replace('-', '_')}.html")

    def _(msgid: str, **params: Any) -> str:
        return gettext(locale, msgid, **params)

    html = template.render(
        o=outcome,
        _=_,
        locale=locale,
        zone=outcome.unit_zone,
        display=lambda kind, identifier: display(locale, kind, identifier),
    )
    return Document(filename=f"{name}-{outcome.year}-{outcome.unit_code}.html", html=html)


@dataclass(frozen=True)
class Award:
    year: int
    unit_code: str
    unit_name: str
    unit_kind: str  # its identifier; the letter shows its display name
    region: str
    decree_number: str
    decree_date: date
    awarded_at: datetime
    reference: str  # the audit-log hash of the award's entry
    verification_url: str
    qr_svg: Markup  # the verification URL as a QR code, inline SVG


def surat_keterangan_predikat(
    case: CaseData, history: Sequence[TransitionRow], public_url: str, locale: str = DEFAULT_LOCALE
) -> Document | None:
    """The award letter (*Surat Keterangan Predikat Unit Kerja P2HAM*) with a QR code to the public verification page;
    None when the case was never awarded."""
    entry = next((e for e in history if e.event == register.AWARD), None)
    if entry is None:
        return None
    url = register.verification_url(public_url, case.year, case.unit.code)
    qr = segno.make(url, error="m")
    award = Award(
        year=case.year,
        unit_code=case.unit.code,
        unit_name=case.unit.name,
        unit_kind=case.unit.kind,
        region=case.unit.region,
        decree_number=entry.payload["nomor_keputusan"],
        decree_date=date.fromisoformat(entry.payload["tanggal"]),
        awarded_at=entry.at,
        reference=entry.hash,
        verification_url=url,
        qr_svg=Markup(qr.svg_inline(scale=4, border=4, title=gettext(locale, "doc.predikat.qr", url=url))),
    )
    locale = supported(locale)

    def _(msgid: str, **params: object) -> str:
        return gettext(locale, msgid, **params)

    html = ENV.get_template("surat_keterangan_predikat.html").render(
        a=award,
        _=_,
        locale=locale,
        zone=case.unit.tz,
        display=lambda kind, identifier: display(locale, kind, identifier),
    )
    return Document(filename=f"surat-keterangan-predikat-{award.year}-{award.unit_code}.html", html=html)
