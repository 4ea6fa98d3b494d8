"""The auditor's verified replay of a case, and its audit pack for offline checking (see service/audit.py)."""

from fastapi import APIRouter, Response

from models.contracts import Actor
from service.audit import AuditVerdict, UnknownCase, audit_pack, in_words, pack_name, verify_case
from service.deps import ActorDep, SessionDep, State, get_client, require_role, temporal_errors
from service.errors import ApiError
from service.i18n import LocaleDep

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/audit", tags=["audit"])


def auditor_only(actor: Actor) -> None:
    # Checked before Temporal is reached, so a wrong role is a 403 even when Temporal is down.
    require_role(actor, "auditor")


@router.get("")
async def audit(
    year: int, unit: str, actor: ActorDep, session: SessionDep, state: State, locale: LocaleDep
) -> AuditVerdict:
    """Temporal's history replayed through today's code, the audit log's hash chain and steps verified, the read
    model compared. `ok` is true only without differences; each difference names the entry concerned, in the
    caller's language (`differences`) and as message ids with parameters (`difference_codes`)."""
    auditor_only(actor)
    client = await get_client(state)
    async with temporal_errors():
        try:
            return in_words(await verify_case(client, session, year, unit), locale)
        except UnknownCase as e:
            raise ApiError(404, "unknown_case", e.why) from None


@router.get("/pack", response_class=Response, responses={200: {"content": {"application/zip": {}}}})
async def pack(year: int, unit: str, actor: ActorDep, session: SessionDep, state: State, locale: LocaleDep) -> Response:
    """A zip: entries.json/.csv, the evidence manifest and files, the verdict, and verify.py to check it offline."""
    auditor_only(actor)
    client = await get_client(state)
    async with temporal_errors():
        try:
            evidence_dir = state.settings.evidence_dir
            verdict, data = await audit_pack(client, session, evidence_dir, year, unit, who=actor.sub, locale=locale)
        except UnknownCase as e:
            raise ApiError(404, "unknown_case", e.why) from None
    headers = {
        "Content-Disposition": f'attachment; filename="{pack_name(year, unit)}"',
        "X-P2HAM-Audit-Ok": "true" if verdict.ok else "false",
    }
    return Response(data, media_type="application/zip", headers=headers)
