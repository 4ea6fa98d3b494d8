"""Penugasan in bulk over HTTP: one request assigns a team to every case of a region at a stage.

The logic is in service/penugasan.py."""

from fastapi import APIRouter

from service import penugasan
from service.access import COMMAND, reads
from service.deps import ActorDep, ClientDep, IdempotencyKey, SessionDep, Year, require_role
from service.i18n import LocaleDep
from service.records import claim_idempotency_key, refusals_logged
from service.routers.admin import load_policy
from workflows import lifecycle

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
    with the same `Idempotency-Key` applies nothing twice). `why` gives each unit's reasons in your language
    (`Accept-Language`, `?lang=`), `why_codes` the same as data."""
    payload = body.model_dump(mode="json")
    scope = f"penugasan:{body.region}"
    with refusals_logged(session, year, scope, "tugaskan", actor, payload):
        require_role(actor, *lifecycle.RULES["tugaskan"].roles)
        load_policy(session, year)
        claim_idempotency_key(session, year, scope, idempotency_key, "tugaskan", actor, payload)
    units = penugasan.cases_at(session, year, body.region, body.stage)
    session.close()  # no database connection is held while Temporal works
    outcomes = await penugasan.assign(client, year, units, body.tim, actor, idempotency_key, locale)
    count = {o: sum(u.outcome == o for u in outcomes) for o in ("applied", "refused", "failed")}
    return penugasan.BulkReport(
        year=year, region=body.region, stage=body.stage, requested=len(units), units=outcomes, **count
    )
