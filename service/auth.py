"""Bearer tokens: who is calling. Claims `sub`, `name`, `role`, and `unit` (unit roles) or `region` (kanwil)."""

from datetime import UTC, datetime, timedelta

import jwt
from pydantic import ValidationError

from models.contracts import ROLES, Actor
from service.errors import ApiError
from service.settings import Settings

UNIT_ROLES = {"operator_unit", "kepala_unit"}


def mint(
    settings: Settings,
    role: str,
    sub: str,
    name: str = "",
    unit: str | None = None,
    region: str | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    now = datetime.now(UTC)
    claims = {"sub": sub, "name": name or sub, "role": role, "iat": now, "exp": now + ttl}
    if unit:
        claims["unit"] = unit
    if region:
        claims["region"] = region
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)


def actor_from_token(settings: Settings, token: str) -> Actor:
    try:
        claims = jwt.decode(
            token, settings.jwt_secret, algorithms=[settings.jwt_algorithm], options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token_expired", "Your session has expired; sign in again.") from None
    except jwt.InvalidTokenError as e:
        raise ApiError(401, "invalid_token", f"The token is not valid: {e}.") from None
    role = claims.get("role")
    if role not in ROLES:
        raise ApiError(401, "invalid_token", f"The token carries no known role (got {role!r}).")
    if role in UNIT_ROLES and not claims.get("unit"):
        raise ApiError(401, "invalid_token", f"A {role} token must name its unit.")
    if role == "kanwil" and not claims.get("region"):
        raise ApiError(401, "invalid_token", "A kanwil token must name its region.")
    try:
        return Actor(
            sub=claims["sub"],
            name=claims.get("name", ""),
            role=role,
            unit=claims.get("unit"),
            region=claims.get("region"),
        )
    except ValidationError as e:
        raise ApiError(401, "invalid_token", f"The token's claims are malformed: {e.errors()[0]['msg']}.") from None
