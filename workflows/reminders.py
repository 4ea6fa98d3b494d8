"""Reminders and escalations: which notices a case's current stage calls for, and when. Pure, like the lifecycle.

Each notice's key is (case, kind, due time): a moved deadline gives new keys (the old ones are never due again),
and a case that moves on to another stage has other notices, so nothing stale is ever sent.
"""

from collections.abc import Callable
from datetime import datetime

from models.contracts import CaseData, Notice, Recipient
from workflows.lifecycle import done, indicator_scales

# A notice as a rule finds it: its kind, when it is due, the deadline it is about, its recipients, and for an action
# plan's notice the action (indicator code, the action in the unit's words).
Found = tuple[str, datetime, datetime, Callable[[CaseData], list[Recipient]], tuple[str, str] | None]


def _unit(role: str) -> Callable[[CaseData], list[Recipient]]:
    return lambda c: [Recipient(role=role, unit=c.unit.code, name=c.unit.name, email=c.unit.email)]


def _kanwil(c: CaseData) -> list[Recipient]:
    return [Recipient(role="kanwil", region=c.unit.region)]


def _ditjen(c: CaseData) -> list[Recipient]:
    return [Recipient(role="ditjen_ham")]


def _witnesses(c: CaseData) -> list[Recipient]:
    return [Recipient(role="saksi", name=s.nama, email=s.email) for s in c.saksi if s.email]


OPERATOR, KEPALA = _unit("operator_unit"), _unit("kepala_unit")


def _everyone(*groups: Callable[[CaseData], list[Recipient]]) -> Callable[[CaseData], list[Recipient]]:
    return lambda c: [r for group in groups for r in group(c)]


def _before(kind: str, anchor: Callable[[CaseData], datetime | None], to: Callable) -> Callable:
    """One notice per reminder offset before the anchor moment (H-7, H-3, H-1)."""

    def notices(c: CaseData) -> list[tuple[str, datetime, datetime, Callable]]:
        moment = anchor(c)
        if moment is None:
            return []
        return [(kind, moment - offset, moment, to, None) for offset in c.policy.calendar.reminders_before]

    return notices


def _after_entering(kind: str, wait: Callable[[CaseData], list], to: Callable) -> Callable:
    """Notices a while after the case entered its stage: unsigned declarations, verifications past their SLA."""

    def notices(c: CaseData) -> list[tuple[str, datetime, datetime, Callable]]:
        if c.stage_since is None:
            return []
        return [(kind, c.stage_since + w, c.stage_since + w, to, None) for w in wait(c)]

    return notices


def _escalate_unreported(c: CaseData) -> list[tuple[str, datetime, datetime, Callable]]:
    """A unit that has not reported by the last reminder (H-1) is reported to its Kanwil."""
    deadline, offsets = c.reporting_deadline, c.policy.calendar.reminders_before
    return [("eskalasi_pelaporan", deadline - min(offsets), deadline, _kanwil, None)] if deadline and offsets else []


def _plan_actions(c: CaseData) -> list[Found]:
    """Each action of the plan not yet done: the operator reminded at the first and the last reminder offsets before
    its target date (H-7 and H-1 by default), the Kanwil told when the date passes with the action still open. The
    keys carry the date, so a plan sent again with a moved date has new notices and the old ones are never due."""
    if c.rencana is None:
        return []
    scales, offsets = indicator_scales(c), c.policy.calendar.reminders_before
    found: list[Found] = []
    for action in c.rencana.indikator:
        scale = scales.get(action.kode)
        if action.target is None or scale is None or done(action.keadaan, scale[0]):
            continue
        about = (action.kode, action.tindakan or action.alternatif or "")
        before = sorted({max(offsets), min(offsets)}, reverse=True) if offsets else []
        found += [("tindakan_rencana", action.target - b, action.target, OPERATOR, about) for b in before]
        found.append(("eskalasi_rencana", action.target, action.target, _kanwil, about))
    return found


STAGE_NOTICES: dict[str, list[Callable[[CaseData], list[Found]]]] = {
    "pencanangan_terjadwal": [
        _before("pencanangan", lambda c: c.jadwal, _everyone(OPERATOR, KEPALA, _kanwil, _witnesses))
    ],
    "dicanangkan": [_after_entering("pernyataan", lambda c: c.policy.calendar.reminders_before, KEPALA), _plan_actions],
    "pembangunan": [
        _before(
            "persiapan_pelaporan",
            lambda c: c.policy.calendar.reporting_opens if c.policy.has_reporting else None,
            OPERATOR,
        ),
        _plan_actions,
    ],
    "pelaporan": [
        _before("batas_pelaporan", lambda c: c.reporting_deadline, _everyone(OPERATOR, KEPALA)),
        _escalate_unreported,
    ],
    "perbaikan": [_before("batas_perbaikan", lambda c: c.revision_deadline, OPERATOR)],
    "verifikasi": [_after_entering("eskalasi_verifikasi", lambda c: [c.policy.calendar.verification_sla], _ditjen)],
    "evaluasi": [_after_entering("eskalasi_evaluasi", lambda c: [c.policy.calendar.evaluation_sla], _ditjen)],
    "lolos_evaluasi": [
        _before("upacara_penghargaan", lambda c: c.policy.calendar.award_ceremony, _everyone(OPERATOR, KEPALA))
    ],
}


def notices(case: CaseData, plans: bool = True) -> list[Notice]:
    """The notices of the current stage still to come or due, in time order; none from before the stage began.
    `plans` False: a case replayed from before action plans were followed up (workflow.patched("rencana"))."""
    found = []
    for rule in STAGE_NOTICES.get(case.stage or "", []):
        if rule is _plan_actions and not plans:
            continue
        for kind, at, deadline, to, about in rule(case):
            key = f"{case.year}/{case.unit.code}/{kind}/{at.isoformat()}" + (f"/{about[0]}" if about else "")
            if case.stage_since is not None and at < case.stage_since or key in case.reminded:
                continue
            found.append(
                Notice(
                    key=key,
                    kind=kind,
                    at=at,
                    deadline=deadline,
                    year=case.year,
                    unit=case.unit,
                    stage=case.stage or "",
                    recipients=to(case),
                    indikator=about[0] if about else None,
                    tindakan=about[1] if about else None,
                )
            )
    return sorted(found, key=lambda n: (n.at, n.key))
