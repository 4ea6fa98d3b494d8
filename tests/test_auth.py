"""Who is calling: every token that is not a valid, complete one is a 401 in the API's error shape.

HS256 with the shared secret is the embedded default; RS256 takes the ministry SSO's public key as a PEM file or a
JWKS file, and then accepts nothing else (no `none`, no HS256 signed with the public key).
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from temporalio.client import Client

from service.api import create_app
from service.settings import Settings

AUTHENTICATED = "/units"  # any endpoint that needs a token; /health and /lifecycle need none
KID = "sso-2024"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(**changes: Any) -> dict[str, Any]:
    """A complete operator's claims; a change to None removes that claim."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "op-KANIM-A",
        "name": "Operator Kanim A",
        "role": "operator_unit",
        "unit": "KANIM-A",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    return {k: v for k, v in (base | changes).items() if v is not None}


def unsigned(payload: dict[str, Any]) -> str:
    """`alg: none`, by hand: header and claims, and an empty signature."""
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(payload)}."


def hmac_signed(key: bytes, payload: dict[str, Any], header: dict[str, Any] | None = None, bits: int = 256) -> str:
    """HS256 (or HS384, HS512) by hand, so any bytes can be the secret (PyJWT refuses a PEM public key as one)."""
    signing_input = f"{segment({'alg': f'HS{bits}', 'typ': 'JWT', **(header or {})})}.{segment(payload)}"
    digest = hmac.new(key, signing_input.encode(), getattr(hashlib, f"sha{bits}")).digest()
    return f"{signing_input}.{b64url(digest)}"


def tampered(token: str) -> str:
    """A valid token whose claims were edited afterwards (an operator making itself admin)."""
    header, payload, signature = token.split(".")
    edited = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) | {"role": "admin"}
    return f"{header}.{segment(edited)}.{signature}"


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"error", "message", "why", "why_codes"}, body
    assert body["error"] in ("invalid_token", "no_token") and isinstance(body["why"], list), body
    assert isinstance(body["message"], str) and len(body["message"].split()) >= 3, body
    if body["error"] == "invalid_token":
        assert response.headers["WWW-Authenticate"] == "Bearer"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- HS256, the embedded default ------------------------------------------------------------------------------------

Forge = Callable[[Settings], str]


def signed(**changes: Any) -> Forge:
    return lambda s: jwt.encode(claims(**changes), s.jwt_secret, algorithm="HS256")


BAD_TOKENS: dict[str, Forge] = {
    "expired": signed(exp=int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())),
    "wrong signature": lambda s: jwt.encode(claims(), s.jwt_secret + "-not", algorithm="HS256"),
    "claims edited after signing": lambda s: tampered(jwt.encode(claims(), s.jwt_secret, algorithm="HS256")),
    "no sub": signed(sub=None),
    "no role": signed(role=None),
    "no exp": signed(exp=None),
    "operator without unit": signed(unit=None),
    "kepala_unit without unit": signed(role="kepala_unit", unit=None),
    "kanwil without region": signed(role="kanwil", unit=None),
    "unknown role": signed(role="superadmin"),
    "the calendar's role": signed(role="system"),
    "role in the wrong case": signed(role="Admin"),
    "alg none": lambda s: unsigned(claims()),
    "alg none as admin": lambda s: unsigned(claims(role="admin", unit=None)),
    "alg none with the real signature": lambda s: unsigned(claims()) + signed()(s).split(".")[2],
    "another HMAC algorithm (HS512)": lambda s: hmac_signed(s.jwt_secret.encode(), claims(), bits=512),
    "not yet valid": signed(nbf=int((datetime.now(UTC) + timedelta(hours=1)).timestamp())),
    "garbage": lambda s: "not-a-jwt",
    "three garbage segments": lambda s: "a.b.c",
    "garbage header": lambda s: "e30." + signed()(s).split(".", 1)[1],
    "empty": lambda s: "",
}


