"""Every route of the app, with every role, in every relation to a case: the answer issue 12 designs, and no route
without a declared read rule (a new route that forgets to declare one fails here).

The expectation is written below from the issue's text ("Everyone sees only what is theirs"), not read off
`workflows/access.py`: per role, which relations to a case may read it; per route, what it reads.
"""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import routing

from models.policy import Calendar
from service.access import COMMAND, PUBLIC, declared_rule
from service.api import create_app
from service.demo import WITNESSES
from service.settings import Settings
from tests.stages import KIND, OPENS_AT_ONCE, REGION, calendar, case_at
from workflows.access import read_table

# --- The expectation -----------------------------------------------------------------------------------------------

OWN, OTHER_UNIT, OTHER_REGION, ASSIGNED, UNASSIGNED = "own", "other_unit", "other_region", "assigned", "unassigned"
FAR_REGION = "KANWIL-JATIM"


def officials(unit: str) -> dict[tuple[str, str], dict[str, str]]:
    """(role, relation to the case of `unit`) -> the token's claims, `sub` included."""
    return {
        **{(role, OWN): {"sub": f"{role}-own", "unit": unit} for role in ("operator_unit", "kepala_unit")},
        **{
            (role, OTHER_UNIT): {"sub": f"{role}-tetangga", "unit": "KANIM-TETANGGA"}
            for role in ("operator_unit", "kepala_unit")
        },
        **{
            (role, OTHER_REGION): {"sub": f"{role}-jauh", "unit": "LAPAS-SURABAYA"}
            for role in ("operator_unit", "kepala_unit")
        },
        ("kanwil", OWN): {"sub": "kanwil-dki", "region": REGION},
        ("kanwil", OTHER_REGION): {"sub": "kanwil-jatim", "region": FAR_REGION},
        # The demo's team (service/demo.py TEAM), and judges the team does not name; one of the team from the unit.
        ("verifikator", ASSIGNED): {"sub": "verif-1", "unit": "DITJEN-HAM"},
        ("verifikator", UNASSIGNED): {"sub": "verif-9", "unit": "DITJEN-HAM"},
        ("verifikator", OWN): {"sub": "verif-1", "unit": unit},
        ("penilai", ASSIGNED): {"sub": "penilai-a", "unit": "DITJEN-HAM"},
        ("penilai", UNASSIGNED): {"sub": "penilai-9", "unit": "DITJEN-HAM"},
        ("ketua_penilai", ASSIGNED): {"sub": "ketua-1", "unit": "DITJEN-HAM"},
        ("ketua_penilai", UNASSIGNED): {"sub": "ketua-9", "unit": "DITJEN-HAM"},
        ("ditjen_ham", OWN): {"sub": "ditjen-rw"},
        ("auditor", OWN): {"sub": "auditor-rw"},
        ("admin", OWN): {"sub": "admin-rw"},
    }


# Who may read a case's contents (its view, history, evidence, documents), by role and relation.
READS_CASE = {
    "operator_unit": {OWN},
    "kepala_unit": {OWN},
    "kanwil": {OWN},
    "verifikator": {ASSIGNED},
    "penilai": {ASSIGNED},
    "ketua_penilai": {ASSIGNED},
    "ditjen_ham": {OWN},
    "auditor": {OWN},
    "admin": set(),
}
NEVER = {  # what a role never reads, whatever the case: 403 before any case is looked at
    "draft": {"verifikator", "penilai", "ketua_penilai", "admin"},
    "case": set(),
    "contents": {"admin"},
    "audit": {
        "operator_unit",
        "kepala_unit",
        "kanwil",
        "verifikator",
        "penilai",
        "ketua_penilai",
        "ditjen_ham",
        "admin",
    },
    "ceremony": {"operator_unit", "kepala_unit", "verifikator", "penilai", "ketua_penilai", "admin"},
    "notification": {"admin"},
    "dashboard": {"operator_unit", "kepala_unit", "verifikator", "penilai", "ketua_penilai", "admin"},
}

