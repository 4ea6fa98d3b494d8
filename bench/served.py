"""The page benchmarks' measurement (bench/dasbor.py, bench/kasus.py): requests served in this process (httpx's ASGI
transport, no network), so the time measured is the server's; medians of interleaved requests after one request each
to warm the caches, and the verdict against the page's target."""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import httpx
from fastapi import FastAPI

from service.settings import Settings

Paths = dict[str, tuple[str, dict[str, str]]]  # what is measured: its name -> (path, request headers)
Timings = dict[str, tuple[float, float, int]]  # its name -> (median ms, first request ms, bytes sent gzipped)


@contextmanager
def scratch(name: str) -> Iterator[Settings]:
    """Settings over a fresh SQLite database and evidence directory, in a temporary directory removed afterwards (also
    for the screenshots over the same synthetic cases, tests/screenshots.py)."""
    with tempfile.TemporaryDirectory(prefix=f"p2ham-{name}-") as tmp:
        yield Settings(database_url=f"sqlite:///{Path(tmp) / 'p2ham.db'}", mode="dev", evidence_dir=Path(tmp))


async def logged_in(http: httpx.AsyncClient) -> None:
    """A dev login as Ditjen HAM on the pages' own form, so that the pages read as an official."""
    form = await http.get("/ui/masuk")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "no CSRF token on the login page"
    data = {"role": "ditjen_ham", "sub": "bench", "name": "Bench", "csrf_token": token.group(1)}
    r = await http.post("/ui/masuk/dev", data=data)
    assert r.status_code == 303, r.text


async def medians(
    app: FastAPI, paths: Paths, repeat: int, check_first: Callable[[str, httpx.Response], None] | None = None
) -> Timings:
    """Each path `repeat` times, interleaved, after a first round that warms the caches (its times are kept apart);
    `check_first` looks at each first answer, to make sure the page shows what is measured."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        await logged_in(http)
        samples: dict[str, list[float]] = {name: [] for name in paths}
        sizes: dict[str, int] = {}
        cold: dict[str, float] = {}
        for round_ in range(repeat + 1):
            for name, (path, headers) in paths.items():
                t = time.perf_counter()
                r = await http.get(path, headers={**headers, "Accept-Encoding": "gzip"})
                elapsed = time.perf_counter() - t
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
                if round_:
                    samples[name].append(elapsed)
                else:
                    cold[name] = elapsed
                    if check_first is not None:
                        check_first(name, r)
                sizes[name] = r.num_bytes_downloaded  # as sent: compressed
    return {name: (1000 * statistics.median(s), 1000 * cold[name], sizes[name]) for name, s in samples.items()}


def print_timings(results: Timings, repeat: int) -> None:
    width = max(len(name) for name in results)
    print(f"medians of {repeat} requests each, interleaved, server time in this process:")
    for name, (ms, cold_ms, size) in results.items():
        print(f"  {name:{width}} {ms:7.1f} ms (first request {cold_ms:6.1f} ms)  {size / 1024:6.1f} KiB sent (gzip)")


def arguments(prog: str, doc: str, repeat: int, argv: Sequence[str] | None) -> argparse.Namespace:
    """A page benchmark's command line: how many synthetic cases (`--cases`), how many requests of each path
    (`--repeat`); `doc` is its module's, whose first paragraph describes it."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser.parse_args(argv)


def conclude(
    results: Timings, repeat: int, measured: str, ratios: dict[str, str], page: str, target_ms: float
) -> NoReturn:
    """The timings, the `measured` page's median against each other path's (`ratios`: the ratio's words -> that
    path's name), and the verdict on the page (named `page`) against its target."""
    page_ms = results[measured][0]
    print_timings(results, repeat)
    width = max(len(words) for words in ratios) + 1
    for words, other in ratios.items():
        print(f"  ratio {words + ':':{width}} {page_ms / results[other][0]:.1f}x")
    verdict(page, page_ms, target_ms)


def verdict(page: str, page_ms: float, target_ms: float) -> NoReturn:
    """Say whether the page met its target, and end with it: 0 met, 1 not."""
    ok = page_ms < target_ms
    print(f"  target: {page} under {target_ms:.0f} ms: {'met' if ok else 'NOT met'} ({page_ms:.1f} ms)")
    sys.stdout.flush()
    os._exit(0 if ok else 1)  # as every entry point (DESIGN §3)
