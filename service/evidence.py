"""Evidence (bukti dukung): content-addressed files. The same bytes give the same id, the sha256 of the bytes.

Shared by the JSON API (`service/routers/evidence.py`) and the web pages: storing an upload, resolving the files a
payload names, and reading one back.
"""

import hashlib
import io
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fastapi import UploadFile
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session, col, func, select

from models.contracts import Actor, EvidenceInfo, Payload
from models.tables import EvidenceRow
from service.access import log_read
from service.errors import ApiError
from service.limits import too_large
from service.settings import Settings
from workflows.reasons import reason

# Sniffed from the bytes, never from the file name or the client's content type.
SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}


def sniff(data: bytes) -> str | None:
    return next((media for magic, media in SIGNATURES.items() if data.startswith(magic)), None)


def stored_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def store(
    session: Session, root: Path, limit: int, quota: int, actor: Actor, data: bytes, filename: str
) -> tuple[EvidenceInfo, bool]:
    """Keep one file of the actor's unit (at most `limit` bytes: pass one more to tell; the unit's files together at
    most `quota` bytes); (its info, newly stored)."""
    if len(data) > limit:
        message, why = too_large(limit)
        raise ApiError(413, "too_large", message, why)
    media_type = sniff(data)
    if media_type is None:
        raise ApiError(
            415,
            "unsupported_type",
            reason("error.jenis_berkas_tidak_diterima"),
            [reason("berkas_bukan_foto_atau_pdf", berkas=filename)],
        )
    sha256 = hashlib.sha256(data).hexdigest()
    assert actor.unit is not None
    created = session.get(EvidenceRow, (sha256, actor.unit)) is None
    if created:
        used = session.exec(select(func.coalesce(func.sum(EvidenceRow.size), 0)).where(EvidenceRow.unit == actor.unit))
        if used.one() + len(data) > quota:
            raise ApiError(
                413, "quota_exceeded", reason("bukti.kuota_habis", unit=actor.unit, mib=quota // (1024 * 1024))
            )
    path = stored_path(root, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:  # whole file or nothing
            tmp.write(data)
        os.replace(tmp.name, path)
    if created:
        session.add(
            EvidenceRow(
                id=sha256,
                unit=actor.unit,
                media_type=media_type,
                size=len(data),
                name=file_name(filename),
                uploaded_by=actor.sub,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    return EvidenceInfo(id=sha256, media_type=media_type, size=len(data), unit=actor.unit), created


def file_name(filename: str) -> str | None:
    """The uploaded file's own name, as shown beside it: without a client's folders or control characters."""
    name = "".join(c for c in filename.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable()).strip()
    return name[:200] or None


def described(session: Session, unit: str, ids: list[str]) -> dict[str, EvidenceRow]:
    """The unit's files among `ids`, by id: a page shows a photo's thumbnail, a document's name, type and size."""
    if not ids:
        return {}
    rows = session.exec(select(EvidenceRow).where(EvidenceRow.unit == unit, col(EvidenceRow.id).in_(ids)))
    return {r.id: r for r in rows}


def resolve(session: Session, payload: Payload, unit: str) -> dict[str, EvidenceInfo]:
    """What the store knows of the files a payload names: the unit's own upload, else another unit's (the lifecycle
    refuses a foreign file with a reason, so it must know it exists)."""
    ids = payload.evidence_ids()
    if not ids:
        return {}
    rows = session.exec(select(EvidenceRow).where(col(EvidenceRow.id).in_(ids))).all()
    own_last = sorted(rows, key=lambda r: r.unit == unit)
    return {r.id: EvidenceInfo(id=r.id, media_type=r.media_type, size=r.size, unit=r.unit) for r in own_last}


SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A unit's files may show a prison's inside: never cached on a shared computer, never sniffed into another type.
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


async def store_upload(
    session: Session, settings: Settings, actor: Actor, upload: UploadFile
) -> tuple[EvidenceInfo, bool]:
    """An uploaded file (the API's `POST /evidence`, a page's form), read up to the size limit and stored."""
    data = await upload.read(settings.evidence_max_bytes + 1)
    return store(
        session,
        settings.evidence_dir,
        settings.evidence_max_bytes,
        settings.evidence_quota_bytes,
        actor,
        data,
        upload.filename or "",
    )


def load_unit_file(session: Session, root: Path, evidence_id: str, unit: str) -> tuple[EvidenceRow, Path]:
    """One of the unit's own files, or a 404 (another unit's file, or an id that is no sha256, is not told apart
    from a missing one). Callers reach it only through a case they may read (`service.access.readable_case`)."""
    row = session.get(EvidenceRow, (evidence_id, unit)) if SHA256.match(evidence_id) else None
    path = stored_path(root, evidence_id)
    if row is None or not path.exists():
        raise ApiError(404, "unknown_evidence", reason("error.bukti_tidak_ditemukan", bukti=evidence_id[:64]))
    return row, path


def read_unit_file(
    session: Session, root: Path, actor: Actor, year: int, unit: str, evidence_id: str
) -> tuple[EvidenceRow, Path]:
    """`load_unit_file`, logged as a confidential read (who, when, which file: UU 27/2022)."""
    row, path = load_unit_file(session, root, evidence_id, unit)
    log_read(session, actor, year, unit, [f"bukti:{evidence_id}"])
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
