"""Property-based fuzzing of the whole OpenAPI contract with schemathesis: no request, however odd, is a 5xx.

Schemathesis calls the app in-process on its own event loop thread; the test runs it in a separate thread so that
this session's event loop keeps the in-process Temporal worker going meanwhile. The fuzzed app has its own database
and evidence directory: an admin's random cycles and units must not land in the other tests' data.
"""

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.schemas import OpenApiSchema
from temporalio.client import Client
from temporalio.worker import Worker

from service.api import create_app
from service.settings import Settings

Token = Callable[..., dict[str, str]]
MAX_EXAMPLES = 40  # per operation, generation mode and role: about 3500 requests in all
FUZZ_UNIT = "KANIM-FUZZ"


def fuzz(schema: OpenApiSchema, headers: dict[str, str]) -> list[str]:
    """Every operation, with valid and with invalid data; the first failing request of each failing operation."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: a bounded run; the curl line says what failed
                suppress_health_check=list(HealthCheck),
            )
            def no_server_error(case: schemathesis.Case) -> None:
                try:
                    case.call_and_validate(headers=headers, checks=[not_a_server_error])
                except (Exception, BaseExceptionGroup) as e:  # a 5xx, or an exception a real server turns into a 500
                    raise AssertionError(f"{type(e).__name__}: {e}\n{case.as_curl_command(headers)}") from e

            try:
                no_server_error()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body): the positive run covered it
            except AssertionError as e:  # hypothesis re-raises the failure: keep it, try the next operation
                failures.append(f"{operation.label} ({mode.value}): {e}")
    return failures


@pytest.mark.parametrize("role", ["admin", "operator_unit"])
async def test_no_request_is_a_server_error(
    settings: Settings, client: Client, worker: Worker, token: Token, tmp_path: Path, role: str
) -> None:
    own = settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'fuzz.db'}", "evidence_dir": tmp_path / "evidence"}
    )
    app = create_app(own, client=client)
    schema = await asyncio.to_thread(schemathesis.openapi.from_asgi, "/openapi.json", app)
    headers = token(role, f"fuzz-{role}", **({"unit": FUZZ_UNIT} if role == "operator_unit" else {}))
    failures = await asyncio.to_thread(fuzz, schema, headers)
    assert not failures, "\n\n".join(failures)


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
    settings: Settings, client: Client, token: Token, path: str
) -> None:
    """The requests fuzzing turned up, kept as plain examples: an out-of-range number or date is the client's error."""
    app = create_app(settings, client=client)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://p2ham.test") as http:
        response = await http.get(path, headers=token("admin", "admin-edges"))
    assert response.status_code < 500, f"GET {path}: {response.status_code} {response.text}"
