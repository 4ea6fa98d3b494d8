"""Who may *see* what: the read rules, declared once beside `RULES` (who may *do* what).

Every read of the API asks `service/access.py`, which derives its checks and its SQL filters from `READS`; every route
declares which resource it reads (`service.access.reads`), and a test walks every route of the app with every role.
Pure data and pure functions: no I/O, safe to import from workflow code.
"""

from typing import Literal, get_args

from models.contracts import Actor, CaseData
from workflows.lifecycle import RULES, sources

Scope = Literal["none", "own_unit", "region", "assigned", "all"]
Resource = Literal[
    "case", "history", "draft", "evidence", "document", "ceremony", "notification", "audit", "dashboard", "config"
]
RESOURCES: tuple[str, ...] = get_args(Resource)

# A case resource is read on one case (404 when that case is out of the caller's scope); `ceremony`, `notification`,
# `audit` and `config` are read through their own routes. `config` (cycles, units, the lifecycle, aggregate counts)
# is open to every signed-in role. `dashboard` is the oversight page (the counts with the overdue cases named, the
# downloads): Ditjen HAM and auditors nationally, a Kanwil for its region.
CASE_RESOURCES = ("case", "history", "draft", "evidence", "document")

_UNIT: dict[str, Scope] = {
    "case": "own_unit",
    "history": "own_unit",
    "draft": "own_unit",
    "evidence": "own_unit",
    "document": "own_unit",
    "ceremony": "none",
    "notification": "own_unit",
    "audit": "none",
    "dashboard": "none",
    "config": "all",
}
_JUDGE: dict[str, Scope] = {
    "case": "assigned",
    "history": "assigned",
    "draft": "none",
    "evidence": "assigned",
    "document": "assigned",
    "ceremony": "none",
    "notification": "assigned",
    "audit": "none",
    "dashboard": "none",
    "config": "all",
}
_EVERYTHING: dict[str, Scope] = dict.fromkeys(RESOURCES, "all")

READS: dict[str, dict[str, Scope]] = {
    "operator_unit": _UNIT,
    "kepala_unit": _UNIT,
    "kanwil": {**dict.fromkeys(RESOURCES, "region"), "audit": "none", "config": "all"},
    "verifikator": _JUDGE,
    "penilai": _JUDGE,
    "ketua_penilai": _JUDGE,
    "ditjen_ham": {**_EVERYTHING, "audit": "none"},
    "auditor": _EVERYTHING,
    # Configuration and the unit registry; a case's stage (an admin may cancel any case), never its contents.
    "admin": {**dict.fromkeys(RESOURCES, "none"), "case": "all", "config": "all"},
}

JUDGES = ("verifikator", "penilai", "ketua_penilai")


def scope(actor: Actor, resource: str) -> Scope:
    """The caller's scope for a resource; an unknown role or resource sees nothing (deny by default)."""
    return READS.get(actor.role, {}).get(resource, "none")


def assigned(case: CaseData, actor: Actor) -> bool:
    """Whether the case's team (`tugaskan`) names this official in the role of the token."""
    return case.penugasan is not None and actor.sub in case.penugasan.members(actor.role)


def may_read(case: CaseData, actor: Actor, resource: str) -> bool:
    """The one answer to "may this official read this resource of this case"."""
    match scope(actor, resource):
        case "all":
            return True
        case "own_unit":
            return actor.unit == case.unit.code
        case "region":
            return actor.region == case.unit.region
        case "assigned":
            return actor.unit != case.unit.code and assigned(case, actor)
    return False


# --- Independent assessment: who sees a score sheet ----------------------------------------------------------------

SheetView = Literal["full", "anonymous", "hidden"]
SHEET_READERS = ("ditjen_ham", "auditor")  # besides the sheet's author and the case's head of the assessment team


def score_sheet_view(case: CaseData, actor: Actor, author: str) -> SheetView:
    """How this official sees the score sheet `author` sent: in full (its author, the assigned head, Ditjen HAM,
    auditors); once the result is fixed, the scores without who gave them (everyone else who reads the case); before
    that, not at all, so the assessors judge independently."""
    team = case.penugasan
    head = team is not None and actor.role == "ketua_penilai" and actor.sub == team.ketua_penilai
    if actor.role in SHEET_READERS or head or (actor.role == "penilai" and actor.sub == author):
        return "full"
    return "anonymous" if case.score is not None else "hidden"


def names_assessors(case: CaseData, actor: Actor) -> bool:
    """Whether this official reads who gave which score sheet (else the sheets are numbered, not named)."""
    return all(score_sheet_view(case, actor, author) == "full" for author in case.score_sheets)


def sees_results_policy(actor: Actor) -> bool:
    """The pass mark and the weights are not served to the unit roles (they see the result, not the formula)."""
    return actor.role not in ("operator_unit", "kepala_unit")


def acting_stages(role: str) -> frozenset[str]:
    """The stages in which this role has an event at all, read off `RULES` and the machine: a worklist looks only at
    cases in these stages (the rest can never wait for this role)."""
    return frozenset(stage for event, rule in RULES.items() if role in rule.roles for stage in sources(event))


SCOPE_WORDS = {
    "none": "-",
    "own_unit": "own unit",
    "region": "units of its region",
    "assigned": "cases assigned to it",
    "all": "all",
}


def read_table() -> str:
    """The read rules as a Markdown table for the README (a test keeps the README equal to it)."""
    rows = ["| role | " + " | ".join(RESOURCES) + " |", "| --- |" + " --- |" * len(RESOURCES)]
    for role, scopes in READS.items():
        rows.append(f"| `{role}` | " + " | ".join(SCOPE_WORDS[scopes[r]] for r in RESOURCES) + " |")
    return "\n".join(rows)
