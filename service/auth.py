"""Bearer tokens: who is calling. Claims `sub`, `name`, `role`, and `unit` (unit roles) or `region` (kanwil).

Only the one configured algorithm is accepted (never `none`, never HS256 signed with an RS256 public key).
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import ValidationError

from models.contracts import ROLES, Actor
from service.errors import ApiError
from service.settings import Settings
from workflows.reasons import Reason, reason

UNIT_ROLES = {"operator_unit", "kepala_unit"}
LEEWAY = timedelta(seconds=60)  # clock skew between the SSO and this service


class TooLong(ValueError):
    """A token asked to live longer than P2HAM_JWT_MAX_HOURS."""


def mint(
    settings: Settings,
    role: str,
    sub: str,
    name: str = "",
    unit: str | None = None,
    region: str | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    """A dev token signed with the shared secret (HS256). Production tokens come from the ministry's SSO."""
    if ttl > timedelta(hours=settings.jwt_max_hours):
        raise TooLong(f"a token lives at most {settings.jwt_max_hours:g} hours (P2HAM_JWT_MAX_HOURS)")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": sub, "name": name or sub, "role": role, "iat": now, "exp": now + ttl}
    if unit:
        claims["unit"] = unit
    if region:
        claims["region"] = region
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def unauthorized(message: Reason) -> ApiError:
    return ApiError(401, "invalid_token", message, headers={"WWW-Authenticate": "Bearer"})


class TokenVerifier:
    """Verifies tokens with the configured key, loaded once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.algorithm = settings.jwt_algorithm
        self.jwks: jwt.PyJWKSet | None = None
        self.jwks_version: tuple[int, int] | None = None  # (mtime, size) of the JWKS file as last read
        self.key: Any = settings.jwt_secret
        if self.algorithm == "RS256":
            if settings.jwt_jwks_file:
                self._jwks()
            elif settings.jwt_public_key_file:
                self.key = settings.jwt_public_key_file.read_text()
            else:
                raise ValueError("RS256 needs P2HAM_JWT_PUBLIC_KEY_FILE or P2HAM_JWT_JWKS_FILE")

    def _jwks(self) -> jwt.PyJWKSet:
        """The JWKS file's keys, read again whenever the file changed (key rotation without a restart)."""
        path = self.settings.jwt_jwks_file
        assert path is not None
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        if self.jwks is None or version != self.jwks_version:
            self.jwks = jwt.PyJWKSet.from_dict(json.loads(path.read_text()))
            self.jwks_version = version
        return self.jwks

    def _key_for(self, token: str) -> Any:
        if self.settings.jwt_jwks_file is None or self.algorithm != "RS256":
            return self.key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._jwks().keys:
            if key.key_id == kid:
                return key.key
        raise unauthorized(reason("error.token_kunci_tidak_dikenal", kid=str(kid)))

    def actor(self, token: str) -> Actor:
        s = self.settings
        required = ["sub", "exp", "role"] + (["iss"] if s.jwt_issuer else []) + (["aud"] if s.jwt_audience else [])
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=[self.algorithm],
                issuer=s.jwt_issuer,
                audience=s.jwt_audience,
                leeway=LEEWAY,
                options={"require": required, "verify_aud": s.jwt_audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized(reason("error.sesi_berakhir")) from None
        except jwt.InvalidTokenError:
            raise unauthorized(reason("error.token_tidak_valid")) from None
        lives = datetime.fromtimestamp(claims["exp"], UTC) - datetime.now(UTC)
        if lives > timedelta(hours=s.jwt_max_hours) + LEEWAY:
            raise ApiError(
                401,
                "invalid_token",
                reason("token.terlalu_lama", jam=s.jwt_max_hours),
                headers={"WWW-Authenticate": "Bearer"},
            )
        return actor_from_claims(claims)


def actor_from_claims(claims: dict[str, Any]) -> Actor:
    role = claims.get("role")
    if role not in ROLES:
        raise unauthorized(reason("error.token_tanpa_peran"))
    if role in UNIT_ROLES and not claims.get("unit"):
        raise unauthorized(reason("error.token_tanpa_unit", role=role))
    if role == "kanwil" and not claims.get("region"):
        raise unauthorized(reason("error.token_tanpa_wilayah"))
    try:
        return Actor(
            sub=claims["sub"],
            name=claims.get("name") or claims["sub"],
            role=role,
            unit=claims.get("unit"),
            region=claims.get("region"),
        )
    except (ValidationError, TypeError):
        raise unauthorized(reason("error.token_rusak")) from None
