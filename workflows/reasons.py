"""Reasons as data: a message id and its parameters, never a sentence.

The lifecycle and the checks say *what* is wrong (`reason("saksi_kurang", unsur=["forkopimda"])`); the words are chosen
at the edge, in the reader's language (`service/i18n.py`). Workflow code therefore stays language-neutral and
deterministic: no locale, no catalogue here. A `Reason` crosses Temporal as plain JSON (`{"code", "params"}`).

Parameters are plain JSON values. By convention the renderer turns some of them into words:
- `stage`, `event`, `role`, `unsur`, `kind` (and their plurals `stages`, `events`, `roles`): identifiers, shown by their
  display names;
- a string in ISO 8601 with an offset (a moment) or a date: shown as a date in the reader's language, in the zone of
  the offset it carries (the lifecycle passes moments in the unit's zone);
- a list: its items joined.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict


class Reason(BaseModel):
    """One message: `code` is the catalogue's message id, `params` fill its placeholders (`{name}`)."""

    model_config = ConfigDict(frozen=True)

    code: str
    params: dict[str, Any] = {}


def reason(code: str, /, **params: Any) -> Reason:
    """A reason with its parameters; `pybabel extract` finds the message ids through this name."""
    return Reason(code=code, params=params)


# Pydantic's error types -> what to tell the person who filled in the field (`isian`: its path in the payload).
# A model's own checks raise `PydanticCustomError("isian.<id>", ...)`: their type is already a message id.
PAYLOAD_MESSAGES = {
    "missing": "isian.wajib",
    "extra_forbidden": "isian.tidak_dikenal",
    "string_too_short": "isian.terlalu_pendek",
    "too_short": "isian.terlalu_sedikit",
    "string_too_long": "isian.terlalu_panjang",
    "too_long": "isian.terlalu_banyak",
    "string_pattern_mismatch": "isian.format_salah",
    "greater_than_equal": "isian.terlalu_kecil",
    "greater_than": "isian.terlalu_kecil",
    "less_than_equal": "isian.terlalu_besar",
    "less_than": "isian.terlalu_besar",
    "literal_error": "isian.bukan_pilihan",
    "enum": "isian.bukan_pilihan",
    "datetime_parsing": "isian.waktu_salah",
    "datetime_from_date_parsing": "isian.waktu_salah",
    "datetime_type": "isian.waktu_salah",
    "timezone_aware": "isian.waktu_salah",
    "date_parsing": "isian.tanggal_salah",
    "date_from_datetime_parsing": "isian.tanggal_salah",
    "date_from_datetime_inexact": "isian.tanggal_salah",
    "date_type": "isian.tanggal_salah",
    "time_delta_parsing": "isian.durasi_salah",
    "time_delta_type": "isian.durasi_salah",
    "int_parsing": "isian.bukan_angka",
    "int_type": "isian.bukan_angka",
    "int_from_float": "isian.bukan_angka",
    "float_parsing": "isian.bukan_angka",
    "float_type": "isian.bukan_angka",
    "finite_number": "isian.bukan_angka",
    "bool_parsing": "isian.bukan_ya_tidak",
    "bool_type": "isian.bukan_ya_tidak",
    "string_type": "isian.bukan_teks",
    "list_type": "isian.bukan_daftar",
    "dict_type": "isian.bukan_objek",
    "model_type": "isian.bukan_objek",
    "model_attributes_type": "isian.bukan_objek",
    "json_invalid": "isian.json_salah",
}
PAYLOAD_INVALID = "isian.tidak_valid"  # any other type
# The limits pydantic reports in an error's context, under the names our messages use.
LIMITS = {"min_length": "batas", "max_length": "batas", "ge": "batas", "gt": "batas", "le": "batas", "lt": "batas"}


def payload_reasons(errors: Iterable[Mapping[str, Any]]) -> list[Reason]:
    """Pydantic's errors (`ValidationError.errors()`) as reasons: which field, and what is wrong with it."""
    reasons = []
    for err in errors:
        field = ".".join(str(p) for p in err["loc"]) or "body"
        kind = str(err["type"])
        ctx = err.get("ctx") or {}
        if kind.startswith("isian."):
            params = {k: v for k, v in ctx.items() if isinstance(v, str | int | float | list)}
            reasons.append(reason(kind, isian=field, **params))
            continue
        limits = {LIMITS[k]: v for k, v in ctx.items() if k in LIMITS and isinstance(v, int | float)}
        reasons.append(reason(PAYLOAD_MESSAGES.get(kind, PAYLOAD_INVALID), isian=field, **limits))
    return reasons


def received(items: Iterable[Any]) -> list[Reason | str]:
    """Reasons as they arrive from Temporal (a refusal's details) or a stored row: `{"code", "params"}` objects, or
    the plain sentences written before reasons were data, kept as they are."""
    return [item if isinstance(item, Reason | str) else Reason.model_validate(item) for item in items]
