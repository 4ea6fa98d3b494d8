"""Penugasan in bulk over HTTP: one request assigns a team to every case of a region at a stage.

The logic is in service/penugasan.py (the Administrasi page calls the same)."""

from fastapi import APIRouter

from service import penugasan
from service.access import COMMAND, reads
from service.deps import ActorDep, ClientDep, IdempotencyKey, SessionDep, Year
from service.i18n import LocaleDep

router = APIRouter(prefix="/cycles/{year}/penugasan", tags=["cases"])


@router.post("", dependencies=[reads(COMMAND)])
async def assign_region(
    year: Year,
    body: penugasan.BulkPenugasan,
    actor: ActorDep,
    session: SessionDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey,
    locale: LocaleDep,
) -> penugasan.BulkReport:
    """Assign the same team (`tugaskan`) to every case of `region` now at `stage` (Ditjen HAM). Each case decides for
    itself; the report says, unit by unit, whether it was applied, refused (and why) or failed (send again: a retry
    with the same `Idempotency-Key` applies nothing twice, and a case already holding this team is not sent it
    again). `why` gives each unit's reasons in your language (`Accept-Language`, `?lang=`), `why_codes` the same as
    data."""
    return await penugasan.assign_region(session, client, year, body, actor, idempotency_key, locale)
