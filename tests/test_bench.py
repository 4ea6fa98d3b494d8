"""The benchmark in small, so it never rots: it runs end to end and prints its ratios. No timing is asserted here:
the numbers belong to `make bench` on a quiet machine (README, "Scale")."""

import asyncio
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--cases", "20", "--dashboard-rows", "500", "--repeat", "5", "--cohort", "20", "--idle", "20"]
RATIOS = (
    "ratio service/floor (transitions per second): ",
    "ratio service/floor (transitions per CPU second): ",
    "ratio dashboard/plain SQL (the 20 cases above), both through the API: ",
    "ratio dashboard/plain SQL (500 synthetic rows), both through the API: ",
    "ratio cohort/bare start_workflow: ",
    "ratio cohort/bare update-with-start: ",
)


async def test_small_benchmark_completes_and_prints_its_ratios() -> None:
    # A child process with its own dev server and worker; awaited, so this session's event loop keeps running.
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench",
        *SMALL,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(child.communicate(), timeout=600)
    printed = out.decode(errors="replace")
    assert child.returncode == 0, printed[-4000:]
    lines = printed.splitlines()
    for ratio in RATIOS:
        found = [line for line in lines if ratio in line]
        assert found, f"no line with {ratio!r}:\n{printed[-4000:]}"
        number = found[0].split(ratio, 1)[1].split("x", 1)[0]
        assert float(number) > 0, found[0]
    assert any("idle: 20 open cases" in line for line in lines), printed[-4000:]
    assert not any(line.startswith("PROBLEM") for line in lines), printed[-4000:]  # e.g. a case that failed
