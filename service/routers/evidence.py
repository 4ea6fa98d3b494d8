"""Evidence (bukti dukung): content-addressed uploads. The same bytes give the same id, the sha256 of the bytes."""

import hashlib
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from sqlmodel import Session, col, func, select

from models.contracts import EvidenceInfo, Payload
from models.tables import EvidenceRow
from service.access import COMMAND, ReadEvidence, log_read, reads
from service.auth import UNIT_ROLES
from service.deps import ActorDep, SessionDep, State, Year, require_role
from service.errors import ApiError
from workflows.reasons import reason

router = APIRouter(tags=["evidence"])

# Sniffed from the bytes, never from the file name or the client's content type.
SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}


def sniff(data: bytes) -> str | None:
    return next((media for magic, media in SIGNATURES.items() if data.startswith(magic)), None)


def stored_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


SHA256 = re.compile(r"^[0-9a-f]{64}$")


@router.post("/evidence", status_code=201, dependencies=[reads(COMMAND)])
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
        raise ApiError(413, "too_large", f"The file is larger than {limit // (1024 * 1024)} MiB; nothing was kept.")
    media_type = sniff(data)
    if media_type is None:
        raise ApiError(
            415,
            "unsupported_type",
            "Only JPEG or PNG photos and PDF documents are accepted; nothing was kept.",
            [f"{file.filename or 'the file'} is not a JPEG, PNG or PDF (judged by its content, not its name)"],
        )
    sha256 = hashlib.sha256(data).hexdigest()
    assert actor.unit is not None
    if session.get(EvidenceRow, (sha256, actor.unit)) is None:
        used = session.exec(select(func.coalesce(func.sum(EvidenceRow.size), 0)).where(EvidenceRow.unit == actor.unit))
        quota = state.settings.evidence_quota_bytes
        if used.one() + len(data) > quota:
            raise ApiError(
                413, "quota_exceeded", reason("bukti.kuota_habis", unit=actor.unit, mib=quota // (1024 * 1024))
            )
    path = stored_path(state.settings.evidence_dir, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:  # whole file or nothing
            tmp.write(data)
        os.replace(tmp.name, path)
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


@router.get(
    "/cycles/{year}/cases/{unit}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "application/pdf": {}}}},
)
def download(
    year: Year, unit: str, evidence_id: str, case: ReadEvidence, actor: ActorDep, session: SessionDep, state: State
) -> Response:
    """A file the case's unit uploaded, with its media type; only through a case you may read. Each download is
    logged (who, when, which file)."""
    row = session.get(EvidenceRow, (evidence_id, case.unit)) if SHA256.match(evidence_id) else None
    path = stored_path(state.settings.evidence_dir, evidence_id)
    if row is None or not path.exists():
        raise ApiError(404, "unknown_evidence", reason("akses.bukti_tidak_ditemukan", unit=unit, year=year))
    log_read(session, actor, year, unit, [f"bukti:{evidence_id}"])
    headers = {
        "ETag": f'"{evidence_id}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Disposition": "attachment",
    }
    return Response(path.read_bytes(), media_type=row.media_type, headers=headers)


def resolve(session: Session, payload: Payload, unit: str) -> dict[str, EvidenceInfo]:
    """What the store knows of the files a payload names: the unit's own upload, else another unit's (the lifecycle
    refuses a foreign file with a reason, so it must know it exists)."""
    ids = payload.evidence_ids()
    if not ids:
        return {}
    rows = session.exec(select(EvidenceRow).where(col(EvidenceRow.id).in_(ids))).all()
    own_last = sorted(rows, key=lambda r: r.unit == unit)
    return {r.id: EvidenceInfo(id=r.id, media_type=r.media_type, size=r.size, unit=r.unit) for r in own_last}
