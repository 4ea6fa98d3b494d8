"""Offline check of a P2HAM audit pack, with Python's standard library only (it ships in every pack as verify.py).

    python3 -m service.audit_verify p2ham-audit-2027-KANIM-X.zip     (in the project)
    python3 verify.py p2ham-audit-2027-KANIM-X.zip                   (anywhere: the copy inside the pack)
    python3 verify.py DIRECTORY                                      (the pack unzipped)

Checks: every file against SHA256SUMS; every entry's hash = sha256 of its canonical JSON (the entry without "hash",
keys sorted, separators "," and ":", UTF-8); each entry's prev_hash = the previous entry's hash (the first one's is
empty) and sequence numbers 1, 2, 3, ...; entries.csv agrees with entries.json; every included evidence file's sha256
equals its name and its size the manifest's; the service's verdict recorded in the pack. Exit status 0 only if all
pass, 1 if any fails, 2 if the pack cannot be read.
"""

import csv
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

PACK_FORMAT = "p2ham-audit-pack/1"


def canonical(value: Any) -> bytes:
    # The same serialisation as workflows.lifecycle.canonical, which made the hashes.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def read_pack(where: Path) -> dict[str, bytes]:
    """Every file of the pack by its path inside it, from the zip or from the unzipped directory."""
    if where.is_dir():
        return {p.relative_to(where).as_posix(): p.read_bytes() for p in sorted(where.rglob("*")) if p.is_file()}
    with zipfile.ZipFile(where) as pack:
        return {name: pack.read(name) for name in pack.namelist() if not name.endswith("/")}


def check_sums(files: dict[str, bytes]) -> list[str]:
    if "SHA256SUMS" not in files:
        return ["SHA256SUMS is missing: the pack's files cannot be checked"]
    problems, listed = [], set()
    for line in files["SHA256SUMS"].decode("utf-8", "replace").splitlines():
        digest, _, path = line.partition("  ")
        listed.add(path)
        if path not in files:
            problems.append(f"{path} is listed in SHA256SUMS but missing from the pack")
        elif hashlib.sha256(files[path]).hexdigest() != digest:
            problems.append(f"{path} has changed since the pack was made (its sha256 differs from SHA256SUMS)")
    extra = sorted(set(files) - listed - {"SHA256SUMS"})
    problems += [f"{path} is in the pack but not in SHA256SUMS (added afterwards?)" for path in extra]
    return problems


def check_chain(entries: list[dict[str, Any]]) -> list[str]:
    problems, previous = [], None
    for position, entry in enumerate(entries, start=1):
        what = f"entry {entry.get('seq')} ({entry.get('event')})"
        if entry.get("seq") != position:
            problems.append(f"{what}: expected sequence number {position} (an entry is missing or out of order)")
        if entry_hash(entry) != entry.get("hash"):
            problems.append(f"{what}: its hash does not match its contents: it was changed after it was written")
        expected = previous.get("hash") if previous else ""
        if entry.get("prev_hash") != expected:
            problems.append(f"{what}: its prev_hash does not link to the entry before it")
        previous = entry
    return problems


def check_csv(files: dict[str, bytes], entries: list[dict[str, Any]]) -> list[str]:
    if "entries.csv" not in files:
        return ["entries.csv is missing"]
    rows = list(csv.DictReader(io.StringIO(files["entries.csv"].decode("utf-8", "replace"))))
    in_json = [(str(e.get("seq")), e.get("hash")) for e in entries]
    in_csv = [(r.get("seq"), r.get("hash")) for r in rows]
    return [] if in_json == in_csv else ["entries.csv does not list the same entries (seq, hash) as entries.json"]


def check_evidence(files: dict[str, bytes], entries: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    problems, notes = [], []
    text = files.get("evidence-manifest.csv", b"").decode("utf-8", "replace")
    manifest = {row["sha256"]: row for row in csv.DictReader(io.StringIO(text))}
    for entry in entries:
        for evidence_id in entry.get("evidence", []):
            if evidence_id not in manifest:
                problems.append(f"evidence {evidence_id} (entry {entry.get('seq')}) is not in evidence-manifest.csv")
    for path, data in files.items():
        if not path.startswith("evidence/"):
            continue
        evidence_id = path.removeprefix("evidence/")
        if hashlib.sha256(data).hexdigest() != evidence_id:
            problems.append(f"{path}: the file's sha256 is not its name: the file was changed")
        elif evidence_id in manifest and manifest[evidence_id]["size"] not in ("", str(len(data))):
            problems.append(f"{path}: {len(data)} bytes, but the manifest says {manifest[evidence_id]['size']}")
    missing = [e for e in manifest if f"evidence/{e}" not in files]
    notes += [f"evidence {e} is not included in the pack, so it cannot be checked here" for e in missing]
    return problems, notes


def verify(where: Path) -> tuple[list[str], list[str], dict[str, Any]]:
    """(problems, notes, what the pack is of: year, unit, last_hash). No problems means every check passed."""
    files = read_pack(where)
    problems = check_sums(files)
    notes: list[str] = []
    try:
        document = json.loads(files["entries.json"].decode("utf-8"))
        entries = document["entries"]
    except (KeyError, UnicodeDecodeError, ValueError, TypeError) as e:
        return problems + [f"entries.json cannot be read as a pack's entries: {e}"], notes, {}
    if document.get("format") != PACK_FORMAT:
        problems.append(f"entries.json is not in the format {PACK_FORMAT}")
    problems += check_chain(entries)
    problems += check_csv(files, entries)
    evidence_problems, notes = check_evidence(files, entries)
    problems += evidence_problems
    last_hash = entries[-1].get("hash") if entries else None
    about = {"year": document.get("year"), "unit": document.get("unit"), "last_hash": last_hash}
    try:
        verdict = json.loads(files["verdict.json"].decode("utf-8"))
    except (KeyError, UnicodeDecodeError, ValueError) as e:
        problems.append(f"verdict.json cannot be read: {e}")
    else:
        if verdict.get("chain", {}).get("last_hash") != last_hash:
            problems.append("verdict.json names another last hash than entries.json ends with")
        if not verdict.get("ok"):
            differences = verdict.get("differences", [])
            problems.append(f"the service's verdict recorded in the pack is FAILED ({len(differences)} differences):")
            problems += [f"    {d}" for d in differences]
    return problems, notes, about


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    where = Path(args[0])
    try:
        problems, notes, about = verify(where)
    except (OSError, zipfile.BadZipFile) as e:
        print(f"cannot read the pack {where}: {e}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}")
    if problems:
        print(f"FAILED: {where}")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"OK: {where}: every file matches SHA256SUMS, the hash chain is intact, the evidence files match their ids.")
    print(f"Last hash: {about['last_hash']}")
    audit = f"GET /cycles/{about['year']}/cases/{about['unit']}/audit"
    print(f"Compare it with chain.last_hash of {audit}, asked of the service yourself.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
