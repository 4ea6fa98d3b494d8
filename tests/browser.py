"""Browser test helpers: the app served on a loopback port, the system Chromium, axe, page weight, keyboard only."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from axe_playwright_python.async_playwright import Axe
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, FilePayload, Page, Request, expect

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium: `make browser` installs it; Playwright's download is not used
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long a page may take to answer or an element to appear before a test gives up: a bound for a busy 2-core
# machine (Playwright's own 30 s was reached there once), never a wait; every wait is for a condition.
GIVE_UP_MS = 120_000
expect.set_options(timeout=GIVE_UP_MS)  # the same bound for `expect(...)` assertions, which retry until it
PAGE_BUDGET = 100 * 1024  # bytes transferred for one page, compressed, with its stylesheet and script
MAX_TABS = 80


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app on a free loopback port in this event loop (so it shares the tests' Temporal client); its base URL
    once it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # readiness, not a guess at a time
        if task.done():
            task.result()
            raise RuntimeError("the web server stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def fresh_context(browser: Browser, live_url: str, js: bool = True) -> BrowserContext:
    """A browser context of its own (no cookies), speaking Indonesian, that gives up only after GIVE_UP_MS."""
    context = await browser.new_context(base_url=live_url, locale="id-ID", java_script_enabled=js)
    context.set_default_timeout(GIVE_UP_MS)
    context.set_default_navigation_timeout(GIVE_UP_MS)
    return context


@asynccontextmanager
async def without_script(browser: Browser, live_url: str) -> AsyncIterator[Page]:
    """A fresh browser context with JavaScript off (no cookies, Indonesian): every page must work so."""
    context = await fresh_context(browser, live_url, js=False)
    try:
        yield await context.new_page()
    finally:
        await context.close()


def navigations(page: Page) -> list[str]:
    """The addresses the page's main frame loads from now on (a refresh is one): a list that grows as they happen."""
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


async def assert_accessible(page: Page) -> None:
    """axe-core on the page as it is now: no violation of impact serious or critical."""
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]]) for v in bad]


async def assert_light(page: Page, url: str) -> int:
    """Open `url` with an empty cache and assert everything it transferred (headers and compressed bodies) stays
    under the budget; returns the bytes."""
    finished: list[Request] = []

    def done(request: Request) -> None:
        finished.append(request)

    page.on("requestfinished", done)
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    await page.goto(url, wait_until="load")
    page.remove_listener("requestfinished", done)
    total = 0
    for request in finished:
        sizes = await request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    assert finished, f"nothing was loaded for {url}"
    assert total < PAGE_BUDGET, f"{url} transferred {total} bytes, over the {PAGE_BUDGET} budget"
    return total


async def focused_matches(page: Page, selector: str) -> bool:
    return await page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


async def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        if await focused_matches(page, selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


async def type_into(page: Page, selector: str, text: str) -> None:
    await tab_to(page, selector)
    await page.keyboard.type(text)


async def choose_radio(page: Page, name: str, value: str) -> None:
    """Tab into a radio group, then arrow to the option and select it with the space bar."""
    await tab_to(page, f'input[type=radio][name="{name}"]')
    target = f'input[type=radio][name="{name}"][value="{value}"]'
    for _ in range(MAX_TABS):
        if await focused_matches(page, target):
            await page.keyboard.press("Space")
            return
        await page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} cannot be chosen in {name} with the arrow keys")


async def attach_by_keyboard(page: Page, selector: str, files: list[FilePayload]) -> None:
    """Tab to a file field and open it with the space bar; the files are chosen in the dialog that opens.

    The wait for the dialog starts before the Tab presses: Playwright asks the browser to hand it file dialogs in a
    message it sends in the background, so a Space pressed at once can reach the browser first, and the dialog that
    opens is then never seen (it happened on a busy CI machine). The Tab presses and focus checks are round trips
    that the browser answers after that request."""
    async with page.expect_file_chooser() as chooser:
        await tab_to(page, selector)
        await page.keyboard.press("Space")
    await (await chooser.value).set_files(files)


async def images_loaded(page: Page) -> None:
    """Every image of the page loaded, the lazy ones too (asked to load now): a condition, not a wait of some time.
    Each must have loaded as a picture (a broken one has no width)."""
    await page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    await page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    broken = await page.evaluate("Array.from(document.images).filter(i => !i.naturalWidth).map(i => i.src)")
    assert not broken, f"images that did not load on {page.url}: {broken}"


async def press(page: Page, selector: str) -> None:
    """Tab to a button or link and press Enter."""
    await tab_to(page, selector)
    await page.keyboard.press("Enter")


def chromium_path() -> str:
    assert Path(CHROMIUM).exists(), "The browser tests need Chromium: run `make browser` (apt-get install -y chromium)"
    return CHROMIUM
