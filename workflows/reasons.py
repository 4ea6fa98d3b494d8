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
