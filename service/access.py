"""The one place every read asks (the rules themselves are declared in `workflows/access.py`).

A route declares the resource it reads with a dependency: `ReadableCase("history")` loads a case the caller may read
(404 otherwise, never confirming that it exists), `reads("config")` marks a route open to every signed-in role, and
`visible_cases` filters lists in SQL. `tests/test_read_rules.py` walks every route of the app and fails on one that
declares nothing.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import ColumnElement, false, true, tuple_
from sqlmodel import Session, func, select

from models.contracts import Actor, CaseData
from models.tables import AssignmentRow, CaseRow, CeremonyRow, ReadLogRow, UnitRow
from service.deps import ActorDep, SessionDep, UnitCode, Year
from service.errors import ApiError
from workflows import access
from workflows.reasons import reason

# What a route reads besides the access table's resources: nothing (health, metrics) or a change decided by `RULES`
# and the route's own role check (a command).
PUBLIC, COMMAND = "public", "command"
READ_RULE = "p2ham_read_rule"  # the attribute that marks a dependency as a route's declared read rule


def declared(rule: str, dependency: Callable[..., Any]) -> Callable[..., Any]:
    setattr(dependency, READ_RULE, rule)
    return dependency


def reads(rule: str) -> Any:
    """A route-level declaration: `dependencies=[reads("config")]`. For `config`, `audit`, `ceremony` and
    `notification` the caller's role must have a scope other than none; `public` and `command` only declare."""
    if rule in (PUBLIC, COMMAND):
        return Depends(declared(rule, lambda: None))

    def role_may_read(actor: ActorDep) -> Actor:
        require_scope(actor, rule)
        return actor

    return Depends(declared(rule, role_may_read))


def declared_rule(dependant: Any) -> str | None:
    """The read rule a route declares (searched through its dependencies), or None: a route that forgot."""
    for dep in dependant.dependencies:
        found = getattr(dep.call, READ_RULE, None) or declared_rule(dep)
        if found:
            return found
    return None


def role_reads(actor: Actor, resource: str) -> bool:
    """Whether the official's role reads this resource at all (in some scope): what a page or a link asks first."""
    return access.scope(actor, resource) != "none"


def require_scope(actor: Actor, resource: str) -> None:
    """A role that never reads this resource is refused before any case is looked at (403)."""
    if not role_reads(actor, resource):
        raise ApiError(
            403,
            "forbidden",
            reason("akses.baca_ditolak"),
            [reason("akses.peran_tidak_membaca", role=actor.role, sumber=resource)],
        )


def not_found(year: int, unit: str) -> ApiError:
    return ApiError(404, "unknown_case", reason("error.kasus_tidak_ditemukan", unit=unit, tahun=year))


def readable_case(session: Session, actor: Actor, resource: str, year: int, unit: str) -> CaseRow:
    """The case row, if this official may read this resource of it; else 404, exactly as for a case that does not
    exist."""
    require_scope(actor, resource)
    row = session.get(CaseRow, (year, unit))
    if row is None or not access.may_read(CaseData.model_validate(row.data), actor, resource):
        raise not_found(year, unit)
    return row


def ReadableCase(resource: str) -> Any:  # noqa: N802 (reads like the type it annotates)
    """`Annotated[CaseRow, ReadableCase("history")]`: the `{year}`/`{unit}` case of the path, readable by the caller."""

    def dependency(year: Year, unit: UnitCode, actor: ActorDep, session: SessionDep) -> CaseRow:
        return readable_case(session, actor, resource, year, unit)

    return Depends(declared(resource, dependency))


ReadCase = Annotated[CaseRow, ReadableCase("case")]
ReadHistory = Annotated[CaseRow, ReadableCase("history")]
ReadDraft = Annotated[CaseRow, ReadableCase("draft")]
ReadEvidence = Annotated[CaseRow, ReadableCase("evidence")]
ReadDocument = Annotated[CaseRow, ReadableCase("document")]


def visible_cases(actor: Actor, resource: str = "case") -> ColumnElement[bool]:
    """The SQL condition on `case_view` rows this official may read: lists and counts of lists use it."""
    match access.scope(actor, resource):
        case "all":
            return true()
        case "own_unit":
            return CaseRow.unit == (actor.unit or "")
        case "region":
            return CaseRow.region == (actor.region or "")
        case "assigned":
            mine = select(AssignmentRow.year, AssignmentRow.unit).where(
                AssignmentRow.sub == actor.sub, AssignmentRow.role == actor.role
            )
            return tuple_(CaseRow.year, CaseRow.unit).in_(mine) & (CaseRow.unit != (actor.unit or ""))
    return false()


def visible_case_page(session: Session, actor: Actor, year: int, offset: int, limit: int) -> tuple[int, list[CaseRow]]:
    """The total and one page (by unit code) of the cases of `year` this official may read."""
    where = (CaseRow.year == year, visible_cases(actor))
    total = session.exec(select(func.count()).select_from(CaseRow).where(*where)).one()
    rows = session.exec(select(CaseRow).where(*where).order_by(CaseRow.unit).offset(offset).limit(limit)).all()
    return total, list(rows)


def visible_ceremonies(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition on ceremonies this official may read: every one, or its region's."""
    match access.scope(actor, "ceremony"):
        case "all":
            return true()
        case "region":
            return CeremonyRow.region == (actor.region or "")
    return false()


MAX_DEPTH = 10  # a registry deeper than this is a loop, not an organisation


def lineage(session: Session, unit: str) -> tuple[str, ...]:
    """The unit's parents in the unit registry, nearest first: an assessor from any of them judges their own."""
    parents: list[str] = []
    row = session.get(UnitRow, unit)
    while row is not None and row.parent and row.parent not in parents and len(parents) < MAX_DEPTH:
        parents.append(row.parent)
        row = session.get(UnitRow, row.parent)
    return tuple(parents)


def log_read(session: Session, actor: Actor, year: int, unit: str, what: list[str]) -> None:
    """Record that this official read something confidential of the case (one row per kind of thing)."""
    now = datetime.now(UTC)
    for item in what:
        session.add(
            ReadLogRow(
                at=now,
                year=year,
                unit=unit,
                what=item[:100],
                actor_sub=actor.sub,
                actor_name=actor.name,
                actor_role=actor.role,
            )
        )
    session.commit()
