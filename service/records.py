"""What the API itself records: refused commands (for auditors) and the request each idempotency key belongs to."""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.contracts import Actor
from models.tables import IdempotencyKeyRow, RefusalRow
from service.errors import ApiError
from workflows.reasons import Reason, reason

REFUSALS = (403, 409, 422)
LOGGED_PAYLOAD_BYTES = 64 * 1024  # a refused 5 MB body is logged by its size, not kept


def bounded(payload: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(payload, default=str))
    return payload if size <= LOGGED_PAYLOAD_BYTES else {"omitted": f"a payload of {size} bytes"}


@contextmanager
def refusals_logged(
    session: Session, year: int, unit: str, event: str, actor: Actor, payload: dict[str, Any]
) -> Iterator[None]:
    """Any refusal raised inside is written to the audit log, then passed on unchanged."""
    try:
        yield
    except ApiError as e:
        if e.status in REFUSALS:
            session.rollback()
            session.add(
                RefusalRow(
                    at=datetime.now(UTC),
                    year=year,
                    unit=unit,
                    event=event,
                    actor_sub=actor.sub,
                    actor_name=actor.name,
                    actor_role=actor.role,
                    status=e.status,
                    # {"code", "params"} each; rows written before reasons were data hold sentences
                    why=[r.model_dump() if isinstance(r, Reason) else r for r in e.why or [e.message]],
                    payload=bounded(payload),
                )
            )
            session.commit()
        raise


def request_hash(event: str, actor: Actor, payload: dict[str, Any]) -> str:
    body = json.dumps([event, actor.sub, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def claim_idempotency_key(
    session: Session, year: int, unit: str, key: str, event: str, actor: Actor, payload: dict[str, Any]
) -> None:
    """The first request with a key owns it; the same key with another request is a client bug, refused with 422."""
    digest = request_hash(event, actor, payload)
    row = session.get(IdempotencyKeyRow, (year, unit, key))
    if row is None:
        session.add(IdempotencyKeyRow(year=year, unit=unit, key=key, request_hash=digest, created_at=datetime.now(UTC)))
        try:
            session.commit()
            return
        except IntegrityError:  # the same key arrived twice at once: compare with the one that won
            session.rollback()
            row = session.get(IdempotencyKeyRow, (year, unit, key))
    if row is not None and row.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            reason("error.kunci_idempotensi_dipakai"),
            [reason("kunci_milik_permintaan_lain", kunci=key)],
        )
