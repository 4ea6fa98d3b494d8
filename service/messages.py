"""Every message id the service can produce: the one list `make messages` writes and the catalogue test checks.

Two sources. Ids written in the code and templates (`reason("id")`, `gettext(locale, "id")`, `_("id")` in templates),
found by Babel's extraction over `babel.cfg`; and ids derived from data: the display names of every stage, event,
role, witness kind, unit kind and criterion (`stage.pencanangan_terjadwal`), the payload messages that pydantic's
error types map to, and the labels of the generated event forms. Usage: `python -m service.messages OUT.pot`.
"""

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import write_po

from models.contracts import ROLES, Saksi, UnitInfo
from models.criteria import criterion_codes
from models.policy import Regulation
from workflows import lifecycle
from workflows.reasons import PAYLOAD_INVALID, PAYLOAD_MESSAGES

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"reason": (1,), "gettext": (2,), "ngettext": (2, 3), "_": (1,), "PydanticCustomError": (1,)}


def extracted() -> Iterator[str | tuple[str, str]]:
    """The ids written in the code and templates (a plural message: its singular and plural ids)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS):
        yield message


def derived() -> Iterator[str]:
    """The display names of the lifecycle's and the registry's identifiers, and the payload messages."""
    yield from (f"stage.{s.id}" for s in lifecycle.Lifecycle.states)
    yield from (f"event.{e}" for e in ("ajukan", *lifecycle.EVENTS))
    yield from (f"role.{r}" for r in (*ROLES, "system"))
    yield from (f"unsur.{u}" for u in get_args(Saksi.model_fields["unsur"].annotation))
    yield from (f"kind.{k}" for k in get_args(UnitInfo.model_fields["kind"].annotation))
    yield from (f"criterion.{c}" for reg in get_args(Regulation) for c in criterion_codes(reg))
    yield from (*PAYLOAD_MESSAGES.values(), PAYLOAD_INVALID)
    # the labels of the event forms the pages generate from the payload models (service/pages/forms.py)
    yield from {f"web.field_{name}" for rule in lifecycle.RULES.values() for name in rule.payload.model_fields}
    yield from (f"web.field_saksi_{name}" for name in Saksi.model_fields)


def message_ids() -> set[str]:
    """Every id a catalogue must translate (a plural message by its singular id)."""
    ids = {m if isinstance(m, str) else m[0] for m in extracted()}
    return ids | set(derived())


def template() -> Catalog:
    catalog = Catalog(project="p2ham", fuzzy=False)
    for message in sorted(set(extracted()) | set(derived()), key=lambda m: m if isinstance(m, str) else m[0]):
        catalog.add(message)
    return catalog


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as out:
        write_po(out, template(), omit_header=True, sort_output=True)
