"""Operations: readiness follows the dependencies, metrics count requests per route, logs are JSON with the case."""

import json
import logging

import httpx

from service.api import create_app
from service.observability import JsonFormatter
from service.settings import Settings
from tests.test_faults import eventually


async def test_ready_and_metrics(api: httpx.AsyncClient, settings: Settings, year: int, token):
    # Readiness is a probe that is asked again: on a busy machine Temporal can miss one health check's 5 s, so the
    # test waits for the answer "ready" (as an orchestrator would), then checks what it says.
    answers: list[dict] = []

    async def ready() -> bool:
        r = await api.get("/ready")
        answers.append(r.json())
        return r.status_code == 200

    await eventually(ready, "the API reporting itself ready")
    assert answers[-1] == {"status": "ready", "database": True, "temporal": True}
    await api.get(f"/cycles/{year}/cases/KANIM-X", headers=token("auditor"))
    text = (await api.get("/metrics")).text
    line = 'p2ham_api_requests_total{method="GET",route="/cycles/{year}/cases/{unit}",status="404"}'
    assert line in text  # the route template, never the raw path with its unit code

    down = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as http:
        r = await http.get("/ready")
    assert r.status_code == 503 and r.headers["Retry-After"]
    temporal = {"code": "layanan.temporal", "params": {}}
    assert r.json()["why_codes"] == [{"code": "layanan_tidak_menjawab", "params": {"layanan": temporal}}]
    assert r.json()["why"] == ["Layanan alur kerja (Temporal) tidak menjawab."]


def test_log_lines_are_json_and_name_the_case():
    record = logging.LogRecord("p2ham", logging.INFO, __file__, 1, "kirim_laporan applied", None, None)
    record.temporal_activity = {"workflow_id": "p2ham-2027-KANIM-X", "activity_type": "project_transition"}
    line = json.loads(JsonFormatter().format(record))
    assert line["case"] == "p2ham-2027-KANIM-X"
    assert line["message"] == "kirim_laporan applied" and line["level"] == "INFO"
