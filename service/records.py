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
from service.ratelimit import RateLimits
from workflows.reasons import Reason, reason

REFUSALS = (403, 409, 422)
LOGGED_PAYLOAD_BYTES = 8 * 1024  # a refused 5 MB body is logged by its size, not kept
LOGGED_REASONS, LOGGED_REASON_CHARS = 20, 500  # and at most this many reasons, each at most this long


def bounded(payload: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(payload, default=str))
    return payload if size <= LOGGED_PAYLOAD_BYTES else {"omitted": f"a payload of {size} bytes"}


def bounded_why(why: list[Reason | str]) -> list[Any]:
    kept = [w.model_dump() if isinstance(w, Reason) else w[:LOGGED_REASON_CHARS] for w in why[:LOGGED_REASONS]]
    return [w for w in kept if len(json.dumps(w, default=str)) <= 4 * LOGGED_REASON_CHARS]


@contextmanager
def refusals_logged(
    session: Session,
    year: int,
    unit: str,
    event: str,
    actor: Actor,
    payload: dict[str, Any],
    limits: RateLimits | None = None,
    visible: bool = True,
) -> Iterator[None]:
    """Any refusal raised inside is written to the audit log (bounded in size; not at all when the caller may not see
    the case), counted against the caller's budget of refusals, then passed on unchanged. A caller over that budget
    is answered 429 before anything is tried or logged."""
    if limits is not None:
        limits.before_command(actor)
    try:
        yield
    except ApiError as e:
        if e.status in REFUSALS and limits is not None:
            limits.refused(actor)
        if e.status in REFUSALS and visible:
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
                    # {"code", "params"} each, bounded; rows written before reasons were data hold sentences
                    why=bounded_why(e.why or [e.message]),
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
