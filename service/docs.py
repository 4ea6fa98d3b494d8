"""The lifecycle for people: display names beside the identifiers, for `GET /lifecycle` and the README.

`workflows/lifecycle.py` knows the identifiers and never a language; the names come from the catalogues here.
`python -m service.docs` rewrites the README's generated blocks (tests/test_docs.py keeps them equal to the code).
"""

import re
from pathlib import Path

from service.i18n import LOCALES, display
from workflows import lifecycle

README = Path(__file__).resolve().parent.parent / "README.md"
README_LOCALE = "id"  # the names officials read


def display_names() -> dict[str, dict[str, dict[str, str]]]:
    """Per language, the display name of every stage, event and role the lifecycle names."""
    described = lifecycle.describe()
    events = [e["event"] for e in described["events"]]
    roles = sorted({r for e in described["events"] for r in e["roles"]})
    return {
        locale: {
            "states": {s: display(locale, "stage", s) for s in described["states"]},
            "events": {e: display(locale, "event", e) for e in events},
            "roles": {r: display(locale, "role", r) for r in roles},
        }
        for locale in LOCALES
    }


def role_table(locale: str = README_LOCALE) -> str:
    """Who sends which event from which stage, as a Markdown table: each identifier with its display name."""

    def named(kind: str, identifier: str) -> str:
        return f"`{identifier}` {display(locale, kind, identifier)}"

    rows = ["| event | from | to | who |", "| --- | --- | --- | --- |"]
    open_stages = {s.id for s in lifecycle.Lifecycle.states} - lifecycle.FINAL_STAGES
    for e in lifecycle.describe()["events"]:
        who = "the calendar (timer)" if e["automatic"] else ", ".join(named("role", r) for r in e["roles"])
        if set(e["from"]) == open_stages:
            source = "any open stage"
        else:
            source = ", ".join(named("stage", s) for s in e["from"]) or "(start)"
        target = ", ".join(named("stage", s) for s in e["to"])
        rows.append(f"| {named('event', e['event'])} | {source} | {target} | {who} |")
    return "\n".join(rows)


def blocks() -> dict[str, str]:
    """The README's generated blocks, by name."""
    return {"mermaid": f"```mermaid\n{lifecycle.mermaid()}\n```", "roles": role_table()}


def with_blocks(text: str) -> str:
    for name, body in blocks().items():
        text = re.sub(
            rf"(<!-- lifecycle:{name} -->\n).*?(\n<!-- /lifecycle:{name} -->)",
            lambda m, body=body: m.group(1) + body + m.group(2),
            text,
            flags=re.S,
        )
    return text


if __name__ == "__main__":
    README.write_text(with_blocks(README.read_text()))
