"""Outcome documents of a case, rendered on request from the read model (see service/documents.py)."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from models.contracts import CaseData
from models.tables import TransitionRow
from service import documents
from service.access import ReadDocument
from service.cases import transitions
from service.deps import ActorDep, SessionDep, State, UnitCode, Year
from service.errors import ApiError
from service.i18n import LocaleDep
from workflows.reasons import Reason, reason

router = APIRouter(prefix="/cycles/{year}/cases/{unit}/documents", tags=["documents"])

# A document is HTML; its errors are the API's JSON ones (a route's response class would claim them as HTML too).
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {"schema": {"type": "string"}}}}}


@router.get("/hasil-evaluasi", response_class=Response, responses=HTML)
def hasil_evaluasi(
    year: Year, unit: UnitCode, row: ReadDocument, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> HTMLResponse:
    """The evaluation's outcome document, once the result is fixed: the *Berita Acara Hasil Evaluasi* (lolos) or the
    *Surat Keterangan Hasil Evaluasi* with the reasons per criterion (tidak lolos). In Bahasa Indonesia, or in English
    on request (`Accept-Language`, `?lang=`)."""
    history = transitions(session, year, unit)
    document = documents.hasil_evaluasi(CaseData.model_validate(row.data), history, actor, locale)
    if document is None:
        raise ApiError(
            404,
            "no_evaluation_result",
            reason("error.hasil_evaluasi_belum_ada", unit=unit, tahun=year),
            [not_yet(row.stage, history)],
        )
    headers = {"Content-Disposition": f'attachment; filename="{document.filename}"', "Content-Language": locale}
    return HTMLResponse(document.html, headers=headers)


def not_yet(stage: str, history: Sequence[TransitionRow]) -> Reason:
    if any(e.event == "tidak_lolos_verifikasi" for e in history):
        return reason("berakhir_di_verifikasi")
    return reason("hasil_evaluasi_belum_ditetapkan", stage=stage)


@router.get("/surat-keterangan-predikat", response_class=Response, responses=HTML)
def surat_keterangan_predikat(
    year: Year, unit: UnitCode, row: ReadDocument, session: SessionDep, state: State, locale: LocaleDep
) -> HTMLResponse:
    """The award letter once the Predikat is awarded, with a QR code to its public verification page."""
    history = transitions(session, year, unit)
    document = documents.surat_keterangan_predikat(
        CaseData.model_validate(row.data), history, state.settings.public_url, locale
    )
    if document is None:
        raise ApiError(
            404, "no_award", reason("error.predikat_belum_ditetapkan", unit=unit, tahun=year, stage=row.stage)
        )
    return HTMLResponse(document.html, headers={"Content-Disposition": f'attachment; filename="{document.filename}"'})
