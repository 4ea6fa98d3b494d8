"""Evidence (bukti dukung): content-addressed files. The same bytes give the same id, the sha256 of the bytes.

Shared by the JSON API (`service/routers/evidence.py`) and the web pages: storing an upload, resolving the files a
payload names, and reading one back.
"""

import hashlib
import io
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session, col, select

from models.contracts import Actor, EvidenceInfo, Payload
from models.tables import EvidenceRow
from service.errors import ApiError
from workflows.reasons import reason

# Sniffed from the bytes, never from the file name or the client's content type.
SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}


def sniff(data: bytes) -> str | None:
    return next((media for magic, media in SIGNATURES.items() if data.startswith(magic)), None)


def stored_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def store(
    session: Session, root: Path, limit: int, actor: Actor, data: bytes, filename: str
) -> tuple[EvidenceInfo, bool]:
    """Keep one file of the actor's unit (at most `limit` bytes: pass one more to tell); (its info, newly stored)."""
    if len(data) > limit:
        raise ApiError(413, "too_large", reason("error.berkas_terlalu_besar", batas=limit // (1024 * 1024)))
    media_type = sniff(data)
    if media_type is None:
        raise ApiError(
            415,
            "unsupported_type",
            reason("error.jenis_berkas_tidak_diterima"),
            [reason("berkas_bukan_foto_atau_pdf", berkas=filename)],
        )
    sha256 = hashlib.sha256(data).hexdigest()
    path = stored_path(root, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:  # whole file or nothing
            tmp.write(data)
        os.replace(tmp.name, path)
    assert actor.unit is not None
    created = session.get(EvidenceRow, (sha256, actor.unit)) is None
    if created:
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
    return EvidenceInfo(id=sha256, media_type=media_type, size=len(data), unit=actor.unit), created


def load_file(session: Session, root: Path, evidence_id: str) -> tuple[EvidenceRow, Path]:
    """The stored file's row and path, or a 404."""
    row = session.exec(select(EvidenceRow).where(EvidenceRow.id == evidence_id)).first()
    path = stored_path(root, evidence_id)
    if row is None or not path.exists():
        raise ApiError(404, "unknown_evidence", reason("error.bukti_tidak_ditemukan", bukti=evidence_id))
    return row, path


def resolve(session: Session, payload: Payload, unit: str) -> dict[str, EvidenceInfo]:
    """What the store knows of the files a payload names: the unit's own upload, else another unit's (the lifecycle
    refuses a foreign file with a reason, so it must know it exists)."""
    ids = payload.evidence_ids()
    if not ids:
        return {}
    rows = session.exec(select(EvidenceRow).where(col(EvidenceRow.id).in_(ids))).all()
    own_last = sorted(rows, key=lambda r: r.unit == unit)
    return {r.id: EvidenceInfo(id=r.id, media_type=r.media_type, size=r.size, unit=r.unit) for r in own_last}


def load_unit_file(session: Session, root: Path, evidence_id: str, unit: str) -> tuple[EvidenceRow, Path]:
    """One of the unit's own files, or a 404 (another unit's file is not told apart from a missing one)."""
    row = session.get(EvidenceRow, (evidence_id, unit))
    path = stored_path(root, evidence_id)
    if row is None or not path.exists():
        raise ApiError(404, "unknown_evidence", reason("error.bukti_tidak_ditemukan", bukti=evidence_id))
    return row, path


THUMBNAIL = (240, 240)


def thumbnail(root: Path, evidence_id: str) -> bytes:
    """A small JPEG of a stored photo, made once and kept beside it; a PDF has none (404)."""
    small = stored_path(root, evidence_id).with_suffix(".kecil.jpg")
    if not small.exists():
        try:
            with Image.open(stored_path(root, evidence_id)) as image:
                image = ImageOps.exif_transpose(image).convert("RGB")
                image.thumbnail(THUMBNAIL)
                buffer = io.BytesIO()
                image.save(buffer, "JPEG", quality=70)
        except (UnidentifiedImageError, OSError):
            raise ApiError(404, "unknown_evidence", reason("error.bukti_tidak_ditemukan", bukti=evidence_id)) from None
        with tempfile.NamedTemporaryFile(dir=small.parent, delete=False) as tmp:
            tmp.write(buffer.getvalue())
        os.replace(tmp.name, small)
    return small.read_bytes()
