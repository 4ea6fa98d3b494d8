"""The benchmarks in small, so they never rot: each runs end to end and prints its ratios. No timing is asserted here:
the numbers belong to `make bench` and `make bench-dasbor` (README), measured on a quiet machine."""

import asyncio
import os
import sys
from pathlib import Path

from bench.run import LIFECYCLE_TRANSITIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
N = 20  # cases per burst, synthetic dashboard rows / 25, cohort units, idle cases
SMALL = [
    *("--cases", str(N), "--updates", "2", "--rounds", "1", "--lifecycle", "2"),
    *("--dashboard-rows", str(25 * N), "--repeat", "5", "--cohort", str(N), "--cohort-rounds", "1", "--idle", str(N)),
]
RATIOS = (
    "ratio API path/floor (transitions per second): ",
    "ratio worker-only/floor (transitions per second): ",
    "ratio API path/worker-only (transitions per second): ",
    "ratio API path/floor (transitions per CPU second): ",
    f"ratio dashboard/plain SQL (the {N} throughput cases), both through the API: ",
    f"ratio dashboard/plain SQL ({25 * N} synthetic rows), both through the API: ",
    "ratio cohort/bare start_workflow: ",
)


async def run(module: str, *args: str, timeout: float) -> tuple[int | None, str]:
    """`python -m <module>` in a child process, awaited, so this session's event loop keeps running: its exit status
    and what it printed."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(child.communicate(), timeout=timeout)
    return child.returncode, out.decode(errors="replace")


async def test_small_benchmark_completes_and_prints_its_ratios() -> None:
    # With its own dev server and worker.
    status, printed = await run("bench", *SMALL, timeout=600)
    assert status == 0, printed[-4000:]
    lines = printed.splitlines()
    for ratio in RATIOS:
        found = [line for line in lines if ratio in line]
        assert found, f"no line with {ratio!r}:\n{printed[-4000:]}"
        number = found[0].split(ratio, 1)[1].split("x", 1)[0]
        assert float(number) > 0, found[0]
    # The burst through the API is one request per official event, and every event left its audit entry.
    assert any("API requests per transition: 1.00" in line for line in lines), printed[-4000:]
    done = f"2 of 2 cases reached selesai with {2 * LIFECYCLE_TRANSITIONS} transitions"
    assert any(done in line for line in lines), printed[-4000:]
    assert any(f"idle: {N} open cases" in line for line in lines), printed[-4000:]
    assert not any(line.startswith("PROBLEM") for line in lines), printed[-4000:]  # e.g. a case that failed


async def printed_by(bench: str, *args: str) -> str:
    """Run `python -m bench.<bench>` small; its output. It ends 0 or 1 by whether its target was met, which depends on
    what else runs on this machine, so only that it ended with a verdict is checked."""
    status, printed = await run(f"bench.{bench}", *args, timeout=300)
    assert status in (0, 1), printed[-4000:]
    return printed


async def test_the_dashboard_page_benchmark_runs_and_prints_its_ratios() -> None:
    """`make bench-dasbor` in small (300 synthetic cases instead of 20,000), so the measurement behind the README's
    figure never rots: it runs end to end, prints its ratios and says whether its 200 ms target was met."""
    printed = await printed_by("dasbor", "--cases", "300", "--repeat", "3")
    for line in ("ratio dashboard page / JSON dashboard:", "target: the page under 200 ms:"):
        assert line in printed, printed[-4000:]


async def test_the_case_page_benchmark_runs_small_and_prints_its_ratios() -> None:
    """`make bench-kasus` over 200 synthetic cases (no Temporal): it ends and prints the page's median and its ratios
    and says whether its 50 ms target was met."""
    printed = await printed_by("kasus", "--cases", "200", "--repeat", "3")
    for line in ("ratio case page / JSON case: ", "ratio case page / JSON history: ", "target: the case page under"):
        assert line in printed, printed[-4000:]
