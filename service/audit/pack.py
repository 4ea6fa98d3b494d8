"""The audit pack: a zip an auditor checks offline with `verify.py` inside it (`service/audit_verify.py`, standard
library only): the case's audit log as JSON and CSV, the evidence files it names with their manifest, the refused
commands, the service's verdict, and SHA256SUMS over every file. Under a size cap when an official downloads it;
`p2ham audit-pack` writes any size."""

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.background import BackgroundTask
from temporalio.client import Client

from models.contracts import Actor, Transition
from models.tables import EvidenceRow, RefusalRow
from service.access import log_read
from service.audit.case import audit_case
from service.audit.log import utc
from service.audit.verdict import AuditVerdict, in_words
from service.evidence import stored_path
from service.i18n import render
from service.settings import Settings
from service.spreadsheet import csv_text
from workflows import lifecycle
from workflows.reasons import reason
from workflows.unit import case_workflow_id

PACK_FORMAT = "p2ham-audit-pack/1"
VERIFIER = Path(__file__).parents[1] / "audit_verify.py"

README = """P2HAM audit pack: case of unit {unit}, cycle {year}
Made {made} by {who}. Service verdict when made: {verdict}.

Files
  entries.json           the case's audit log: every transition with its actor, time, payload, evidence, policy
                         version, lineage (the unit's parents a judge's step was checked against; absent in
                         entries written before it was recorded), prev_hash and hash (exactly the fields that were
                         hashed)
  entries.csv            the same, one row per entry, for a spreadsheet
  evidence-manifest.csv  every evidence file the entries name: sha256 (its id), media type, size, the entries using it
  evidence/<sha256>      the evidence files themselves (those the evidence store held)
  refusals.csv           commands that were refused on this case, with who, when and why
  verdict.json           the service's verified replay (Temporal history replayed through the code, hash chain,
                         read model), as GET /cycles/{year}/cases/{unit}/audit returns it
  verify.py              the offline verifier (Python 3 standard library only)
  SHA256SUMS             sha256 of every other file in the pack

How to verify offline (needs only Python 3, no network, no P2HAM installation)
  python3 verify.py p2ham-audit-{year}-{unit}.zip      (or, unzipped: python3 verify.py DIRECTORY)
  It checks that no file changed since the pack was made (SHA256SUMS; `sha256sum -c SHA256SUMS` does this too), that
  every entry's hash is the sha256 of its canonical JSON, that each entry's prev_hash is the hash of the entry before
  it (the first entry's is empty), and that every included evidence file's sha256 equals its name and its size
  matches the manifest. Exit status 0 means every check passed.

  Canonical JSON of an entry: the entry from entries.json without its "hash" field, serialised with keys sorted,
  no whitespace (separators "," and ":"), non-ASCII characters kept as UTF-8.

  The chain proves the entries have not been changed relative to the last hash. Compare the last hash the verifier
  prints with one obtained independently of this pack: chain.last_hash of GET /cycles/{year}/cases/{unit}/audit,
  or the hash of the last entry of GET /cycles/{year}/cases/{unit}/history, asked of the service yourself.
  Last hash when the pack was made: {last_hash}
"""

ENTRY_COLUMNS = [
    "seq",
    "at",
    "event",
    "from",
    "to",
    "actor_sub",
    "actor_name",
    "actor_role",
    "actor_unit",
    "actor_region",
    "payload",
    "evidence",
    "policy_version",
    "lineage",
    "prev_hash",
    "hash",
]
MANIFEST_COLUMNS = ["sha256", "media_type", "size", "uploaded_by_unit", "included", "used_by_entries"]
REFUSAL_COLUMNS = ["at", "event", "actor_sub", "actor_name", "actor_role", "status", "why", "payload"]