@pytest.mark.parametrize("forge", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_a_bad_token_is_a_401(api: httpx.AsyncClient, settings: Settings, forge: Forge) -> None:
    assert_unauthorized(await api.get(AUTHENTICATED, headers=bearer(forge(settings))))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic b3A6cGFzcw=="}, {"Authorization": "Bearer"}, {"Authorization": "token abc"}],
    ids=["no header", "basic auth", "bearer without token", "another scheme"],
)
async def test_no_bearer_token_is_a_401(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert_unauthorized(await api.get(AUTHENTICATED, headers=headers))


async def test_a_bad_token_cannot_send_an_event(api: httpx.AsyncClient, year: int) -> None:
    """Not just reads: a write with a forged admin token is stopped before anything else is looked at."""
    forged = unsigned(claims(role="admin", unit=None))
    response = await api.post(
        f"/cycles/{year}/cases/KANIM-A/events/batalkan",
        json={"alasan": "x"},
        headers={**bearer(forged), "Idempotency-Key": "forged-admin-1"},
    )
    assert_unauthorized(response)


async def test_a_complete_token_is_accepted(api: httpx.AsyncClient, settings: Settings) -> None:
    """The control: the same claims, properly signed, pass (so the 401s above are about the token)."""
    for changes in ({}, {"role": "kanwil", "unit": None, "region": "KANWIL-DKI"}, {"role": "auditor", "unit": None}):
        response = await api.get(AUTHENTICATED, headers=bearer(signed(**changes)(settings)))
        assert response.status_code == 200, response.text
    by_hand = await api.get(AUTHENTICATED, headers=bearer(hmac_signed(settings.jwt_secret.encode(), claims())))
    assert by_hand.status_code == 200, by_hand.text  # the hand-made signatures below are real HMACs


# --- RS256: the ministry SSO's key as a PEM file or a JWKS file ------------------------------------------------------


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return public | {"kid": kid, "use": "sig", "alg": "RS256"}


def rs256(key: rsa.RSAPrivateKey, kid: str | None = None, **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid} if kid else None)


@pytest.fixture(scope="module")
def sso_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


async def app_with(settings: Settings, client: Client, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"jwt_algorithm": "RS256", **changes}), client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
        yield http


