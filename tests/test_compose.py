"""The production files (docker-compose.yml, Dockerfile) stay wired to each other and to the code.

Docker is not needed: the files are only parsed. Compose's `${VAR...}` substitution is redone here for the few forms
the file uses, so a URL is checked as Compose would hand it to the container.
"""

import json
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from service import api as api_module
from service.settings import DEV_SECRET, Settings
from workflows.unit import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"

POSTGRESQL = "postgresql"
TEMPORAL = "temporal"
APP_SERVICES = ("api", "worker")
# What an operator exports before `docker compose up`; every required variable of the compose file.
OPERATOR_ENV = {
    "POSTGRES_PASSWORD": "db-password",
    "P2HAM_DB_PASSWORD": "read-model-password",
    "P2HAM_JWT_SECRET": "a-production-secret-of-32-bytes-or-more",
    "P2HAM_JWT_ISSUER": "https://sso.kemenkumham.go.id",
    "P2HAM_JWT_AUDIENCE": "p2ham",
    "P2HAM_DOMAIN": "p2ham.example.go.id",
}
DEPENDS_ON_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# dclint (npm), installed by `make test` from deploy/package-lock.json; its rules as deploy/dclint.yaml sets them.
DCLINT = ROOT / "deploy" / "node_modules" / ".bin" / "dclint"
DCLINT_CONFIG = ROOT / "deploy" / "dclint.yaml"

_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))")
_SEARCH_ATTRIBUTE = re.compile(r"--name[ =](?P<name>\S+)\s+--type[ =](?P<type>\S+)")


class MissingVariable(KeyError):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's substitution: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`.

    Unlike Compose, an unset variable without a default is an error here: it is a typo or a missing default.
    """

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg, value = match["op"], match["arg"] or "", env.get(name)
        unset = value is None or (value == "" and op is not None and op.startswith(":"))
        if not unset:
            return str(value)
        if op in (":-", "-"):
            return arg
        raise MissingVariable(f"${{{name}}} is not set" + (f": {arg}" if arg else ""))

    return _VARIABLE.sub(substitute, text)


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either of Compose's forms (mapping or list of KEY=VALUE), values as strings."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """A service's `depends_on` as {service: condition}, in either of Compose's forms."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else " ".join(str(part) for part in command)


def command_argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_cmd() -> list[str]:
    cmds = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "CMD"]
    assert cmds, "the Dockerfile has no CMD"
    cmd = cmds[-1]
    return json.loads(cmd) if cmd.startswith("[") else ["/bin/sh", "-c", cmd]


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(compose, dict) and isinstance(compose.get("services"), dict), "docker-compose.yml has no services"
    return compose["services"]


SETUP_SCRIPT = ROOT / "deploy" / "temporal-setup.sh"


def entrypoint_text(service: dict[str, Any]) -> str:
    entry = service.get("entrypoint") or ""
    return entry if isinstance(entry, str) else " ".join(str(part) for part in entry)


@pytest.fixture(scope="module")
def setup_service(services: dict[str, dict[str, Any]]) -> str:
    """The one-shot service that runs deploy/temporal-setup.sh's namespace step (namespace, search attributes)."""
    found = [name for name, service in services.items() if entrypoint_text(service).endswith("setup.sh namespace")]
    assert len(found) == 1, f"expected one service running `temporal-setup.sh namespace`, got {found}"
    assert any(v.startswith("./deploy/temporal-setup.sh:") for v in services[found[0]].get("volumes", []))
    return found[0]


def test_the_stack_has_the_designed_services(services: dict[str, dict[str, Any]]) -> None:
    assert {POSTGRESQL, TEMPORAL, "temporal-ui", *APP_SERVICES} <= services.keys()


def test_every_service_has_an_image_or_a_build_and_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
        if "build" in service:
            continue
        image = interpolate(service["image"], OPERATOR_ENV)
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image} has no tag"
        assert tag not in ("", "latest"), f"{name}: image {image} is not pinned"


