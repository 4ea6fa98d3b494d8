"""The unit registry imported from a CSV file: every line checked as `POST /units` checks one unit (UnitInfo), a
preview of what would be added or changed, the errors per line; then all of it saved in one transaction, or nothing.

Columns (header line required): code, name, kind, region, and optionally parent, zona_waktu, email.
"""

import csv
import io
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.contracts import UnitInfo
from models.tables import UnitRow
from workflows.reasons import Reason, payload_reasons, reason

REQUIRED = ("code", "name", "kind", "region")
COLUMNS = (*REQUIRED, "parent", "zona_waktu", "email")
MAX_LINES = 50_000


@dataclass
class Change:
    unit: UnitInfo
    fields: dict[str, tuple[str | None, str | None]]  # field -> (registered, in the file)


@dataclass
class Preview:
    added: list[UnitInfo] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: int = 0
    errors: list[tuple[int, list[Reason]]] = field(default_factory=list)  # (line number, what is wrong)

    @property
    def units(self) -> list[UnitInfo]:
        return [*self.added, *(c.unit for c in self.changed)]


def read(text: str) -> tuple[list[tuple[int, UnitInfo]], list[tuple[int, list[Reason]]]]:
    """The file's units by line number, and the lines that are not a valid unit (with why)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [(1, [reason("impor_unit.kolom_kurang", kolom=missing)])]
    reader.fieldnames = header
    units: list[tuple[int, UnitInfo]] = []
    errors: list[tuple[int, list[Reason]]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if line > MAX_LINES:
            errors.append((line, [reason("impor_unit.terlalu_banyak", batas=MAX_LINES)]))
            break
        values = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
        try:
            unit = UnitInfo.model_validate({k: v for k, v in values.items() if v})
        except ValidationError as e:
            errors.append((line, payload_reasons(e.errors())))
            continue
        if unit.code in seen:
            errors.append((line, [reason("impor_unit.kode_ganda", unit=unit.code, baris=seen[unit.code])]))
            continue
        seen[unit.code] = line
        units.append((line, unit))
    return units, errors


def preview(session: Session, text: str) -> Preview:
    units, errors = read(text)
    result = Preview(errors=errors)
    codes = [u.code for _, u in units]
    registered = {r.code: r for r in session.exec(select(UnitRow).where(col(UnitRow.code).in_(codes)))}
    for _, unit in units:
        row = registered.get(unit.code)
        if row is None:
            result.added.append(unit)
            continue
        before = UnitInfo.model_validate(row, from_attributes=True).model_dump()
        after = unit.model_dump()
        diff = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
        if diff:
            result.changed.append(Change(unit, diff))
        else:
            result.unchanged += 1
    return result


def save(session: Session, units: list[UnitInfo]) -> None:
    """Every unit added or corrected in one transaction: all of them or, on any failure, none."""
    try:
        for unit in units:
            session.merge(UnitRow(**unit.model_dump()))
        session.commit()
    except Exception:
        session.rollback()
        raise
