"""Evidence (bukti dukung): content-addressed uploads. The same bytes give the same id, the sha256 of the bytes."""

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from sqlmodel import Session, col, select

from models.contracts import EvidenceInfo, Payload
from models.tables import EvidenceRow
from service.auth import UNIT_ROLES
from service.deps import ActorDep, SessionDep, State, require_role
from service.errors import ApiError
from service.limits import too_large
from workflows.reasons import reason

router = APIRouter(tags=["evidence"])

# Sniffed from the bytes, never from the file name or the client's content type.
SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}


def sniff(data: bytes) -> str | None:
    return next((media for magic, media in SIGNATURES.items() if data.startswith(magic)), None)


def stored_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


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
    if len(data) > limit:
        message, why = too_large(limit)
        raise ApiError(413, "too_large", message, why)
    media_type = sniff(data)
    if media_type is None:
        raise ApiError(
            415,
            "unsupported_type",
            reason("error.jenis_berkas_tidak_diterima"),
            [reason("berkas_bukan_foto_atau_pdf", berkas=file.filename or "")],
        )
    sha256 = hashlib.sha256(data).hexdigest()
    path = stored_path(state.settings.evidence_dir, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:  # whole file or nothing
            tmp.write(data)
        os.replace(tmp.name, path)
    assert actor.unit is not None
    if session.get(EvidenceRow, (sha256, actor.unit)) is None:
        session.add(
            EvidenceRow(
                id=sha256,
                unit=actor.unit,
                media_type=media_type,
                size=len(data),
                uploaded_by=actor.sub,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    else:
        response.status_code = 200
    return EvidenceInfo(id=sha256, media_type=media_type, size=len(data), unit=actor.unit)


@router.get("/evidence/{evidence_id}")
def download(evidence_id: str, _: ActorDep, session: SessionDep, state: State) -> Response:
    """The file itself, with its media type."""
    row = session.exec(select(EvidenceRow).where(EvidenceRow.id == evidence_id)).first()
    path = stored_path(state.settings.evidence_dir, evidence_id)
    if row is None or not path.exists():
        raise ApiError(404, "unknown_evidence", reason("error.bukti_tidak_ditemukan", bukti=evidence_id))
    return Response(path.read_bytes(), media_type=row.media_type, headers={"ETag": f'"{evidence_id}"'})


def resolve(session: Session, payload: Payload, unit: str) -> dict[str, EvidenceInfo]:
    """What the store knows of the files a payload names: the unit's own upload, else another unit's (the lifecycle
    refuses a foreign file with a reason, so it must know it exists)."""
    ids = payload.evidence_ids()
    if not ids:
        return {}
    rows = session.exec(select(EvidenceRow).where(col(EvidenceRow.id).in_(ids))).all()
    own_last = sorted(rows, key=lambda r: r.unit == unit)
    return {r.id: EvidenceInfo(id=r.id, media_type=r.media_type, size=r.size, unit=r.unit) for r in own_last}
