"""The whole OpenAPI contract checked by schemathesis with all its checks, as every role: `schemathesis run
/openapi.json --checks all` in-process. No request, however odd, is a 5xx; every answer's status, media type, headers
and body are the documented ones; schema-valid data is never rejected as invalid, schema-invalid data always is; no
operation that declares the bearer scheme answers without a valid token.

Schemathesis calls the app in-process on its own event loop thread; the test runs it in a separate thread so that
this session's event loop keeps the in-process Temporal worker going meanwhile. The fuzzed app has its own database
and evidence directory: an admin's random cycles and units must not land in the other tests' data.
"""

import asyncio
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import AcceptedNegativeData, Failure
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import EngineEvent, NonFatalError, ScenarioFinished
from schemathesis.openapi.checks import RejectedPositiveData
from temporalio.client import Client
from temporalio.worker import Worker

from models.contracts import ROLES
from service.api import create_app
from service.auth import mint
from service.settings import Settings
from workflows.access import JUDGES

MAX_EXAMPLES = 10  # per operation and phase: bounded, so nine roles run in a few minutes on a loaded 2-core machine
SEED = 20240101  # and deterministic: a failure here fails the same way on the next run
FUZZ_UNIT, FUZZ_REGION = "KANIM-FUZZ", "KANWIL-FUZZ"


def every_check() -> list[str]:
    """The name of every check schemathesis has, the ones that need several identities or stateful links included
    (without them they find nothing to compare and pass; none is left out)."""
    load_all_checks()
    return [check.__name__ for check in CHECKS.get_all()]


# What no JSON Schema can state, which a request may meet or break whatever the document says. The API answers it with
# a status or a reason code of its own; a failure answered so is not a lie of the document, and is dropped (below).
# Any other refusal of valid data, or acceptance of invalid data, fails.
ABOVE_THE_BODY_LIMIT = 413  # P2HAM_MAX_BODY_BYTES: a body too large is refused before it is read, valid or not
BEYOND_THE_SCHEMA = {  # reason codes of rules between fields or about a file's bytes
    "isian.pelaporan_dibuka_sebelum_ditutup": "the calendar's dates in order",
    "isian.pelaporan_ditutup_sebelum_siklus_berakhir": "the calendar's dates in order",
    "isian.masa_berlaku_setelah_siklus": "the calendar's dates in order",
    "isian.jangka_waktu_positif": "a period longer than zero",
    "isian.bobot_kriteria": "the weights name the criteria of the chosen regulation",
    "isian.bobot_nol": "the weights are not all zero",
    "berkas_bukan_foto_atau_pdf": "a file's type is judged from its bytes",
}


def filter_failure(
    ctx: schemathesis.HookContext, failure: Failure, case: schemathesis.Case, response: schemathesis.Response
) -> bool:
    """Schemathesis' `filter_failure` hook: keep every failure but those answered for what no schema can state."""
    if (
        isinstance(failure, RejectedPositiveData | AcceptedNegativeData)
        and response.status_code == ABOVE_THE_BODY_LIMIT
    ):
        return False
    if not isinstance(failure, RejectedPositiveData):
        return True
    try:
        codes = {why["code"] for why in response.json()["why_codes"]}
    except (ValueError, KeyError, TypeError):
        return True
    return not codes or not codes <= BEYOND_THE_SCHEMA.keys()


def fuzz_config(token: str) -> SchemathesisConfig:
    """`schemathesis run --checks all` with every phase, bounded and deterministic."""
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "continue-on-failure": True,
            "auth": {"openapi": {"HTTPBearer": {"bearer": token}}},
            "checks": {name: {"enabled": True} for name in every_check()},
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True},
            },
        }
    )


def failures_of(events: list[EngineEvent]) -> list[str]:
    """Each failing check once per operation, with the curl line that shows it; an error of the run is a failure."""
    found: dict[tuple[str, str], str] = {}
    for event in events:
        if isinstance(event, NonFatalError):
            found[(event.label, "error")] = f"{event.label}: {event.info.title}: {event.info.message}"
        if not isinstance(event, ScenarioFinished):
            continue
        for case_id, checks in event.recorder.checks.items():
            for check in checks:
                if check.status == Status.FAILURE and check.failure_info is not None:
                    failure = check.failure_info.failure
                    interaction = event.recorder.interactions.get(case_id)
                    answer = interaction.response if interaction is not None else None
                    got = f"{answer.status_code} {answer.content[:300]!r}" if answer is not None else "no answer"
                    found.setdefault(
                        (event.recorder.label, check.name),
                        f"{event.recorder.label} [{check.name}] {failure.title}\n{failure.message}\n"
                        f"answered {got}\n{check.failure_info.code_sample[:600]}",
                    )
    return list(found.values())


# A unit role's token names a unit, a Kanwil's a region, an assessor's the unit they work in (the fuzzed database knows
# none of them: every case is another's).
CLAIMS = {
    "operator_unit": {"unit": FUZZ_UNIT},
    "kepala_unit": {"unit": FUZZ_UNIT},
    "kanwil": {"region": FUZZ_REGION},
    **dict.fromkeys(JUDGES, {"unit": "DITJEN-HAM"}),
}


def run(app: object, token: str) -> list[str]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=fuzz_config(token))
    schema.hook(filter_failure)
    return failures_of(list(from_schema(schema).execute()))


@pytest.mark.parametrize("role", ROLES)
async def test_every_check_passes_for_every_role(
    settings: Settings, client: Client, worker: Worker, tmp_path: Path, role: str
) -> None:
    own = settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'fuzz.db'}", "evidence_dir": tmp_path / "evidence"}
    )
    app = create_app(own, client=client)
    token = mint(own, role, f"fuzz-{role}", **CLAIMS.get(role, {}))
    failures = await asyncio.to_thread(run, app, token)
    assert not failures, f"{len(failures)} failing checks:\n\n" + "\n\n".join(failures)


BEYOND_64_BITS = 2**63  # one past the largest integer SQLite (and PostgreSQL's bigint) can hold
EDGES = [
    f"/cycles/{BEYOND_64_BITS}",
    f"/cycles/{-BEYOND_64_BITS - 1}/cases",
    f"/cycles/{BEYOND_64_BITS}/cases/KANIM-A",
    f"/cycles/{BEYOND_64_BITS}/cases/KANIM-A/history",
    f"/cycles/{BEYOND_64_BITS}/dashboard",
    f"/units?offset={BEYOND_64_BITS}",
    f"/notifications?year={BEYOND_64_BITS}",
    "/cycles/2024/cases/KANIM-A/history?as_of=0001-01-01T00:00:00",  # WIB midnight of year 1 is in year 0 UTC
    "/cycles/2024/cases/KANIM-A/history?as_of=9999-12-31T23:59:59-10:00",  # and this one in year 10000
]


@pytest.mark.parametrize("path", EDGES)
async def test_the_edges_schemathesis_found_are_not_server_errors(
    settings: Settings, client: Client, token: object, path: str
) -> None:
    """The requests fuzzing turned up, kept as plain examples: an out-of-range number or date is the client's error."""
    app = create_app(settings, client=client)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://p2ham.test") as http:
        response = await http.get(path, headers=token("admin", "admin-edges"))  # type: ignore[operator]
    assert response.status_code < 500, f"GET {path}: {response.status_code} {response.text}"
