"""Reminders and escalations: which notices a case's current stage calls for, and when. Pure, like the lifecycle.

Each notice's key is (case, kind, due time): a moved deadline gives new keys (the old ones are never due again),
and a case that moves on to another stage has other notices, so nothing stale is ever sent.
"""

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from models.contracts import CaseData, Notice, Recipient
from workflows.lifecycle import done, indicator_scales, next_timer


class Found(NamedTuple):
    """A notice as a rule finds it: its kind, when it is due, the deadline it is about, its recipients, for an action
    plan's notice the action (indicator code, the action in the unit's words), and since when its deadline is known
    where that can be later than the stage's beginning (a rescheduled ceremony, an extended window, a sent plan)."""

    kind: str
    at: datetime
    deadline: datetime
    to: Callable[[CaseData], list[Recipient]]
    about: tuple[str, str] | None = None
    known: datetime | None = None


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


def _before(
    kind: str,
    anchor: Callable[[CaseData], datetime | None],
    to: Callable,
    known: Callable[[CaseData], datetime | None] = lambda c: None,
) -> Callable:
    """One notice per reminder offset before the anchor moment (H-7, H-3, H-1); `known`: when the anchor was last
    moved within the stage, if it can be."""

    def notices(c: CaseData) -> list[Found]:
        moment = anchor(c)
        if moment is None:
            return []
        return [
            Found(kind, moment - offset, moment, to, known=known(c)) for offset in c.policy.calendar.reminders_before
        ]

    return notices


def _after_entering(kind: str, wait: Callable[[CaseData], list], to: Callable) -> Callable:
    """Notices a while after the case entered its stage: unsigned declarations, verifications past their SLA."""

    def notices(c: CaseData) -> list[Found]:
        if c.stage_since is None:
            return []
        return [Found(kind, c.stage_since + w, c.stage_since + w, to) for w in wait(c)]

    return notices


def _escalate_unreported(c: CaseData) -> list[Found]:
    """A unit that has not reported by the last reminder (H-1) is reported to its Kanwil."""
    deadline, offsets = c.reporting_deadline, c.policy.calendar.reminders_before
    return [Found("eskalasi_pelaporan", deadline - min(offsets), deadline, _kanwil)] if deadline and offsets else []


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
        # The reminders are known from the plan's sending: one whose moment had passed is not sent (H-1 says how
        # little time is left). The escalation is sent even then: an open action past its date is what the Kanwil
        # follows up, and nothing later tells it. Only a date kept from the plan before can have passed (a new or
        # moved one must lie ahead), and its escalation goes out once: a plan sent again does not repeat it.
        sent = c.rencana_dikirim
        found += [Found("tindakan_rencana", action.target - b, action.target, OPERATOR, about, sent) for b in before]
        found.append(Found("eskalasi_rencana", action.target, action.target, _kanwil, about))
    return found


STAGE_NOTICES: dict[str, list[Callable[[CaseData], list[Found]]]] = {
    "pencanangan_terjadwal": [
        _before(
            "pencanangan",
            lambda c: c.jadwal,
            _everyone(OPERATOR, KEPALA, _kanwil, _witnesses),
            lambda c: c.deadline_moved,
        )
    ],
    "dicanangkan": [_after_entering("pernyataan", lambda c: c.policy.calendar.reminders_before, KEPALA), _plan_actions],
    # A transition year (`ends_after` pembangunan) has no report for the plan to lead to, but its plan still applies:
    # building to meet the criteria is that year's whole work (DESIGN.md: units did pencanangan and pembangunan), so
    # its target dates are followed up, and escalated to the Kanwil, until the cycle ends the stage.
    "pembangunan": [
        _before(
            "persiapan_pelaporan",
            lambda c: c.policy.calendar.reporting_opens if c.policy.has_reporting else None,
            OPERATOR,
        ),
        _plan_actions,
    ],
    "pelaporan": [
        _before(
            "batas_pelaporan", lambda c: c.reporting_deadline, _everyone(OPERATOR, KEPALA), lambda c: c.deadline_moved
        ),
        _escalate_unreported,
    ],
    "perbaikan": [_before("batas_perbaikan", lambda c: c.revision_deadline, OPERATOR)],
    "verifikasi": [_after_entering("eskalasi_verifikasi", lambda c: [c.policy.calendar.verification_sla], _ditjen)],
    "evaluasi": [_after_entering("eskalasi_evaluasi", lambda c: [c.policy.calendar.evaluation_sla], _ditjen)],
    "lolos_evaluasi": [
        _before("upacara_penghargaan", lambda c: c.policy.calendar.award_ceremony, _everyone(OPERATOR, KEPALA))
    ],
}


def notices(case: CaseData, plans: bool = True, in_time: bool = True) -> list[Notice]:
    """The notices of the current stage still to come or due, in time order. None from before the stage began or its
    deadline was known: a reminder whose moment had passed when the ceremony was rescheduled, the window extended or
    the plan sent is not sent, as its "7 hari lagi" would be wrong; the next one still due says how little time is
    left. None from the moment the calendar ends the stage on: its follow-up ends with it (a plan's target dates in
    `pembangunan` until the reporting window opens, or in a transition year until the cycle ends).
    `plans` False: a case replayed from before action plans were followed up (workflow.patched("rencana")).
    `in_time` False: a case replayed from before those two bounds (workflow.patched("reminders-in-time")): only the
    stage's beginning counted."""
    timer = next_timer(case) if in_time else None
    found = []
    for rule in STAGE_NOTICES.get(case.stage or "", []):
        if rule is _plan_actions and not plans:
            continue
        for kind, at, deadline, to, about, known in rule(case):
            key = f"{case.year}/{case.unit.code}/{kind}/{at.isoformat()}" + (f"/{about[0]}" if about else "")
            since = [m for m in (case.stage_since, known if in_time else None) if m is not None]
            if since and at < max(since) or timer and at >= timer.at or key in case.reminded:
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
