"""Outcome documents of a case, rendered on request from the read model (see service/documents.py)."""

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import Session, select

from models.contracts import CaseData
from models.tables import TransitionRow
from service import documents
from service.cases import load_case
from service.deps import ActorDep, SessionDep, State
from service.errors import ApiError
from workflows.reasons import Reason, reason

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/documents", tags=["documents"])


@router.get("/hasil-evaluasi", response_class=HTMLResponse)
def hasil_evaluasi(year: int, unit: str, _: ActorDep, session: SessionDep) -> HTMLResponse:
    """The evaluation's outcome document, once the result is fixed: the *Berita Acara Hasil Evaluasi* (lolos) or the
    *Surat Keterangan Hasil Evaluasi* with the reasons per criterion (tidak lolos)."""
    row = load_case(session, year, unit)
    history = history_of(session, year, unit)
    document = documents.hasil_evaluasi(CaseData.model_validate(row.data), history)
    if document is None:
        raise ApiError(
            404,
            "no_evaluation_result",
            reason("error.hasil_evaluasi_belum_ada", unit=unit, tahun=year),
            [not_yet(row.stage, history)],
        )
    return HTMLResponse(document.html, headers={"Content-Disposition": f'attachment; filename="{document.filename}"'})


def history_of(session: Session, year: int, unit: str) -> Sequence[TransitionRow]:
    query = select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit)
    return session.exec(query.order_by(TransitionRow.seq)).all()


def not_yet(stage: str, history: Sequence[TransitionRow]) -> Reason:
    if any(e.event == "tidak_lolos_verifikasi" for e in history):
        return reason("berakhir_di_verifikasi")
    return reason("hasil_evaluasi_belum_ditetapkan", stage=stage)


@router.get("/surat-keterangan-predikat", response_class=HTMLResponse)
def surat_keterangan_predikat(year: int, unit: str, _: ActorDep, session: SessionDep, state: State) -> HTMLResponse:
    """The award letter once the Predikat is awarded, with a QR code to its public verification page."""
    row = load_case(session, year, unit)
    history = history_of(session, year, unit)
    document = documents.surat_keterangan_predikat(
        CaseData.model_validate(row.data), history, state.settings.public_url
    )
    if document is None:
        raise ApiError(
            404, "no_award", reason("error.predikat_belum_ditetapkan", unit=unit, tahun=year, stage=row.stage)
        )
    return HTMLResponse(document.html, headers={"Content-Disposition": f'attachment; filename="{document.filename}"'})
