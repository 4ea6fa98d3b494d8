"""Words at the edge: gettext catalogues (Babel) render message ids and reasons in the reader's language.

Bahasa Indonesia (`id`) is the default, English (`en`) the option. Message ids are symbolic (`saksi_kurang`,
`stage.pencanangan_terjadwal`): every id has an `id` and an `en` translation in `service/locales/<locale>/LC_MESSAGES/
messages.po`, placeholders are `{name}`. The catalogues are compiled in memory when first used, so a fresh checkout
needs no compile step (`make translations` compiles them to .mo files as a check; `make messages` extracts the ids
from the code and templates and updates both catalogues).
"""

import io
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Depends, Request

from models.contracts import UTC_OFFSET_HOURS, CaseView
from workflows.reasons import Reason

LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"
CATALOGUES = Path(__file__).with_name("locales")
DOMAIN = "messages"

# Parameters that name an identifier of the lifecycle or the registry: shown by their display names.
DISPLAYED = {
    "stage": "stage",
    "stages": "stage",
    "event": "event",
    "events": "event",
    "role": "role",
    "roles": "role",
    "unsur": "unsur",
    "kind": "kind",
    "kriteria": "criterion",
    # the audit's differences name two stages or events side by side (what the log says, what Temporal says)
    "stage_log": "stage",
    "stage_temporal": "stage",
    "event_temporal": "event",
    "dari": "stage",
    "ke": "stage",
    "dari_log": "stage",
    "ke_log": "stage",
}
# Lists of these are alternatives ("Ditjen HAM atau Kanwil"); other lists are joined with "dan" / "and".
ALTERNATIVES = {"stages", "events", "roles"}
ZONE_NAMES = {timedelta(hours=h): name for name, h in UTC_OFFSET_HOURS.items()}
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z))?$")


def catalogue_path(locale: str) -> Path:
    return CATALOGUES / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> Translations:
    """The locale's catalogue, compiled in memory from its .po file."""
    with catalogue_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def supported(locale: str | None) -> str:
    """A locale we have, from a tag such as `en-US` or `id`; the default for anything else."""
    primary = (locale or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LOCALES else DEFAULT_LOCALE


def negotiate(accept_language: str | None, lang: str | None = None) -> str:
    """`?lang=` first, then the best `Accept-Language` entry we have, then Bahasa Indonesia."""
    if lang and supported(lang) == lang.strip().lower().split("-")[0]:
        return supported(lang)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LOCALES and weight > 0:
            ranked.append((-weight, i, primary))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


def request_locale(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))


LocaleDep = Annotated[str, Depends(request_locale)]


def gettext(locale: str, msgid: str, /, **params: Any) -> str:
    """The message in `locale`, its `{placeholders}` filled with the parameters rendered for a reader."""
    text = translations(supported(locale)).gettext(msgid)
    return text.format_map({k: param(locale, k, v) for k, v in params.items()}) if params else text


def ngettext(locale: str, msgid: str, msgid_plural: str, n: int, /, **params: Any) -> str:
    """A message whose form depends on a count `n` (passed to the placeholders as `n` too)."""
    text = translations(supported(locale)).ngettext(msgid, msgid_plural, n)
    values = {k: param(locale, k, v) for k, v in {**params, "n": n}.items()}
    return text.format_map(values)


def render(r: Reason | Mapping[str, Any] | str, locale: str) -> str:
    """A reason in words. A plain string is a sentence stored before reasons were data: shown as it was written."""
    if isinstance(r, str):
        return r
    if not isinstance(r, Reason):
        r = Reason.model_validate(r)
    return gettext(locale, r.code, **r.params)


def in_words(view: CaseView, locale: str) -> CaseView:
    """The case view with its refusals in the reader's words beside the codes (`refused` and `refused_codes`)."""
    words = {event: [render(r, locale) for r in why] for event, why in view.refused_codes.items()}
    return view.model_copy(update={"refused": words})


def display(locale: str, kind: str, identifier: str) -> str:
    """The display name of a stage, event, role, witness kind or unit kind (`stage.pencanangan_terjadwal`)."""
    msgid = f"{kind}.{identifier}"
    text = translations(supported(locale)).gettext(msgid)
    return identifier if text == msgid else text


def person(locale: str, name: str, role: str) -> str:
    """Who did something, as a history shows it: the name and the role's display name, "Budi (Operator Unit)"."""
    return f"{name} ({display(locale, 'role', role)})"


def join(locale: str, items: Iterable[str], style: str = "standard") -> str:
    """Items as a list a person reads ("a, b, dan c"); `style="or"` for alternatives."""
    return format_list(list(items), style=style, locale=supported(locale))


def param(locale: str, name: str, value: Any) -> str:
    """One parameter as a reader sees it: identifiers by their display names, moments as dates, lists joined,
    reasons in words."""
    kind = DISPLAYED.get(name)
    if isinstance(value, Reason) or (isinstance(value, Mapping) and "code" in value):
        return render(value, locale)  # a reason inside a reason: "Unit A, B: <the reason>"
    if isinstance(value, list | tuple):
        style = "or" if name in ALTERNATIVES else "standard"
        return join(locale, [param(locale, name, v) for v in value], style)
    if kind is not None and isinstance(value, str):
        return display(locale, kind, value)
    if isinstance(value, datetime | date):
        return moment(locale, value)
    if isinstance(value, str) and ISO_MOMENT.match(value):
        try:
            parsed = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
        return moment(locale, parsed)
    return str(value)


def moment(locale: str, value: datetime | date) -> str:
    """A date as "10 Desember 2026"; a moment also with its time and zone ("10 Desember 2026 09.00 WIB")."""
    locale = supported(locale)
    if not isinstance(value, datetime):
        return format_date(value, format="long", locale=locale)
    return f"{format_date(value.date(), format='long', locale=locale)} {clock(locale, value)}"


def clock(locale: str, value: datetime, seconds: bool = False) -> str:
    """A moment's time of day and zone, "09.00 WITA"; with its seconds, "10.15.30 WIB"."""
    offset = value.utcoffset()
    zone = ZONE_NAMES.get(offset, value.strftime("UTC%z")) if offset is not None else ""
    shown = format_time(value.time(), format="medium" if seconds else "short", locale=supported(locale))
    return f"{shown} {zone}".strip()