@pytest.fixture
async def pem_api(
    settings: Settings, client: Client, sso_key: rsa.RSAPrivateKey, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "sso-public.pem"
    path.write_bytes(public_pem(sso_key))
    async for http in app_with(settings, client, jwt_public_key_file=path):
        yield http


@pytest.fixture
async def jwks_api(
    settings: Settings, client: Client, sso_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The SSO publishes two keys (a rotation in progress): `KID`, and `sso-2025` (`other_key`)."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(sso_key, KID), jwk(other_key, "sso-2025")]}))
    async for http in app_with(settings, client, jwt_jwks_file=path):
        yield http


async def test_rs256_with_a_pem_public_key(
    pem_api: httpx.AsyncClient, settings: Settings, sso_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    ok = await pem_api.get(AUTHENTICATED, headers=bearer(rs256(sso_key)))
    assert ok.status_code == 200, ok.text
    assert isinstance(ok.json(), list)
    refused = {
        "signed by another key": rs256(other_key),
        "expired": rs256(sso_key, exp=int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())),
        "no role": rs256(sso_key, role=None),
        "kanwil without region": rs256(sso_key, role="kanwil", unit=None),
        "HS256 with the dev secret": jwt.encode(claims(), settings.jwt_secret, algorithm="HS256"),
        "HS256 with the public key as secret": hmac_signed(public_pem(sso_key), claims()),
        "alg none": unsigned(claims()),
    }
    for name, token in refused.items():
        response = await pem_api.get(AUTHENTICATED, headers=bearer(token))
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert_unauthorized(response)


async def test_rs256_with_a_jwks_file(
    jwks_api: httpx.AsyncClient, settings: Settings, sso_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    for key, kid in ((sso_key, KID), (other_key, "sso-2025")):
        ok = await jwks_api.get(AUTHENTICATED, headers=bearer(rs256(key, kid)))
        assert ok.status_code == 200, f"{kid}: {ok.text}"
    refused = {
        "unknown kid": rs256(sso_key, "sso-1999"),
        "no kid": rs256(sso_key),
        "a known kid on another key's signature": rs256(other_key, KID),
        "signed by a key the SSO never published": rs256(new_rsa_key(), KID),
        "HS256 with the dev secret and a known kid": jwt.encode(
            claims(), settings.jwt_secret, algorithm="HS256", headers={"kid": KID}
        ),
        "HS256 with the public key as secret": hmac_signed(public_pem(sso_key), claims(), {"kid": KID}),
        "alg none with a known kid": f"{segment({'alg': 'none', 'kid': KID})}.{segment(claims())}.",
        "no unit": rs256(sso_key, KID, unit=None),
    }
    for name, token in refused.items():
        response = await jwks_api.get(AUTHENTICATED, headers=bearer(token))
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert_unauthorized(response)


# --- Issue 12, item 5: authentication that fails closed -------------------------------------------------------------

ISSUER, AUDIENCE = "https://sso.kemenkumham.go.id", "p2ham"
PROJECT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("argv", "env", "variable"),
    [
        (["-c", "import service.api; service.api.app"], {}, "P2HAM_JWT_SECRET"),
        (["worker.py"], {}, "P2HAM_JWT_SECRET"),
        (["worker.py"], {"P2HAM_JWT_SECRET": "short-secret"}, "P2HAM_JWT_SECRET"),
        (["worker.py"], {"P2HAM_JWT_SECRET": "x" * 40}, "P2HAM_JWT_ISSUER"),
        (["-c", "import service.api; service.api.app"], {"P2HAM_JWT_ALGORITHM": "RS256"}, "P2HAM_JWT_JWKS_FILE"),
        (  # the SSO's keys are public: the web sessions' cookies need a secret of their own
            ["-c", "import service.api; service.api.app"],
            {"P2HAM_JWT_ALGORITHM": "RS256", "P2HAM_JWT_JWKS_FILE": "/dev/null", "P2HAM_JWT_ISSUER": ISSUER},
            "P2HAM_SESSION_SECRET",
        ),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(argv: list[str], env: dict[str, str], variable: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("P2HAM_")}
    run = subprocess.run(
        [sys.executable, *argv],
        env={**clean, **env, "P2HAM_MODE": "production", "P2HAM_TEMPORAL_ADDRESS": "127.0.0.1:9"},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and variable in run.stderr, (run.returncode, run.stderr[-2000:])


@pytest.fixture
async def strict_api(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    strict = settings.model_copy(
        update={"mode": "production", "jwt_secret": "s" * 40, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}
    )
    app = create_app(strict, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
        yield http


def strict_token(**changes: Any) -> dict[str, str]:
    return bearer(jwt.encode(claims(iss=ISSUER, aud=AUDIENCE) | changes, "s" * 40, algorithm="HS256"))


async def test_production_checks_issuer_audience_and_lifetime(strict_api: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    ok = await strict_api.get(AUTHENTICATED, headers=strict_token())
    assert ok.status_code == 200, ok.text
    skewed = await strict_api.get(
        AUTHENTICATED, headers=strict_token(exp=int((now - timedelta(seconds=30)).timestamp()))
    )
    assert skewed.status_code == 200, skewed.text  # 60 s of clock skew are tolerated
    for headers in (
        bearer(jwt.encode(claims(iss=ISSUER), "s" * 40, algorithm="HS256")),  # no aud
        strict_token(aud="another-service"),
        strict_token(iss="https://elsewhere.example"),
        strict_token(exp=int((now + timedelta(hours=13)).timestamp())),
        strict_token(exp=int((now - timedelta(seconds=120)).timestamp())),
    ):
        assert_unauthorized(await strict_api.get(AUTHENTICATED, headers=headers))


async def test_a_rotated_jwks_file_is_read_again(
    settings: Settings, client: Client, sso_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(sso_key, KID)]}))
    async for http in app_with(settings, client, jwt_jwks_file=path):
        assert (await http.get(AUTHENTICATED, headers=bearer(rs256(sso_key, KID)))).status_code == 200
        assert_unauthorized(await http.get(AUTHENTICATED, headers=bearer(rs256(other_key, "sso-2026"))))
        path.write_text(json.dumps({"keys": [jwk(other_key, "sso-2026")]}))  # the SSO rotates its key
        assert (await http.get(AUTHENTICATED, headers=bearer(rs256(other_key, "sso-2026")))).status_code == 200
        assert_unauthorized(await http.get(AUTHENTICATED, headers=bearer(rs256(sso_key, KID))))


def test_p2ham_token_refuses_more_than_the_maximum() -> None:
    run = subprocess.run(
        [str(Path(sys.executable).with_name("p2ham")), "token", "--role", "auditor", "--sub", "a", "--hours", "13"],
        env={**os.environ, "P2HAM_JWT_MAX_HOURS": "12"},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "P2HAM_JWT_MAX_HOURS" in run.stderr, run.stderr
