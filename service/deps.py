"""FastAPI dependencies: settings, database session, the caller, the Temporal client."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.contracts import CODE, Actor
from models.written import written_out
from service.auth import TokenVerifier
from service.errors import ApiError
from service.ratelimit import RateLimits
from service.settings import Settings
from workflows import lifecycle
from workflows.ceremony import CASE_EVENTS
from workflows.reasons import reason, received

RETRY_AFTER = {"Retry-After": "5"}


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    verifier: TokenVerifier
    limits: RateLimits
    client: Client | None = None


def get_state(request: Request) -> AppState:
    return request.app.state.p2ham


State = Annotated[AppState, Depends(get_state)]


CYCLE_YEARS = range(1900, 10000)
Year = Annotated[int, Path(ge=CYCLE_YEARS.start, le=CYCLE_YEARS.stop - 1, description="The cycle year")]
QueryYear = Annotated[int | None, Query(ge=CYCLE_YEARS.start, le=CYCLE_YEARS.stop - 1, description="A cycle year")]

# What names a thing in a path is documented with its form; a name of another form names nothing, and is answered
# like any unknown one (404), so a path never tells a malformed name from one that is not yours to see.
UnitCode = Annotated[str, Path(description="A unit's code in the registry", json_schema_extra={"pattern": CODE})]
EvidenceId = Annotated[
    str, Path(description="The sha256 of the file (lowercase hex)", json_schema_extra={"pattern": "^[0-9a-f]{64}$"})
]
CaseEvent = Annotated[str, Path(description="A lifecycle event", json_schema_extra={"enum": list(lifecycle.EVENTS)})]
CeremonyId = Annotated[
    str, Path(description="The ceremony's id (16 hex digits)", json_schema_extra={"pattern": "^[0-9a-f]{16}$"})
]
CeremonyEvent = Annotated[
    str, Path(description="What to send to every unit", json_schema_extra={"enum": list(CASE_EVENTS)})
]

# A filter is checked against what it names: a stage of the lifecycle, a region's code, a moment written out (a
# date: the end of that day); anything else is a bad request (422), not an empty list.
Stage = Literal[tuple(s.id for s in lifecycle.Lifecycle.states)]  # type: ignore[valid-type]
RegionCode = Annotated[str | None, Query(description="A region's code", pattern=CODE)]
DateOrMoment = Annotated[datetime | date, written_out("isian.waktu_salah")]


def year_in_range(request: Request) -> None:
    """Every `{year}` in a path is a cycle year a database can hold; a larger number is a bad request, not a crash."""
    raw = request.path_params.get("year")
    try:
        year = int(raw) if raw is not None else None
    except ValueError:
        return  # not a number at all: the route's own validation answers 422
    if year is not None and year not in CYCLE_YEARS:
        first, last = CYCLE_YEARS.start, CYCLE_YEARS.stop - 1
        raise ApiError(422, "invalid_year", reason("error.tahun_tidak_valid", tahun=str(year), awal=first, akhir=last))


def get_session(state: State) -> Iterator[Session]:
    with Session(state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_limits(state: State) -> RateLimits:
    return state.limits


LimitsDep = Annotated[RateLimits, Depends(get_limits)]

bearer = HTTPBearer(auto_error=False, description="JWT with claims sub, name, role, and unit or region")


def get_actor(state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    if credentials is None:
        raise ApiError(
            401,
            "no_token",
            reason("error.belum_masuk"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return state.verifier.actor(credentials.credentials)


ActorDep = Annotated[Actor, Depends(get_actor)]

# A client's key for a request that must be applied once (retries carry the same key).
IdempotencyKey = Annotated[str, Header(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")]


def client_update_id(key: str) -> str:
    """The Temporal update id of a client's request: namespaced, so no client key can ever equal an update id the
    service makes itself (a ceremony's, a cohort's or a bulk assignment's, all starting with `p2ham-`)."""
    return f"client:{key}"


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise ApiError(403, "forbidden", reason("error.peran_salah", roles=list(roles), role=actor.role))


async def get_client(state: State) -> Client:
    if state.client is None:
        from worker import connect  # one way to connect, shared with the worker

        try:
            state.client = await connect(state.settings)
        except Exception:
            raise temporal_unavailable() from None
    return state.client


def temporal_unavailable() -> ApiError:
    return ApiError(503, "temporal_unavailable", reason("error.layanan_alur_kerja_tidak_tersedia"), headers=RETRY_AFTER)


ClientDep = Annotated[Client, Depends(get_client)]


@asynccontextmanager
async def temporal_errors() -> AsyncIterator[None]:
    """Temporal's failures in the API's words: a refusal is a 409, an outage a 503; nothing is half-applied."""
    try:
        yield
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        if isinstance(cause, ApplicationError) and cause.type == "Refused":
            why = received(cause.details[0]) if cause.details else [cause.message]
            raise ApiError(409, "refused", reason("error.ditolak"), why) from None
        raise
    except RPCError as e:
        if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise temporal_unavailable() from None
        if e.status == RPCStatusCode.NOT_FOUND:
            why = [reason("kasus_selesai_sebelum_diproses")]
            raise ApiError(409, "case_closed", reason("error.kasus_berakhir"), why) from None
        raise
