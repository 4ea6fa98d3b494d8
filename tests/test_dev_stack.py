"""`make run` as a newcomer uses it: `p2ham dev` starts the stack, `p2ham demo` runs a case, Ctrl-C stops it all."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO

import httpx

from service.cli import port_open, temporal_binary

P2HAM = Path(sys.executable).with_name("p2ham")
HOST = "127.0.0.1"


def free_ports(n: int) -> list[int]:
    # Hold every socket until all are bound, so the same port cannot be handed out twice.
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in sockets]


class Output:
    """Reads a process's output in a thread: the stack's logs must never fill the pipe and block it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.lines.append(line.decode(errors="replace"))

    def text(self) -> str:
        return "".join(list(self.lines))

    def tail(self, n: int = 40) -> str:
        return "".join(self.lines[-n:])


def test_dev_stack_runs_the_demo_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    assert P2HAM.exists(), f"{P2HAM} is missing: run `pip install -e '.[dev]'`"
    temporal_port, ui_port, api_port = free_ports(3)
    api = f"http://{HOST}:{api_port}"
    env = {**os.environ, "P2HAM_JWT_SECRET": "dev-stack-test-" + uuid.uuid4().hex, "PYTHONUNBUFFERED": "1"}
    # The stack under test uses its own data dir, whatever the environment points at.
    for name in ("P2HAM_DATABASE_URL", "P2HAM_TEMPORAL_ADDRESS"):
        env.pop(name, None)
    args = [str(P2HAM), "dev", "--data-dir", str(tmp_path / "data"), "--temporal-port", str(temporal_port)]
    args += ["--ui-port", str(ui_port), "--api-port", str(api_port)]

    # A session of its own: the finally below can kill dev and its three children as one process group.
    dev = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    output = Output(dev.stdout)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 90
        while f"{api}/docs" not in output.text():
            assert dev.poll() is None, f"p2ham dev exited with {dev.returncode}:\n{output.tail()}"
            assert time.monotonic() < deadline, f"p2ham dev did not come up within 90s:\n{output.tail()}"
            time.sleep(0.2)
        printed = output.text()
        assert f"http://{HOST}:{ui_port}" in printed
        assert "p2ham demo" in printed
        health = httpx.get(f"{api}/health", timeout=5).json()
        assert health["temporal"] is True and health["database"] is True, health
        # Closed cases' histories are kept for the production retention (ten years), not the dev server's day.
        namespace = subprocess.run(
            [temporal_binary(), "operator", "namespace", "describe", "--address", f"{HOST}:{temporal_port}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "87672h" in namespace.stdout, namespace.stdout + namespace.stderr

        demo = subprocess.run(
            [str(P2HAM), "demo", "--api", api, "--step-seconds", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        report = f"p2ham demo exited with {demo.returncode}:\n{demo.stdout}\n{demo.stderr}\n--- dev:\n{output.tail()}"
        assert demo.returncode == 0, report
        assert "--Tetapkan predikat--> Berpredikat" in demo.stdout, report
        assert "berakhir pada tahap Selesai" in demo.stdout, report

        dev.send_signal(signal.SIGINT)  # Ctrl-C
        assert dev.wait(timeout=60) == 0, output.tail()
        for port in (temporal_port, ui_port, api_port):
            assert not port_open(port), f"port {port} still answers after p2ham dev stopped"
        # The children share dev's output pipe: it reaches its end only when none of them is left.
        output.thread.join(timeout=15)
        assert not output.thread.is_alive(), "a child of p2ham dev still holds its output open"
        assert "stopped" in output.text()
    finally:
        # Whatever happened above, leave no server, worker or API behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(dev.pid, signal.SIGKILL)
        dev.wait(timeout=10)
