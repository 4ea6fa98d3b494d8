"""The auditor's verified replay of a case, and its audit pack for offline checking (see service/audit/)."""

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlmodel import col, select

from models.contracts import Actor
from models.tables import ReadLogRow
from service.access import readable_case, reads
from service.audit import AuditVerdict, PackTooLarge, UnknownCase, download_pack, in_words, verify_case
from service.deps import (
    ActorDep,
    LimitsDep,
    SessionDep,
    State,
    UnitCode,
    Year,
    get_client,
    require_role,
    temporal_errors,
)
from service.errors import ApiError
from service.i18n import LocaleDep
from service.openapi import errors
from workflows.reasons import reason

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/audit", tags=["audit"])


def auditor_only(actor: Actor) -> None:
    # Checked before Temporal is reached, so a wrong role is a 403 even when Temporal is down.
    require_role(actor, "auditor")


@router.get("", dependencies=[reads("audit")], responses=errors(503))  # Temporal, asked after the role
async def audit(
    year: Year, unit: UnitCode, actor: ActorDep, session: SessionDep, state: State, limits: LimitsDep, locale: LocaleDep
) -> AuditVerdict:
    """Temporal's history replayed through today's code, the audit log's hash chain and steps verified, the read
    model compared. `ok` is true only without differences; each difference names the entry concerned, in the
    caller's language (`differences`) and as message ids with parameters (`difference_codes`)."""
    auditor_only(actor)
    limits.expensive(actor)
    client = await get_client(state)
    async with temporal_errors():
        try:
            return in_words(await verify_case(client, session, year, unit), locale)
        except UnknownCase as e:
            raise ApiError(404, "unknown_case", e.why) from None


@router.get(
    "/pack",
    dependencies=[reads("audit")],
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}, **errors(413, 503)},
)
async def pack(
    year: Year, unit: UnitCode, actor: ActorDep, session: SessionDep, state: State, limits: LimitsDep, locale: LocaleDep
) -> FileResponse:
    """A zip: entries.json/.csv, the evidence manifest and files, the verdict, and verify.py to check it offline.
    Built in a temporary file off the event loop and streamed; above P2HAM_AUDIT_PACK_MAX_BYTES it is refused with
    413 (`p2ham audit-pack` writes any size)."""
    auditor_only(actor)
    limits.expensive(actor)
    client = await get_client(state)
    async with temporal_errors():
        try:
            return await download_pack(client, session, state.settings, actor, year, unit, locale)
        except UnknownCase as e:
            raise ApiError(404, "unknown_case", e.why) from None
        except PackTooLarge as e:
            raise ApiError(413, "pack_too_large", reason("audit.paket_terlalu_besar"), [e.why]) from None


class ReadLogEntry(BaseModel):
    at: datetime
    what: str
    actor: dict[str, str]


@router.get("/reads", dependencies=[reads("audit")])
def read_log(year: Year, unit: UnitCode, actor: ActorDep, session: SessionDep) -> list[ReadLogEntry]:
    """Who read what is confidential of this case (evidence files, score sheets, audit packs, witnesses' personal
    data), and when: oldest first."""
    readable_case(session, actor, "audit", year, unit)
    rows = session.exec(
        select(ReadLogRow)
        .where(ReadLogRow.year == year, ReadLogRow.unit == unit)
        .order_by(col(ReadLogRow.at), col(ReadLogRow.id))
        .limit(10_000)
    )
    return [
        ReadLogEntry(at=r.at, what=r.what, actor={"sub": r.actor_sub, "name": r.actor_name, "role": r.actor_role})
        for r in rows
    ]
