"""The cycle policy: which stages a year has, its calendar, weights and pass mark.

Policies are workflow input, so a test can pass a calendar measured in seconds. The official weights and pass
mark are not public: the defaults below are documented configuration, not the ministry's numbers.
"""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from models.criteria import Criterion, catalogue, criterion_codes
from models.written import Day, Moment, Period

Regulation = Literal["2018", "2022", "2023"]

DEFAULT_PASS_MARK = 75.0
DEFAULT_WEIGHTS = {"sarana": 30.0, "sdm": 20.0, "kepatuhan": 20.0, "inovasi": 15.0, "integritas": 15.0}


class Calendar(BaseModel):
    applications_close: Moment
    reporting_opens: Moment
    reporting_closes: Moment
    cycle_ends: Moment
    award_valid_until: Moment
    revision_period: Period = timedelta(days=14)
    # When set, the revision deadline is counted in working days (weekends and `holidays` skipped, the unit's zone).
    revision_working_days: int | None = Field(default=None, ge=1, le=60)
    # Public holidays and cuti bersama; None: filled from the `holidays` package when the policy is saved.
    holidays: list[Day] | None = None
    # H-7, H-3, H-1: reminders before each deadline; the smallest one is also when non-reporting units are escalated.
    reminders_before: list[Period] = Field(
        default_factory=lambda: [timedelta(days=7), timedelta(days=3), timedelta(days=1)], max_length=10
    )
    # Service levels: a verification or evaluation waiting longer is reported to Ditjen HAM.
    verification_sla: Period = timedelta(days=14)
    evaluation_sla: Period = timedelta(days=14)
    # The award ceremony (Hari HAM, 10 December); units that passed are reminded before it.
    award_ceremony: Moment | None = None

    @model_validator(mode="after")
    def _in_order(self) -> "Calendar":
        if not self.reporting_opens < self.reporting_closes:
            raise PydanticCustomError(
                "isian.pelaporan_dibuka_sebelum_ditutup", "reporting_opens before reporting_closes"
            )
        if not self.reporting_closes <= self.cycle_ends:
            raise PydanticCustomError(
                "isian.pelaporan_ditutup_sebelum_siklus_berakhir", "reporting_closes after cycle_ends"
            )
        if not self.cycle_ends <= self.award_valid_until:
            raise PydanticCustomError("isian.masa_berlaku_setelah_siklus", "award_valid_until before cycle_ends")
        periods = [self.revision_period, self.verification_sla, self.evaluation_sla, *self.reminders_before]
        if min(periods) <= timedelta(0):
            raise PydanticCustomError("isian.jangka_waktu_positif", "periods must be positive")
        return self


class EvidenceRules(BaseModel):
    min_photos: int = Field(default=3, ge=0, le=50)
    unique_across_criteria: bool = True


class CyclePolicy(BaseModel):
    regulation: Regulation
    ends_after: Literal["penghargaan", "pembangunan"] = "penghargaan"
    calendar: Calendar
    pass_mark: float = Field(default=DEFAULT_PASS_MARK, ge=0, le=100)
    weights: dict[str, float] = Field(default_factory=dict)
    evidence: EvidenceRules = Field(default_factory=EvidenceRules)

    @model_validator(mode="after")
    def _weights_match_criteria(self) -> "CyclePolicy":
        codes = list(criterion_codes(self.regulation))
        if not self.weights:
            self.weights = {code: DEFAULT_WEIGHTS[code] for code in codes}
        unknown = sorted(set(self.weights) - set(codes))
        missing = sorted(set(codes) - set(self.weights))
        if unknown or missing:
            raise PydanticCustomError(
                "isian.bobot_kriteria",
                "weights must name exactly the criteria {kriteria}; unknown {tidak_dikenal}, missing {kurang}",
                {"kriteria": codes, "tidak_dikenal": unknown, "kurang": missing},
            )
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise PydanticCustomError("isian.bobot_nol", "weights must be non-negative and not all zero")
        return self

    @property
    def has_reporting(self) -> bool:
        return self.ends_after == "penghargaan"

    def criteria_for(self, unit_kind: str = "") -> list[Criterion]:
        return catalogue(self.regulation, unit_kind)

    def weighted_score(self, sheets: dict[str, dict[str, float]]) -> float:
        """Mean of the assessors' weighted totals, each on 0..100."""
        total_weight = sum(self.weights.values())
        totals = [
            sum(self.weights[code] * sheet.get(code, 0.0) for code in self.weights) / total_weight
            for sheet in sheets.values()
        ]
        return round(sum(totals) / len(totals), 2) if totals else 0.0


class CyclePolicyView(CyclePolicy):
    """What `GET /cycles/{year}` answers: the policy plus the catalogue it implies."""

    year: int
    criteria: list[Criterion]


class UnitPolicyView(BaseModel):
    """`GET /cycles/{year}` for the unit roles: the policy without its pass mark and weights."""

    year: int
    regulation: Regulation
    ends_after: Literal["penghargaan", "pembangunan"]
    calendar: Calendar
    evidence: EvidenceRules
    criteria: list[Criterion]


def compressed_calendar(start: datetime, step: timedelta) -> Calendar:
    """A calendar for demos and tests, measured in `step`s from `start`: the whole year in a few seconds."""
    return Calendar(
        applications_close=start + 10 * step,
        reporting_opens=start + 3 * step,
        reporting_closes=start + 10 * step,
        cycle_ends=start + 11 * step,
        award_valid_until=start + 12 * step,
        revision_period=3 * step,
        reminders_before=[step],
        verification_sla=3 * step,
        evaluation_sla=3 * step,
        award_ceremony=start + 11 * step,
    )
