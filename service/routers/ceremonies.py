"""Ceremonies: one pencanangan for many units of one Kanwil (service/ceremonies.py), as JSON."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel

from service import ceremonies
from service.access import COMMAND, reads, visible_ceremonies
from service.ceremonies import CeremonyItem, CeremonyReport, CeremonyRequest
from service.deps import (
    ActorDep,
    CeremonyEvent,
    CeremonyId,
    ClientDep,
    IdempotencyKey,
    RegionCode,
    SessionDep,
    State,
    Year,
)
from service.i18n import LocaleDep
from service.openapi import already

router = APIRouter(prefix="/cycles/{year}/ceremonies", tags=["ceremonies"])


class CeremonyList(BaseModel):
    year: int
    items: list[CeremonyItem]


@router.post("", status_code=201, dependencies=[reads(COMMAND)], responses=already(CeremonyReport))
async def create_ceremony(
    year: Year,
    body: CeremonyRequest,
    actor: ActorDep,
    session: SessionDep,
    state: State,
    client: ClientDep,
    response: Response,
    idempotency_key: IdempotencyKey,
    locale: LocaleDep,
) -> CeremonyReport:
    """Set up one pencanangan for many units (all of one region). Ditjen HAM approves it next (`setujui`)."""
    report, created = await ceremonies.create(
        session, client, state.settings.task_queue, year, body, actor, idempotency_key, locale
    )
    if not created:  # a retry: the same request gets the same ceremony
        response.status_code = 200
    return report


@router.get("", dependencies=[reads("ceremony")])
def list_ceremonies(year: Year, actor: ActorDep, session: SessionDep, region: RegionCode = None) -> CeremonyList:
    """The cycle's ceremonies you may see (a Kanwil: its region's), newest first, from the read model."""
    return CeremonyList(year=year, items=ceremonies.listed(session, actor, year, region))


@router.get("/{ceremony_id}", dependencies=[reads("ceremony")])
def get_ceremony(
    year: Year, ceremony_id: CeremonyId, actor: ActorDep, session: SessionDep, locale: LocaleDep
) -> CeremonyReport:
    """The ceremony's report: per unit, its case's stage now and whether each event was applied or refused, and why."""
    row = ceremonies.load_ceremony(session, year, ceremony_id, visible_ceremonies(actor))
    return ceremonies.report(session, row, locale)


@router.post("/{ceremony_id}/events/{event}", dependencies=[reads(COMMAND)])
async def send_ceremony_event(
    year: Year,
    ceremony_id: CeremonyId,
    event: CeremonyEvent,
    actor: ActorDep,
    session: SessionDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey,
    locale: LocaleDep,
    payload: Annotated[dict[str, Any], Body()] = {},  # noqa: B006 (FastAPI copies defaults)
) -> CeremonyReport:
    """Send `setujui` (Ditjen HAM), `jadwal_ulang` or `deklarasikan` (the Kanwil of the units' region) to every unit
    of the ceremony in one request. A retried request with the same `Idempotency-Key` is applied once."""
    return await ceremonies.send(session, client, year, ceremony_id, event, actor, payload, idempotency_key, locale)
