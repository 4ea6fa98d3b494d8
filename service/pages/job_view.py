"""A long job's page (service/background.py), the cohort's and the audit's alike. Without JavaScript the page reloads
itself every REFRESH_SECONDS while the run is going, and the reader controls that (WCAG 2.2.1, Timing Adjustable): a
"Muat ulang" link, and a link that turns the automatic reload off (`?segarkan=tidak`, kept in the address, so the
reloads keep it) and on again. A run that finished or stopped is not reloaded. With JavaScript the page follows the
run in place instead (p2ham.js)."""

from typing import Annotated

from fastapi import Query, Request

from service.background import Run

REFRESH_SECONDS = 10
OFF = "tidak"
Segarkan = Annotated[str, Query(max_length=8, description='"tidak": the page does not reload itself')]


def job_context(request: Request, run: Run, segarkan: str) -> dict[str, object]:
    """What the page's template needs to show the run and its reload controls."""
    off = segarkan == OFF
    path = request.url.path
    return {
        "run": run,
        "auto_refresh": run.going and not off,
        "refresh_off": off,
        "refresh_seconds": REFRESH_SECONDS,
        "here": f"{path}?segarkan={OFF}" if off else path,
        "toggle": path if off else f"{path}?segarkan={OFF}",
    }
