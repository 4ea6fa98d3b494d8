"""Outcome documents of a case, rendered on request from the read model (see service/documents.py)."""

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import select

from models.contracts import CaseData
from models.tables import TransitionRow
from service import documents
from service.access import ReadDocument
from service.deps import ActorDep, SessionDep, Year
from service.errors import ApiError
from workflows import access

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/documents", tags=["documents"])


@router.get("/hasil-evaluasi", response_class=HTMLResponse)
def hasil_evaluasi(year: Year, unit: str, row: ReadDocument, actor: ActorDep, session: SessionDep) -> HTMLResponse:
    """The evaluation's outcome document, once the result is fixed: the *Berita Acara Hasil Evaluasi* (lolos) or the
    *Surat Keterangan Hasil Evaluasi* with the reasons per criterion (tidak lolos)."""
    history = session.exec(
        select(TransitionRow).where(TransitionRow.year == year, TransitionRow.unit == unit).order_by(TransitionRow.seq)
    ).all()
    case = CaseData.model_validate(row.data)
    named = all(access.score_sheet_view(case, actor, author) == "full" for author in case.score_sheets)
    document = documents.hasil_evaluasi(case, history, anonymous=not named)
    if document is None:
        raise ApiError(
            404,
            "no_evaluation_result",
            f"The {year} case of {unit} has no evaluation result yet.",
            [not_yet(row.stage, history)],
        )
    return HTMLResponse(document.html, headers={"Content-Disposition": f'attachment; filename="{document.filename}"'})


def not_yet(stage: str, history: Sequence[TransitionRow]) -> str:
    if any(e.event == "tidak_lolos_verifikasi" for e in history):
        return (
            "the case ended at verification (tidak_lolos_verifikasi), before evaluation; the reason is in its history"
        )
    return (
        f"the case is at stage {stage}; the document exists once the head of the assessment team has fixed the "
        "evaluation result (tetapkan_hasil_evaluasi)"
    )