# Every GET route and what it reads; a new route must be added here, with its expectation.
ROUTES = {
    "/health": PUBLIC,
    "/ready": PUBLIC,
    "/metrics": PUBLIC,
    "/lifecycle": PUBLIC,
    "/cycles/{year}": "open",
    "/units": "open",
    "/cycles/{year}/dashboard": "open",
    "/cycles/{year}/cases": "case_list",
    "/cycles/{year}/cases/{unit}": "case",
    "/cycles/{year}/cases/{unit}/history": "contents",
    "/cycles/{year}/cases/{unit}/evidence/{evidence_id}": "contents",
    "/cycles/{year}/cases/{unit}/documents/hasil-evaluasi": "contents",
    "/cycles/{year}/cases/{unit}/documents/surat-keterangan-predikat": "award_letter",
    "/cycles/{year}/cases/{unit}/draft": "draft",
    "/cycles/{year}/cases/{unit}/draft/rencana": "draft",
    "/cycles/{year}/cases/{unit}/rencana": "contents",
    "/cycles/{year}/cases/{unit}/audit": "audit",
    "/cycles/{year}/cases/{unit}/audit/pack": "audit",
    "/cycles/{year}/cases/{unit}/audit/reads": "audit",
    "/cycles/{year}/ceremonies": "ceremony_list",
    "/cycles/{year}/ceremonies/{ceremony_id}": "ceremony",
    "/notifications": "notification",
    "/me/tasks": "case_list",
    # The web pages (a session, not a bearer token: walked by `test_every_page_with_every_role_in_every_relation`).
    "/ui/": "page_open",
    "/ui/masuk": "page_open",
    "/ui/masuk/sso": "page_login",
    "/ui/masuk/sso/kembali": "page_login",
    "/ui/permohonan": "page_open",
    "/ui/kasus": "page_open",  # the cases the official may see, a page of them (none is an empty list)
    "/ui/upacara": "ceremony_list",
    "/ui/upacara/baru": "ceremony_form",
    "/ui/upacara/{year}/{ceremony_id}": "ceremony",
    "/ui/kasus/{year}/{unit}": "case",
    "/ui/kasus/{year}/{unit}/dokumen": "contents",
    "/ui/kasus/{year}/{unit}/bukti/{evidence_id}": "contents",
    "/ui/kasus/{year}/{unit}/bukti/{evidence_id}/kecil": "contents",
    "/ui/kasus/{year}/{unit}/laporan": "report",
    "/ui/kasus/{year}/{unit}/laporan/{kriteria}": "report",
    "/ui/kasus/{year}/{unit}/rencana": "report",  # the plan's pages: like the report's, the unit's operator edits
    "/ui/kasus/{year}/{unit}/rencana/{kriteria}": "report",
    "/ui/kasus/{year}/{unit}/tinjau-rencana": "plan_review",
    "/publik/predikat/{year}": "page_open",  # the public register: no login at all
    "/publik/predikat/{year}/{unit}": "not_awarded",
    "/ui/dasbor/{year}": "dashboard",
    "/ui/dasbor/{year}/unduh.csv": "dashboard",
    "/ui/dasbor/{year}/unduh.xlsx": "dashboard",
    "/ui/notifikasi": "notification",
    "/ui/audit": "audit",
    "/ui/audit/{year}/{unit}": "audit",
    "/ui/audit/{year}/{unit}/paket": "audit",
    "/ui/audit/semua/{run_id}": "audit_job",
    "/ui/audit/semua/{run_id}/hasil.csv": "audit_job",
    "/ui/admin/unit": "admin_page",
    "/ui/admin/kohort": "admin_page",
    "/ui/admin/kohort/{run_id}": "admin_job",
    "/ui/admin/siklus/{year}": "admin_page",
    "/ui/admin/penugasan": "assign_page",
    "/ui/admin/penugasan/laporan": "assign_report",
}
PAGE_PREFIXES = ("/ui/", "/publik/")
API_ROUTES = {path: kind for path, kind in ROUTES.items() if not path.startswith(PAGE_PREFIXES)}
PAGES = {path: kind for path, kind in ROUTES.items() if path.startswith(PAGE_PREFIXES) and kind != "page_login"}


