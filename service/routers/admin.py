"""Cycle policies and the unit registry."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import select

from models.contracts import UnitInfo, UnitKind
from models.policy import CyclePolicy, CyclePolicyView, UnitPolicyView
from models.tables import UnitRow
from service import cycle_policy
from service.access import COMMAND, reads
from service.deps import ActorDep, RegionCode, SessionDep, Year, require_role
from service.openapi import already
from service.registry import load_policy
from workflows import access

router = APIRouter(tags=["cycles and units"])


def policy_view(year: int, policy: CyclePolicy, kind: str = "") -> CyclePolicyView:
    return CyclePolicyView(**policy.model_dump(), year=year, criteria=policy.criteria_for(kind))


@router.put("/cycles/{year}", dependencies=[reads(COMMAND)])
def put_cycle(year: Year, policy: CyclePolicy, actor: ActorDep, session: SessionDep) -> CyclePolicyView:
    """Set a cycle's policy. Running cases keep the policy they started with (it is their workflow input)."""
    require_role(actor, "admin")
    cycle_policy.save(session, year, policy)
    return policy_view(year, policy)


@router.get("/cycles/{year}", dependencies=[reads("config")], response_model=CyclePolicyView | UnitPolicyView)
def get_cycle(
    year: Year, actor: ActorDep, session: SessionDep, kind: UnitKind | None = None
) -> CyclePolicyView | UnitPolicyView:
    """The policy and its criteria catalogue; `kind` picks the unit kind's checklist (e.g. upt_pemasyarakatan). Unit
    roles get it without the pass mark and the weights."""
    view = policy_view(year, load_policy(session, year), kind or "")
    if access.sees_results_policy(actor):
        return view
    return UnitPolicyView.model_validate(view.model_dump(exclude={"pass_mark", "weights"}))


@router.post("/units", status_code=201, dependencies=[reads(COMMAND)], responses=already(UnitInfo))
def post_unit(unit: UnitInfo, actor: ActorDep, session: SessionDep, response: Response) -> UnitInfo:
    """Register a unit, or correct a registered one (same code)."""
    require_role(actor, "admin")
    row = session.get(UnitRow, unit.code)
    if row is None:
        row = UnitRow(**unit.model_dump())
    else:
        response.status_code = 200
        for field, value in unit.model_dump().items():
            setattr(row, field, value)
    session.add(row)
    session.commit()
    return unit


@router.get("/units", dependencies=[reads("config")])
def list_units(
    _: ActorDep,
    session: SessionDep,
    region: RegionCode = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[UnitInfo]:
    query = select(UnitRow).order_by(UnitRow.code).offset(offset).limit(limit)
    if region:
        query = query.where(UnitRow.region == region)
    return [UnitInfo.model_validate(row, from_attributes=True) for row in session.exec(query)]
