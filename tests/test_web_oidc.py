"""Login by OpenID Connect (authlib) against a local mock provider (oidc-provider-mock): the role from the claims,
logout, and a clear page for an account whose claims carry no role."""

import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urljoin

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread
from temporalio.client import Client

from service.api import create_app
from service.pages.session import COOKIE
from service.settings import Settings
from tests.browser import serving


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the mock provider speaks plain http on loopback
        with run_server_in_thread() as server:
            yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
async def sso_app(settings: Settings, client: Client, provider: str) -> AsyncIterator[str]:
    production = settings.model_copy(
        update={
            "mode": "production",
            "jwt_issuer": provider,  # production refuses to start without the issuer and audience of its tokens
            "jwt_audience": "p2ham",
            "oidc_discovery_url": f"{provider}/.well-known/openid-configuration",
            "oidc_client_id": "p2ham-web",
            "oidc_client_secret": "p2ham-web-secret",
            "oidc_claim_role": "p2ham_role",  # claim names are configurable
            "oidc_claim_unit": "unit_code",
        }
    )
    async with serving(create_app(production, client=client)) as url:
        yield url


async def sso_login(app_url: str, provider: str, sub: str) -> tuple[httpx.Response, str | None]:
    """Through the provider's authorization form; the app's page at the end, and the session cookie (sent by hand:
    it is Secure, and httpx keeps Secure cookies for https only)."""
    async with httpx.AsyncClient() as http:
        start = await http.get(f"{app_url}/ui/masuk/sso")
        assert start.status_code in (302, 303, 307), start.text
        cookie = re.search(rf"{COOKIE}=([^;]+)", start.headers["set-cookie"]).group(1)
        authorize = start.headers["location"]
        assert authorize.startswith(provider)
        back = await http.post(authorize, data={"sub": sub})
        assert back.status_code in (302, 303), back.text
        done = await http.get(back.headers["location"], cookies={COOKIE: cookie})
        new = re.search(rf"{COOKIE}=([^;]+)", done.headers.get("set-cookie", ""))
        if done.status_code == 303:
            assert all(f in done.headers["set-cookie"] for f in ("HttpOnly", "Secure", "SameSite=Lax"))
            done = await http.get(urljoin(app_url, done.headers["location"]), cookies={COOKIE: new.group(1)})
        return done, new.group(1) if new else None


async def test_sso_login_takes_the_role_from_the_claims_and_logout_ends_it(sso_app: str, provider: str):
    claims = {"name": "Kepala Lapas Satu", "p2ham_role": "kepala_unit", "unit_code": "LAPAS-1"}
    async with httpx.AsyncClient() as http:
        assert (await http.put(f"{provider}/users/kalapas-1", json=claims)).status_code == 204
    home, cookie = await sso_login(sso_app, provider, "kalapas-1")
    assert home.status_code == 200, home.text
    assert "Kepala Lapas Satu" in home.text and "LAPAS-1" in home.text
    assert '<strong data-testid="peran">' in home.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    async with httpx.AsyncClient(base_url=sso_app, cookies={COOKIE: cookie}) as http:
        out = await http.post("/ui/keluar", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/ui/masuk"
        again = await http.get("/ui/")  # the old cookie names a session that no longer exists
        assert again.status_code == 303 and again.headers["location"].startswith("/ui/masuk")


async def test_an_account_without_a_role_gets_a_clear_page(sso_app: str, provider: str):
    async with httpx.AsyncClient() as http:
        assert (await http.put(f"{provider}/users/tanpa-peran", json={"name": "Tanpa Peran"})).status_code == 204
    page, cookie = await sso_login(sso_app, provider, "tanpa-peran")
    assert page.status_code == 403
    assert "Akun Anda belum memiliki peran P2HAM" in page.text
    assert "Minta admin SSO kementerian menambahkan peran P2HAM Anda" in page.text