def test_every_depends_on_names_an_existing_service_with_a_valid_condition(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on {target}, which is not a service"
            assert target != name, f"{name} depends on itself"
            assert condition in DEPENDS_ON_CONDITIONS, f"{name} -> {target}: unknown condition {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy: no healthcheck"


def test_required_secrets_have_no_default(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        secret = environment(services[name])["P2HAM_JWT_SECRET"]
        assert interpolate(secret, OPERATOR_ENV) == OPERATOR_ENV["P2HAM_JWT_SECRET"]
        with pytest.raises(MissingVariable):
            interpolate(secret, {})


def test_api_and_worker_use_the_postgresql_service(services: dict[str, dict[str, Any]]) -> None:
    postgres_env = {key: interpolate(value, OPERATOR_ENV) for key, value in environment(services[POSTGRESQL]).items()}
    for name in APP_SERVICES:
        url = make_url(interpolate(environment(services[name])["P2HAM_DATABASE_URL"], OPERATOR_ENV))
        assert url.get_backend_name() == "postgresql", f"{name}: {url.drivername} is not PostgreSQL"
        assert url.host == POSTGRESQL, f"{name}: database host {url.host} is not the {POSTGRESQL} service"
        assert (url.port or 5432) == 5432
        # The read model's own role (deploy/postgres-init.sh), not the superuser that Temporal's setup uses.
        assert url.username == "p2ham" != postgres_env["POSTGRES_USER"]
        assert url.password == postgres_env["P2HAM_DB_PASSWORD"] != postgres_env["POSTGRES_PASSWORD"]
        assert url.database == "p2ham"
        init = (ROOT / "deploy" / "postgres-init.sh").read_text()
        assert "CREATE ROLE p2ham" in init and "CREATE DATABASE p2ham OWNER p2ham" in init
        assert depends_on(services[name]).get(POSTGRESQL) == "service_healthy"
        if url.get_driver_name() == "psycopg":
            dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
            assert any(d.startswith("psycopg") for d in dependencies), "the URL uses psycopg, which is not installed"


def test_api_and_worker_use_the_temporal_service(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        host, _, port = environment(services[name])["P2HAM_TEMPORAL_ADDRESS"].partition(":")
        assert host == TEMPORAL and port == "7233", f"{name}: Temporal address {host}:{port}"


def test_temporal_runs_on_the_postgresql_service(services: dict[str, dict[str, Any]]) -> None:
    temporal = {key: interpolate(value, OPERATOR_ENV) for key, value in environment(services[TEMPORAL]).items()}
    postgres = {key: interpolate(value, OPERATOR_ENV) for key, value in environment(services[POSTGRESQL]).items()}
    assert services[TEMPORAL]["image"].startswith("temporalio/server:")
    # server and admin-tools at one pinned version
    version = services[TEMPORAL]["image"].split(":")[1]
    assert all(s["image"].startswith(f"temporalio/admin-tools:{version}-") for s in services.values()
               if s.get("image", "").startswith("temporalio/admin-tools"))  # fmt: skip
    assert int(temporal["NUM_HISTORY_SHARDS"]) >= 1
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == POSTGRESQL
    assert temporal["DB_PORT"] == "5432"
    assert temporal["POSTGRES_USER"] == postgres["POSTGRES_USER"]
    assert temporal["POSTGRES_PWD"] == postgres["POSTGRES_PASSWORD"]
    assert depends_on(services[TEMPORAL]).get("temporal-schema") == "service_completed_successfully"
    assert environment(services["temporal-ui"])["TEMPORAL_ADDRESS"] == f"{TEMPORAL}:7233"


def test_app_environment_names_are_settings_fields(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = Settings.model_config.get("env_prefix")
    assert prefix == "P2HAM_"
    for name in APP_SERVICES:
        env = environment(services[name])
        assert env, f"{name} has no environment"
        for key in env:
            assert key.startswith(prefix), f"{name}: {key} is not a P2HAM_ setting"
            known = key.removeprefix(prefix).lower() in Settings.model_fields
            assert known, f"{name}: {key} is no Settings field"
        # The values validate, and reach the settings the process will use.
        for key in list(Settings.model_fields):
            monkeypatch.delenv(prefix + key.upper(), raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, interpolate(value, OPERATOR_ENV))
        settings = Settings()
        assert settings.temporal_address == env["P2HAM_TEMPORAL_ADDRESS"]
        assert settings.database_url.startswith("postgresql")
        assert settings.jwt_secret != DEV_SECRET


def test_worker_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker, "a fixed container_name forbids --scale worker=N"
    assert not worker.get("ports"), "published ports collide between scaled workers"
    assert "hostname" not in worker


def test_setup_service_registers_exactly_the_workflow_search_attributes(
    services: dict[str, dict[str, Any]], setup_service: str
) -> None:
    created = [
        (m["name"].strip("'\""), m["type"].strip("'\"")) for m in _SEARCH_ATTRIBUTE.finditer(SETUP_SCRIPT.read_text())
    ]
    assert [name for name, _ in created] == [key.name for key in SEARCH_ATTRIBUTES]
    for (name, cli_type), key in zip(created, SEARCH_ATTRIBUTES, strict=True):
        # CLI type names are the enum's in CamelCase: KEYWORD -> Keyword, KEYWORD_LIST -> KeywordList.
        expected = key.indexed_value_type.name.replace("_", "").lower()
        assert cli_type.lower() == expected, f"{name}: created as {cli_type}, the workflow upserts {expected}"


def test_setup_service_targets_the_app_namespace_and_gates_the_app(
    services: dict[str, dict[str, Any]], setup_service: str
) -> None:
    setup = services[setup_service]
    assert setup.get("image", "").startswith("temporalio/admin-tools:")
    assert setup.get("restart", "no") == "no", "a one-shot service must not be restarted"
    assert depends_on(setup).get(TEMPORAL) is not None
    setup_env = environment(setup)
    for name in APP_SERVICES:
        app_env = environment(services[name])
        assert setup_env["TEMPORAL_ADDRESS"] == app_env["P2HAM_TEMPORAL_ADDRESS"]
        assert setup_env["P2HAM_TEMPORAL_NAMESPACE"] == app_env["P2HAM_TEMPORAL_NAMESPACE"]
        assert setup_env["P2HAM_HISTORY_RETENTION"] == app_env["P2HAM_HISTORY_RETENTION"]
        assert depends_on(services[name]).get(setup_service) == "service_completed_successfully"


def test_dockerfile_runs_as_non_root_on_python_311_and_copies_every_package() -> None:
    instructions = dockerfile_instructions()
    bases = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    assert bases and bases[-1].startswith("python:3.11"), f"base image {bases}"
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    # `pip install .` fails if a package named in pyproject.toml is missing from the image.
    setuptools = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]
    copied = {
        Path(source).name or "."
        for keyword, arguments in instructions
        if keyword == "COPY"
        for source in arguments.split()[:-1]
        if not source.startswith("--")
    }
    needed = {
        "pyproject.toml",
        *(p.split(".")[0] for p in setuptools.get("packages", [])),
        *(f"{m}.py" for m in setuptools.get("py-modules", [])),
    }
    assert needed <= copied or "." in copied, f"not copied into the image: {sorted(needed - copied)}"
    for name in needed:
        assert (ROOT / name).exists(), f"pyproject.toml names {name}, which does not exist"


def app_commands(services: dict[str, dict[str, Any]]) -> Iterator[tuple[str, list[str]]]:
    yield "Dockerfile CMD", dockerfile_cmd()
    for name in APP_SERVICES:
        yield name, command_argv(services[name]) or dockerfile_cmd()


def test_commands_refer_to_modules_that_exist(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: set[str] = set()
    for where, argv in app_commands(services):
        assert argv, f"{where}: empty command"
        if argv[0] == "uvicorn":
            module, _, attribute = argv[1].partition(":")
            assert (ROOT / (module.replace(".", "/") + ".py")).exists(), f"{where}: no module {module}"
            assert module == api_module.__name__ and attribute == "app", f"{where}: {argv[1]}"
            seen.add("api")
        elif argv[0] in ("python", "python3") and argv[1].endswith(".py"):
            assert (ROOT / argv[1]).is_file(), f"{where}: no file {argv[1]}"
            assert "def run(" in (ROOT / argv[1]).read_text()
            seen.add("worker")
        else:
            pytest.fail(f"{where}: unexpected command {argv}")
    assert seen == {"api", "worker"}, "the image must run both the API and the worker"
    api_argv = command_argv(services["api"]) or dockerfile_cmd()
    worker_argv = command_argv(services["worker"])
    assert api_argv[0] == "uvicorn" and worker_argv[:2] == ["python", "worker.py"]
    # The API is reached through Caddy (TLS) on the port uvicorn listens on; it publishes none itself.
    port = api_argv[api_argv.index("--port") + 1]
    assert not services["api"].get("ports"), "the API is published only through the TLS proxy"
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert f"reverse_proxy api:{port}" in caddyfile and "/metrics" in caddyfile

    # uvicorn resolves `service.api:app` with getattr: the module-level __getattr__ must build the app.
    monkeypatch.setattr(api_module, "get_settings", lambda: Settings(database_url="sqlite:///:memory:"))
    app = getattr(api_module, "app")  # noqa: B009  (the lookup uvicorn does)
    try:
        assert isinstance(app, FastAPI)
    finally:
        app.state.p2ham.engine.dispose()


# Settings whose default is only right for `make run` on one machine: production must set each of them.
NO_SAFE_DEFAULT = {
    "database_url",
    "temporal_address",
    "temporal_namespace",
    "temporal_tls_ca_file",
    "temporal_tls_cert_file",
    "temporal_tls_key_file",
    "jwt_secret",
    "jwt_issuer",
    "jwt_audience",
    "evidence_dir",
    "archive_dir",
}


def test_every_setting_without_a_safe_default_is_set_in_compose(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env = environment(services[name])
        missing = sorted(f"P2HAM_{field.upper()}" for field in NO_SAFE_DEFAULT if f"P2HAM_{field.upper()}" not in env)
        assert not missing, f"{name} does not set {missing}"
        assert env["P2HAM_MODE"] == "production"
    # Each is a real setting; a field added to Settings must be classed here or given a safe default.
    assert Settings.model_fields.keys() >= NO_SAFE_DEFAULT
    worker = environment(services["worker"])
    assert worker["P2HAM_WORKER_METRICS_ADDRESS"].endswith(":9464")
    grace = int(worker["P2HAM_WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert int(str(services["worker"]["stop_grace_period"]).removesuffix("s")) > grace


def test_evidence_and_archive_live_on_volumes(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env, mounts = environment(services[name]), services[name].get("volumes", [])
        for key in ("P2HAM_EVIDENCE_DIR", "P2HAM_ARCHIVE_DIR"):
            assert any(m.split(":")[1] == env[key] and not m.startswith(".") for m in mounts), f"{name}: {key}"


def test_every_service_has_a_healthcheck_or_is_one_shot(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        one_shot = service.get("restart") == "no"
        assert one_shot or "healthcheck" in service, f"{name} has no healthcheck"
        for target, condition in depends_on(service).items():
            expected = (
                "service_completed_successfully" if services[target].get("restart") == "no" else "service_healthy"
            )
            assert condition == expected, f"{name} -> {target}: {condition}, expected {expected}"


def test_the_certificate_script_makes_what_the_services_mount(tmp_path: Path) -> None:
    import subprocess

    from worker import tls_config

    done = subprocess.run(["sh", str(ROOT / "deploy" / "make-certs.sh"), str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    client = tmp_path / "client"
    settings = Settings(
        temporal_tls_ca_file=client / "ca.pem",
        temporal_tls_cert_file=client / "client.pem",
        temporal_tls_key_file=client / "client.key",
        temporal_tls_server_name="temporal",
    )
    tls = tls_config(settings)
    assert tls is not None and tls.domain == "temporal"
    assert tls.client_cert == (client / "client.pem").read_bytes() and tls.server_root_ca_cert.startswith(b"-----")
    assert tls_config(Settings()) is None  # the dev stack: no TLS
    assert {p.name for p in (tmp_path / "server").iterdir()} == {"ca.pem", "temporal.pem", "temporal.key"}


def dclint(path: Path) -> subprocess.CompletedProcess[str]:
    assert DCLINT.exists(), f"{DCLINT} is missing: `make test` installs it (npm ci in deploy/)"
    command = [str(DCLINT), "--no-color", "--config", str(DCLINT_CONFIG), "--max-warnings", "0", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_compose_file_passes_the_compose_schema_and_dclint() -> None:
    """The Compose specification's JSON schema (the one dclint ships) and dclint's rules; a warning fails too."""
    done = dclint(COMPOSE_FILE)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("mistake", "rule"),
    [
        (("    stop_grace_period: 30s\n", "    stop_grace_period: 30s\n    stop_grace_perod: 30s\n"), "invalid-schema"),
        (('"0.0.0.0:443:443"', '"443:443"'), "no-unbound-port-interfaces"),
    ],
)
def test_dclint_catches_a_mistake_in_the_compose_file(tmp_path: Path, mistake: tuple[str, str], rule: str) -> None:
    text = COMPOSE_FILE.read_text()
    assert mistake[0] in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(mistake[0], mistake[1], 1))
    done = dclint(broken)
    assert done.returncode != 0 and rule in done.stdout, done.stdout + done.stderr
