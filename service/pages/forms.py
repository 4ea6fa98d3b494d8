"""The form of an event, generated from its payload model (`workflows/lifecycle.py` RULES -> `models/contracts.py`),
and the form's answers turned back into that payload. The lifecycle checks the payload; nothing is checked here."""

import typing
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fastapi import Request
from pydantic import AwareDatetime
from starlette.datastructures import FormData, UploadFile

from models.contracts import CaseData, JawabanIndikator, Payload, Saksi
from service.i18n import display
from service.pages.render import Errors
from workflows import lifecycle

SAKSI_ROWS = 3  # witness rows offered on a form; empty rows are left out
UNSUR = typing.get_args(Saksi.model_fields["unsur"].annotation)
TEXT_MAX = 200  # longer texts get a text area


@dataclass
class Field:
    name: str
    kind: str  # text, textarea, moment, date, file, saksi, per_criterion, per_indicator, report
    required: bool
    keys: list[str] = field(default_factory=list)  # per_criterion / per_indicator: the codes asked for


def max_length(info: Any) -> int | None:
    return next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), None)


def kind_of(model: type[Payload], name: str) -> str:
    info = model.model_fields[name]
    annotation = info.annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is AwareDatetime or annotation is datetime:
        return "moment"
    if annotation is date:
        return "date"
    if origin is list and args == (Saksi,):
        return "saksi"
    if origin is list and args == (JawabanIndikator,):
        return "report"
    if origin is list:
        return "lines"  # names, one per line (a team's members)
    if origin is dict:
        value = typing.get_args(args[1])[0] if typing.get_args(args[1]) else args[1]
        return "per_criterion" if value is float else "per_indicator"
    if model.evidence_ids is not Payload.evidence_ids and annotation is str:
        return "file"  # a file the payload names by its id: uploaded with the form
    length = max_length(info)
    return "textarea" if length is None or length > TEXT_MAX else "text"


def fields(event: str, case: CaseData) -> list[Field]:
    """The event's fields, in the payload model's order, with the codes the case's catalogue asks for."""
    model = lifecycle.RULES[event].payload
    criteria = case.policy.criteria_for(case.unit.kind)
    out = []
    for name, info in model.model_fields.items():
        kind = kind_of(model, name)
        keys = {
            "per_criterion": list(case.policy.weights),
            "per_indicator": [i.code for c in criteria for i in c.indicators],
        }.get(kind, [])
        out.append(Field(name, kind, info.is_required(), keys))
    return out


def has_file(event_fields: list[Field]) -> bool:
    return any(f.kind == "file" for f in event_fields)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def moment_value(raw: str, case: CaseData) -> str:
    """ "2026-08-17 09:00" in the unit's own zone (WIB, WITA, WIT) as an ISO moment; anything else as typed, for the
    payload model to name what is wrong."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=case.unit.tz)).isoformat()


def saksi_rows(form: FormData, name: str) -> list[dict[str, str]]:
    rows = []
    for n in range(SAKSI_ROWS):
        row = {part: text(form, f"{name}-{n}-{part}") for part in ("nama", "jabatan", "unsur", "email")}
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v or k != "email"})
    return rows


def payload(event_fields: list[Field], form: FormData, case: CaseData, uploaded: dict[str, str]) -> dict[str, Any]:
    """The form's answers as the event's payload. `uploaded`: the file fields' stored ids."""
    out: dict[str, Any] = {}
    for f in event_fields:
        raw = text(form, f.name)
        if f.kind == "saksi":
            out[f.name] = saksi_rows(form, f.name)
        elif f.kind in ("per_criterion", "per_indicator"):
            answers = {key: text(form, f"{f.name}-{key}") for key in f.keys}
            out[f.name] = {k: v for k, v in answers.items() if v}
        elif f.kind == "lines":
            out[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "file":
            if f.name in uploaded:
                out[f.name] = uploaded[f.name]
        elif f.kind == "moment":
            if raw or f.required:
                out[f.name] = moment_value(raw, case)
        elif raw or f.required:
            out[f.name] = raw
    return out


def files(event_fields: list[Field], form: FormData) -> dict[str, UploadFile]:
    """The file fields that carry a chosen file."""
    chosen = {f.name: form.get(f.name) for f in event_fields if f.kind == "file"}
    return {name: f for name, f in chosen.items() if isinstance(f, UploadFile) and f.filename}


def choices(locale: str) -> dict[str, Any]:
    """What peristiwa.html's fields need besides the case: the witness rows offered and the unsur to choose from."""
    return {"unsur_options": [(u, display(locale, "unsur", u)) for u in UNSUR], "saksi_rows": range(SAKSI_ROWS)}


def sent(request: Request, known: Container[str]) -> str | None:
    """The event the redirect after a form says was sent (`?berhasil=EVENT`), for the page's banner: a known one only,
    since it is read from the URL."""
    done = request.query_params.get("berhasil")
    return done if done is not None and done in known else None


@dataclass(frozen=True)
class Refused:
    """An event's form that the service refused, for its page to show again: the status to answer with, the event,
    the reasons by field in words, and what was typed. `NOTHING_REFUSED`: the page as it is."""

    status: int
    event: str | None
    errors: Errors
    values: dict[str, str]

    def context(self) -> dict[str, Any]:
        """The templates' names: the refused event's form keeps `values` (`failed` says which form)."""
        return {"failed": self.event, "errors": self.errors, "values": self.values}


NOTHING_REFUSED = Refused(200, None, [], {})


def kept(form: FormData) -> dict[str, str]:
    """What was typed, to show it again beside the reasons."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
