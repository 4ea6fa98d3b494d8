"""Evidence (bukti dukung) over HTTP: uploads, and downloads through a case; the store is `service/evidence.py`."""

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from models.contracts import EvidenceInfo
from service import evidence
from service.access import COMMAND, ReadEvidence, reads
from service.auth import UNIT_ROLES
from service.deps import ActorDep, EvidenceId, SessionDep, State, UnitCode, Year, require_role
from service.openapi import already

router = APIRouter(tags=["evidence"])


@router.post("/evidence", status_code=201, dependencies=[reads(COMMAND)], responses=already(EvidenceInfo))
async def upload(
    file: Annotated[UploadFile, File(description="A JPEG or PNG photo, or a PDF")],
    actor: ActorDep,
    session: SessionDep,
    state: State,
    response: Response,
) -> EvidenceInfo:
    """Upload one file for your unit. Uploading the same bytes again returns the same id."""
    require_role(actor, *sorted(UNIT_ROLES))
    info, created = await evidence.store_upload(session, state.settings, actor, file)
    if not created:
        response.status_code = 200
    return info


@router.get(
    "/cycles/{year}/cases/{unit}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "application/pdf": {}}}},
)
def download(
    year: Year,
    unit: UnitCode,
    evidence_id: EvidenceId,
    case: ReadEvidence,
    actor: ActorDep,
    session: SessionDep,
    state: State,
) -> Response:
    """A file the case's unit uploaded, with its media type; only through a case you may read. Each download is
    logged (who, when, which file)."""
    row, path = evidence.read_unit_file(session, state.settings.evidence_dir, actor, year, case.unit, evidence_id)
    headers = {"ETag": f'"{evidence_id}"', "Content-Disposition": "attachment", **evidence.HEADERS}
    return Response(path.read_bytes(), media_type=row.media_type, headers=headers)