def expected(kind: str, role: str, relation: str) -> int:
    if kind == "page_open":
        return 200
    if kind == "award_letter":  # the case is not awarded: no letter, to whoever reads its documents
        return 403 if role in NEVER["contents"] else 404
    if kind == "not_awarded":  # the case is not (yet) awarded: the register knows nothing of it
        return 404
    if kind == "dashboard":  # a Kanwil sees its own region's, whatever it asks
        return 403 if role in NEVER["dashboard"] else 200
    if kind in ("admin_page", "admin_job"):  # the administration's forms and jobs (an unknown job: 404)
        return 403 if role != "admin" else (200 if kind == "admin_page" else 404)
    if kind in (
        "assign_page",
        "assign_report",
    ):  # bulk penugasan: Ditjen HAM's, who assigns teams (no report yet: the form)
        return 403 if role != "ditjen_ham" else (200 if kind == "assign_page" else 303)
    if kind == "ceremony_form":  # who sets up a ceremony: Ditjen HAM, a Kanwil (an auditor only reads them)
        return 200 if role in ("ditjen_ham", "kanwil") else 403
    if kind == "audit_job":
        return 403 if role in NEVER["audit"] else 404
    if kind == "report":  # the report's pages: the unit's operator edits its report; others read the case page
        if role in NEVER["draft"]:
            return 403
        if relation not in READS_CASE[role]:
            return 404
        return 200 if role == "operator_unit" else 403
    if kind == "plan_review":  # the Kanwil's review of the plan: read as the case's contents, answered by its Kanwil
        if role in NEVER["contents"]:
            return 403
        if relation not in READS_CASE[role]:
            return 404
        return 200 if role == "kanwil" else 403
    if kind in (PUBLIC, "open", "case_list", "ceremony_list") and not (
        kind == "ceremony_list" and role in NEVER["ceremony"]
    ):
        return 200
    if kind == "ceremony_list":
        return 403
    if role in NEVER.get(kind, set()):
        return 403
    if kind == "audit":
        return 200
    if kind == "notification":
        return 200
    if kind == "ceremony":  # a ceremony of the case's region
        return 200 if role in ("ditjen_ham", "auditor") or relation == OWN else 404
    if kind == "case" and role == "admin":
        return 200  # an admin sees a case's stage (and may cancel it), never its contents
    if kind == "draft" and role in ("ditjen_ham", "auditor", "kanwil"):
        return 200 if relation in READS_CASE[role] else 404
    return 200 if relation in READS_CASE[role] else 404


async def ceremony_of(api: httpx.AsyncClient, settings: Settings, year: int, unit: str, cal: Calendar) -> str:
    """A ceremony of the case's region (KANWIL-DKI), for a neighbouring unit's application: its id."""
    neighbour = await case_at(api, settings, year, unit, "permohonan", cal)
    body = {"units": [neighbour.unit], "jadwal": cal.reporting_closes.isoformat(), "tempat": "Aula", "saksi": WITNESSES}
    made = await api.post(
        f"/cycles/{year}/ceremonies",
        json=body,
        headers={**neighbour.officials["kanwil"], "Idempotency-Key": uuid.uuid4().hex},
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


# --- The walk ------------------------------------------------------------------------------------------------------


def app_routes(settings: Settings) -> list[routing.APIRoute]:
    app = create_app(settings)
    found = [rc.original_route for rc in routing.iter_route_contexts(app.routes)]
    return [r for r in found if isinstance(r, routing.APIRoute)]


def test_every_route_declares_its_read_rule(settings: Settings) -> None:
    routes = app_routes(settings)
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in routes if declared_rule(r.dependant) is None]
    assert not undeclared, f"routes without a read rule (service/access.py reads/ReadableCase): {undeclared}"
    reads = {r.path for r in routes if "GET" in r.methods}
    assert reads == set(ROUTES), f"GET routes not in this test's expectation: {reads ^ set(ROUTES)}"
    commands = [r for r in routes if "GET" not in r.methods]
    assert all(declared_rule(r.dependant) == COMMAND for r in commands)