class PackTooLarge(Exception):
    """The pack would exceed P2HAM_AUDIT_PACK_MAX_BYTES; `p2ham audit-pack` writes larger ones."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes > {limit}")
        self.why = reason("audit.paket_ukuran", ukuran=size, batas=limit)


async def download_pack(
    client: Client, session: Session, settings: Settings, actor: Actor, year: int, unit: str, locale: str
) -> FileResponse:
    """The audit pack as an official downloads it, through the API or the auditor's page: under the size cap, its
    reading logged, streamed from its temporary file and deleted after. Raises `UnknownCase`, `PackTooLarge`."""
    verdict, path = await audit_pack(
        client,
        session,
        settings.evidence_dir,
        year,
        unit,
        who=actor.sub,
        max_bytes=settings.audit_pack_max_bytes,
        locale=locale,
    )
    log_read(session, actor, year, unit, ["paket_audit"])
    headers = {"X-P2HAM-Audit-Ok": "true" if verdict.ok else "false", "Cache-Control": "private, no-store"}
    return FileResponse(
        path,
        media_type="application/zip",
        filename=pack_name(year, unit),
        headers=headers,
        background=BackgroundTask(path.unlink),
    )


async def audit_pack(
    client: Client,
    session: Session,
    evidence_dir: Path,
    year: int,
    unit: str,
    who: str = "p2ham",
    max_bytes: int | None = None,
    locale: str = "id",
) -> tuple[AuditVerdict, Path]:
    """A zip an auditor can check offline with `verify.py` inside it; see README above. Written to a temporary file
    (the caller deletes it) in a worker thread, off the event loop; with `max_bytes`, refused (`PackTooLarge`) before
    any evidence is read when its files would be larger. The verdict's differences and the refusals are written in
    `locale` (their codes are in verdict.json too)."""
    audit = await audit_case(client, session, year, unit)
    verdict = in_words(audit.verdict, locale)
    evidence, manifest = evidence_files(session, evidence_dir, unit, audit.entries)
    files = {
        "entries.json": entries_json(year, unit, audit.entries),
        "entries.csv": csv_text(ENTRY_COLUMNS, [entry_row(e) for e in audit.entries]),
        "evidence-manifest.csv": manifest,
        "refusals.csv": csv_text(REFUSAL_COLUMNS, [refusal_row(r, locale) for r in audit.refusals]),
        "verdict.json": verdict.model_dump_json(indent=2).encode(),
        "verify.py": VERIFIER.read_bytes(),
        "README.txt": readme(verdict, audit.entries, who),
    }
    check_size(files, evidence, max_bytes)
    return verdict, await asyncio.to_thread(write_pack, files, evidence)


def entries_json(year: int, unit: str, entries: list[Transition]) -> bytes:
    """The entries exactly as they were hashed, with what they are the log of."""
    document = {"format": PACK_FORMAT, "year": year, "unit": unit, "workflow_id": case_workflow_id(year, unit)}
    dumped = [e.model_dump(mode="json") for e in entries]
    return json.dumps({**document, "entries": dumped}, ensure_ascii=False, indent=2).encode()


def entry_row(e: Transition) -> list[Any]:
    return [
        e.seq,
        e.at.isoformat(),
        e.event,
        e.source or "",
        e.target,
        e.actor.sub,
        e.actor.name,
        e.actor.role,
        e.actor.unit or "",
        e.actor.region or "",
        json.dumps(e.payload, ensure_ascii=False, sort_keys=True),
        " ".join(e.evidence),
        e.policy_version,
        json.dumps(e.lineage, ensure_ascii=False),  # null: not recorded
        e.prev_hash,
        e.hash,
    ]


def refusal_row(r: RefusalRow, locale: str) -> list[Any]:
    return [
        utc(r.at).isoformat(),
        r.event,
        r.actor_sub,
        r.actor_name,
        r.actor_role,
        r.status,
        " | ".join(render(w, locale) for w in r.why),
        json.dumps(r.payload, ensure_ascii=False, sort_keys=True),
    ]


def evidence_used(entries: list[Transition]) -> dict[str, list[Transition]]:
    """Each evidence id with the entries that used it: the ones an entry lists, and the ones its payload names."""
    used: dict[str, list[Transition]] = {}
    for entry in entries:
        ids = set(entry.evidence)
        rule = lifecycle.RULES.get(entry.event)
        if rule is not None:
            with contextlib.suppress(ValidationError):  # an altered payload still lists what it names
                ids |= rule.payload.model_validate(entry.payload).evidence_ids()
        for evidence_id in sorted(ids):
            used.setdefault(evidence_id, []).append(entry)
    return used


def evidence_files(
    session: Session, evidence_dir: Path, unit: str, entries: list[Transition]
) -> tuple[dict[str, Path], bytes]:
    """The evidence files the entries use, by their name in the pack (streamed into the zip from the store, never held
    in memory), and the manifest of every one, whether the store holds it or not."""
    evidence: dict[str, Path] = {}
    manifest = []
    for evidence_id, users in sorted(evidence_used(entries).items()):
        path = stored_path(evidence_dir, evidence_id)
        included = path.is_file()
        if included:
            evidence[f"evidence/{evidence_id}"] = path
        manifest.append(manifest_row(session, unit, evidence_id, users, included))
    return evidence, csv_text(MANIFEST_COLUMNS, manifest)


def manifest_row(session: Session, unit: str, evidence_id: str, users: list[Transition], included: bool) -> list[Any]:
    """What the evidence store knows of one file (as this unit uploaded it, if it did), and the entries using it."""
    stored = session.exec(select(EvidenceRow).where(EvidenceRow.id == evidence_id)).all()
    own = next((r for r in stored if r.unit == unit), stored[0] if stored else None)
    return [
        evidence_id,
        own.media_type if own else "",
        own.size if own else "",
        own.unit if own else "",
        "yes" if included else "no (not in the evidence store)",
        "; ".join(f"{e.seq} {e.event}" for e in users),
    ]


def readme(verdict: AuditVerdict, entries: list[Transition], who: str) -> bytes:
    return README.format(
        unit=verdict.unit,
        year=verdict.year,
        made=verdict.checked_at.isoformat(),
        who=who,
        verdict="OK" if verdict.ok else f"FAILED ({len(verdict.differences)} differences, see verdict.json)",
        last_hash=entries[-1].hash if entries else "(no entries)",
    ).encode()


def check_size(files: dict[str, bytes], evidence: dict[str, Path], max_bytes: int | None) -> None:
    """Raises `PackTooLarge` when the pack's files would pass `max_bytes`; only the evidence files' sizes are read."""
    size = sum(len(data) for data in files.values()) + sum(p.stat().st_size for p in evidence.values())
    if max_bytes is not None and size > max_bytes:
        raise PackTooLarge(size, max_bytes)


def write_pack(files: dict[str, bytes], evidence: dict[str, Path]) -> Path:
    """The zip in a temporary file, evidence streamed from the store, with SHA256SUMS over every file."""
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    for name, path in evidence.items():
        with path.open("rb") as f:
            sums[name] = hashlib.file_digest(f, "sha256").hexdigest()
    files["SHA256SUMS"] = "".join(f"{digest}  {name}\n" for name, digest in sums.items()).encode()
    fd, name = tempfile.mkstemp(prefix="p2ham-audit-", suffix=".zip")
    with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
        for arcname, data in files.items():
            if arcname != "SHA256SUMS":
                pack.writestr(arcname, data)
        for arcname, path in evidence.items():
            pack.write(path, arcname)
        pack.writestr("SHA256SUMS", files["SHA256SUMS"])
    return Path(name)


def pack_name(year: int, unit: str) -> str:
    return f"p2ham-audit-{year}-{unit}.zip"
