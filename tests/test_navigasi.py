"""The header's links to the daily and oversight pages, per role: exactly the pages that role may open (each link
followed answers 200, each page not linked answers a refusal), and the current section marked."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from models.contracts import ROLES

THIS_YEAR = (datetime.now(UTC) + timedelta(hours=7)).year  # the cycle year the links name (Jakarta time)
# Every section's first page (the worklist, the case list, the ceremonies, and the oversight pages of issue 15), by
# the address the header would link to.
SECTION_PAGES = (
    "/ui/",
    "/ui/kasus",
    "/ui/upacara",
    f"/ui/dasbor/{THIS_YEAR}",
    "/ui/audit",
    "/ui/admin/unit",
    "/ui/admin/penugasan",
    "/ui/notifikasi",
    f"/publik/predikat/{THIS_YEAR}",
)
CLAIMS = {
    "operator_unit": {"unit": "NAV-UNIT"},
    "kepala_unit": {"unit": "NAV-UNIT"},
    "kanwil": {"region": "KANWIL-NAV"},
}
NAV = re.compile(r'<ul[^>]*data-testid="navigasi"[^>]*>(.*?)</ul>', re.S)


@asynccontextmanager
async def signed_in(api: httpx.AsyncClient, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app logged in through the dev login, as a browser without script would be."""
    async with httpx.AsyncClient(transport=api._transport, base_url=str(api.base_url)) as browser:
        login = await browser.get("/ui/masuk")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf, login.text[:500]
        form = {
            "csrf_token": csrf.group(1),
            "role": role,
            "sub": f"nav-{role}",
            "name": f"Nav {role}",
            **CLAIMS.get(role, {}),
        }
        assert (await browser.post("/ui/masuk/dev", data=form)).status_code == 303
        yield browser


def links(html: str) -> list[str]:
    nav = NAV.search(html)
    return re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []


@pytest.mark.parametrize("role", [r for r in ROLES if r != "system"])
async def test_the_header_links_exactly_the_oversight_pages_the_role_may_open(api: httpx.AsyncClient, role: str):
    async with signed_in(api, role) as browser:
        shown = links((await browser.get("/ui/")).text)
        assert set(shown) <= set(SECTION_PAGES), shown
        opens = {path for path in SECTION_PAGES if (await browser.get(path)).status_code == 200}
        assert set(shown) == opens, (role, shown, opens)
        assert f"/publik/predikat/{THIS_YEAR}" in shown  # the public register, for everyone
        for path in shown:  # on each of its pages, the section's link is the current one
            here = (await browser.get(path)).text
            assert re.search(rf'href="{re.escape(path)}" aria-current="page"', here) or path.startswith("/publik"), path