async def test_every_route_with_every_role_in_every_relation(
    api: httpx.AsyncClient, settings: Settings, token: Any, year: int
) -> None:
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    d = await case_at(api, settings, year, "RW-A", "lolos_evaluasi", cal)
    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    evidence = next(e["payload"]["dokumen"] for e in history["entries"] if e["event"] == "tandatangani_pernyataan")
    ceremony = await ceremony_of(api, settings, year, "RW-B", cal)
    values = {"year": str(year), "unit": d.unit, "evidence_id": evidence, "ceremony_id": ceremony}

    wrong = []
    for (role, relation), claims in officials(d.unit).items():
        headers = token(role, **claims)
        for path, kind in API_ROUTES.items():
            url = path.format(**values)
            got = await api.get(url, headers=headers)
            want = expected(kind, role, relation)
            if got.status_code != want:
                wrong.append(f"{role} ({relation}) GET {path}: expected {want}, got {got.status_code} {got.text[:200]}")
            elif want == 404:
                # never confirms that a case exists to whoever may not read it
                assert got.json()["error"] in ("unknown_case", "unknown_ceremony", "no_award"), got.text
        listed = (await api.get(f"/cycles/{year}/cases", headers=headers)).json()
        sees = relation in READS_CASE[role] or role == "admin"
        units = {c["unit"] for c in listed["items"]}
        if (d.unit in units) != sees or listed["total"] != len(listed["items"]):
            wrong.append(f"{role} ({relation}) lists {units} (total {listed['total']})")
    assert not wrong, f"{len(wrong)} answers differ from the design:\n" + "\n".join(wrong)

    got = await api.get(f"{d.case_path}/evidence/{evidence}", headers=token("auditor", "auditor-rw"))
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["etag"] == f'"{evidence}"'
    assert got.headers["cache-control"] == "private, no-store" and got.content.startswith(b"%PDF")
    log = (await api.get(f"{d.case_path}/audit/reads", headers=token("auditor", "auditor-rw"))).json()
    readers = {(e["actor"]["sub"], e["what"]) for e in log}
    assert ("verif-1", f"bukti:{evidence}") in readers and ("auditor-rw", "paket_audit") in readers
    assert ("ditjen-rw", "lembar_nilai") in readers and ("operator_unit-own", "data_saksi") in readers
    assert not any(sub == "operator_unit-tetangga" for sub, _ in readers)  # a refused read reads nothing


@asynccontextmanager
async def signed_in(api: httpx.AsyncClient, role: str, claims: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the web pages, logged in through the dev login as `role` with the token's `claims` (`sub`...)."""
    async with httpx.AsyncClient(transport=api._transport, base_url=str(api.base_url)) as browser:
        login = await browser.get("/ui/masuk")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf, login.text[:500]
        form = {"csrf_token": csrf.group(1), "role": role, "name": claims["sub"], **claims}
        answer = await browser.post("/ui/masuk/dev", data=form)
        assert answer.status_code in (200, 303), answer.text[:500]
        yield browser


async def test_every_page_with_every_role_in_every_relation(
    api: httpx.AsyncClient, settings: Settings, token: Any, year: int
) -> None:
    """The same expectations for the web pages, each official logged in through the dev login: a case the official
    may not read is a 404 page, a resource the role never reads a 403 page; nothing of it is shown."""
    cal = calendar(datetime.now(UTC), OPENS_AT_ONCE)
    d = await case_at(api, settings, year, "RW-UI", "lolos_evaluasi", cal)
    history = await d.call("GET", f"{d.case_path}/history", "ditjen")
    report = next(e["payload"] for e in history["entries"] if e["event"] == "kirim_laporan")
    photo = report["indikator"][0]["bukti"][0]  # a photo has a small copy; the signed statement (a PDF) has none
    criteria = (await d.call("GET", f"/cycles/{year}?kind={KIND}", "ditjen"))["criteria"]
    ceremony = await ceremony_of(api, settings, year, "RW-UI-B", cal)
    values = {
        "year": str(year),
        "unit": d.unit,
        "evidence_id": photo,
        "kriteria": criteria[0]["code"],
        "run_id": "x",
        "ceremony_id": ceremony,
    }
    wrong = []
    for (role, relation), claims in officials(d.unit).items():
        async with signed_in(api, role, claims) as browser:
            for path, kind in PAGES.items():
                got = await browser.get(path.format(**values))
                want = expected(kind, role, relation)
                if got.status_code != want:
                    wrong.append(f"{role} ({relation}) GET {path}: expected {want}, got {got.status_code}")
                elif want == 404:  # the same page as for a case that does not exist: nothing of the case on it
                    assert 'aria-current="step"' not in got.text, (role, relation, path)  # no case page
    assert not wrong, f"{len(wrong)} pages differ from the design:\n" + "\n".join(wrong)


def test_the_readme_shows_the_declared_read_rules() -> None:
    from tests.test_docs import README

    assert f"<!-- access:reads -->\n{read_table()}\n<!-- /access:reads -->" in README, read_table()


async def test_an_evidence_id_that_is_not_a_sha256_is_a_404(
    api: httpx.AsyncClient, settings: Settings, token: Any, year: int
) -> None:
    d = await case_at(api, settings, year, "RW-BAD", "permohonan", calendar(datetime.now(UTC), OPENS_AT_ONCE))
    for bad in ["..%2F..%2Fetc%2Fpasswd", "x" * 64, "A" * 64, "0" * 63, "0" * 64]:
        got = await api.get(f"{d.case_path}/evidence/{bad}", headers=token("auditor"))
        assert got.status_code == 404, (bad, got.text)
