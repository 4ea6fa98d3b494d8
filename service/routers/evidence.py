"""Evidence (bukti dukung) over HTTP: uploads and downloads; the store itself is `service/evidence.py`."""

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from models.contracts import EvidenceInfo
from service import evidence
from service.auth import UNIT_ROLES
from service.deps import ActorDep, SessionDep, State, require_role

router = APIRouter(tags=["evidence"])


@router.post("/evidence", status_code=201)
async def upload(
    file: Annotated[UploadFile, File(description="A JPEG or PNG photo, or a PDF")],
    actor: ActorDep,
    session: SessionDep,
    state: State,
    response: Response,
) -> EvidenceInfo:
    """Upload one file for your unit. Uploading the same bytes again returns the same id."""
    require_role(actor, *sorted(UNIT_ROLES))
    limit = state.settings.evidence_max_bytes
    data = await file.read(limit + 1)
    info, created = evidence.store(session, state.settings.evidence_dir, limit, actor, data, file.filename or "")
    if not created:
        response.status_code = 200
    return info


@router.get("/evidence/{evidence_id}")
def download(evidence_id: str, _: ActorDep, session: SessionDep, state: State) -> Response:
    """The file itself, with its media type."""
    row, path = evidence.load_file(session, state.settings.evidence_dir, evidence_id)
    return Response(path.read_bytes(), media_type=row.media_type, headers={"ETag": f'"{evidence_id}"'})
