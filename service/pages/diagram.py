"""The lifecycle diagram as SVG, drawn from the machine in `workflows/lifecycle.py` with a small deterministic layout.

The main path (the longest route through the open stages) runs down the first column; every other stage sits one row
below the first stage that leads to it, in the next free column. An event sent from every open stage (`batalkan`) is
drawn once, as a note on its target. `make diagram` writes `static/siklus.<locale>.svg`; a test keeps them current.
A case page inlines `svg(locale, current=stage)`: the current stage's group carries the class `kini`.
"""

import sys
from collections.abc import Container
from functools import cache
from html import escape
from pathlib import Path

from service.i18n import LOCALES, display, gettext
from workflows.lifecycle import EVENTS, FINAL_STAGES, RULES, Lifecycle, sources, targets

STATIC = Path(__file__).with_name("static")
BOX_W, BOX_H, COL_GAP, ROW_GAP, LEFT, TOP = 190, 40, 130, 40, 230, 20
STATES = [s.id for s in Lifecycle.states]
OPEN = set(STATES) - FINAL_STAGES
EVERYWHERE = {e for e in EVENTS if set(sources(e)) == OPEN}  # batalkan: from any open stage

Edge = tuple[str, str, str]  # source, event, target


def edges() -> list[Edge]:
    found = []
    for state in Lifecycle.states:
        for t in state.transitions:
            for event in map(str, t.events):
                if event not in EVERYWHERE:
                    found.append((t.source.id, event, t.target.id))
    return found


def everywhere_targets() -> list[str]:
    return sorted(
        {t.target.id for s in Lifecycle.states for t in s.transitions if EVERYWHERE & set(map(str, t.events))}
    )


def main_path() -> list[str]:
    """The longest simple path from the initial stage, ties to the stage declared first: the stages a case that
    goes well passes through, for the step indicator."""
    following: dict[str, list[str]] = {s: [] for s in STATES}
    for source, _, target in edges():
        if target != source and target not in following[source]:
            following[source].append(target)

    def longest(path: list[str]) -> list[str]:
        best = path
        for nxt in sorted(following[path[-1]], key=STATES.index):
            if nxt not in path:
                candidate = longest([*path, nxt])
                if len(candidate) > len(best):
                    best = candidate
        return best

    return longest([Lifecycle.initial_state.id])


def steps(current: str) -> list[str]:
    """The main path, with the current stage put after the stage it came from when it is off the path."""
    path = main_path()
    if current in path:
        return path
    before = [s for s, _, t in edges() if t == current and s in path]
    at = path.index(before[0]) + 1 if before else len(path)
    return [*path[:at], current, *path[at:]]


def layout() -> dict[str, tuple[int, int]]:
    """(column, row) of every stage."""
    place = {stage: (0, row) for row, stage in enumerate(main_path())}
    used: dict[int, int] = {}
    aside = everywhere_targets()
    pending = [s for s in STATES if s not in place and s not in aside]
    while pending:
        for stage in list(pending):
            before = [place[s] for s, _, t in edges() if t == stage and s in place]
            if before:
                row = before[0][1] + 1
                place[stage] = (used.get(row, 1), row)
                used[row] = used.get(row, 1) + 1
                pending.remove(stage)
                break
        else:
            raise ValueError(f"stages no transition reaches: {pending}")
    right = max(col for col, _ in place.values()) + 1
    for row, stage in enumerate(aside):
        place[stage] = (right, row)
    return place


def box(place: tuple[int, int]) -> tuple[float, float]:
    col, row = place
    return LEFT + col * (BOX_W + COL_GAP), TOP + row * (BOX_H + ROW_GAP)


def label(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text class="peristiwa" x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}">{escape(text)}</text>'


# The drawing's look: stage boxes (the current one filled, final ones dashed), event names on a white halo so that
# they stay readable over lines, the calendar's own events dashed.
STYLE = (
    "<style>.siklus{font-family:system-ui,sans-serif}.siklus .tahap rect{fill:#fff;stroke:#1d2733;stroke-width:1.5}"
    ".siklus .akhir rect{fill:#f2f4f7;stroke-dasharray:4 2}.siklus .tahap text{font-size:13px;fill:#1d2733}"
    ".siklus .kini rect{fill:#0a4a8c;stroke:#06305c;stroke-width:3}.siklus .kini text{fill:#fff;font-weight:700}"
    ".siklus .peristiwa{font-size:11px;fill:#505a66;paint-order:stroke;stroke:#fff;stroke-width:3px}"
    ".siklus path,.siklus line{stroke:#505a66;stroke-width:1.3;fill:none}.siklus .otomatis{stroke-dasharray:5 3}"
    "</style>"
)
ARROWHEAD = (
    '<defs><marker id="panah" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
    'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" style="fill:#505a66;stroke:none"/></marker></defs>'
)
Point = tuple[float, float]


def size(place: dict[str, tuple[int, int]]) -> Point:
    """Width and height: the boxes, room on the right for the labels of the last column, and the legend below."""
    width = max(box(p)[0] for p in place.values()) + BOX_W + 80
    height = max(box(p)[1] for p in place.values()) + BOX_H + 60
    return width, height


def opening(locale: str, width: float, height: float) -> list[str]:
    """The <svg> element, named by its title for assistive technology, with its style and arrowhead."""
    title = gettext(locale, "web.lifecycle_diagram")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="siklus" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="siklus-judul">',
        f'<title id="siklus-judul">{escape(title)}</title>',
        STYLE,
        ARROWHEAD,
    ]


def arrows(locale: str, place: dict[str, tuple[int, int]]) -> list[str]:
    """One arrow for each pair of stages an event leads between, named by all of its events."""
    events: dict[tuple[str, str], list[str]] = {}
    for source, event, target in edges():
        events.setdefault((source, target), []).append(event)
    out: list[str] = []
    for (source, target), names in events.items():
        text = " / ".join(dict.fromkeys(display(locale, "event", e) for e in names))
        timer = all(RULES[e].roles == ("system",) for e in names)
        dashed = ' class="otomatis"' if timer else ""  # sent by the calendar: dashed, as the legend says
        start, end = box(place[source]), box(place[target])
        if source == target:
            out += loop(start, text, dashed)
        elif start[1] == end[1] and abs(end[0] - start[0]) > BOX_W + COL_GAP:
            out += below_row(start, end, text, dashed)
        else:
            out += line(start, end, text, dashed, aside(source, target, events))
    return out


def aside(source: str, target: str, pairs: Container[tuple[str, str]]) -> int:
    """How far the arrow moves aside: with arrows both ways between one pair of stages, they run side by side."""
    if (target, source) not in pairs:
        return 0
    return 6 if (source, target) < (target, source) else -6


def loop(at: Point, text: str, dashed: str) -> list[str]:
    """An event that stays in its stage: a loop on the left side of the box."""
    x, y = at
    return [
        f'<path d="M{x:.0f} {y + 10:.0f}C{x - 30:.0f} {y + 5:.0f} {x - 30:.0f} {y + BOX_H - 5:.0f} '
        f'{x:.0f} {y + BOX_H - 10:.0f}"{dashed} marker-end="url(#panah)"/>',
        label(x - 34, y + BOX_H / 2 + 4, text, "end"),
    ]


def below_row(start: Point, end: Point, text: str, dashed: str) -> list[str]:
    """An arrow across its row, past boxes in between: down, along below the boxes, and up into the target."""
    (x1, y1), (x2, y2) = start, end
    ax, bx, low = x1 + BOX_W - 12, x2 + BOX_W / 2, y1 + BOX_H + 8
    return [
        f'<path d="M{ax:.0f} {y1 + BOX_H:.0f}V{low:.0f}H{bx:.0f}V{y2 + BOX_H:.0f}"{dashed} marker-end="url(#panah)"/>',
        label((ax + bx) / 2, low + 14, text, "middle"),
    ]


def line(start: Point, end: Point, text: str, dashed: str, shift: int) -> list[str]:
    """A straight arrow: down (or up) a column, else from the side facing the target to the side facing the source;
    moved `shift` aside."""
    (x1, y1), (x2, y2) = start, end
    if x1 == x2:
        down = y2 > y1
        ax, ay = x1 + BOX_W / 2, y1 + (BOX_H if down else 0)
        bx, by = ax, y2 + (0 if down else BOX_H)
    else:
        right = x2 > x1
        ax, ay = x1 + (BOX_W if right else 0), y1 + BOX_H / 2
        bx, by = x2 + (0 if right else BOX_W), y2 + BOX_H / 2
    ay, by = ay + shift, by + shift
    drawn = f'<line x1="{ax:.0f}" y1="{ay:.0f}" x2="{bx:.0f}" y2="{by:.0f}"{dashed} marker-end="url(#panah)"/>'
    if ay == by:  # along the row: the words above the line
        return [drawn, label((ax + bx) / 2, ay - 6, text, "middle")]
    # Nearer the target than the source, so that labels of edges leaving one stage do not meet.
    mx, my = ax + (bx - ax) * 0.6, ay + (by - ay) * 0.6
    return [drawn, label(mx + 6, my + 4 + (8 if shift and ay > y1 + BOX_H / 2 else 0), text)]


def stage_box(locale: str, stage: str, at: Point, current: str | None) -> list[str]:
    """The stage's box and name; `#tahap-STAGE` for the page's links, classes for final and current stages."""
    x, y = at
    classes = "tahap" + (" akhir" if stage in FINAL_STAGES else "") + (" kini" if stage == current else "")
    return [
        f'<g id="tahap-{stage}" class="{classes}">',
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6"/>',
        f'<text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 5:.0f}" text-anchor="middle">'
        f"{escape(display(locale, 'stage', stage))}</text>",
        "</g>",
    ]


def everywhere_notes(locale: str, place: dict[str, tuple[int, int]]) -> list[str]:
    """Under each target of an event sent from every open stage, that note instead of an arrow from each stage."""
    out = []
    for target in everywhere_targets():
        events = sorted(e for e in EVERYWHERE if target in targets(e))
        x, y = box(place[target])
        note = gettext(locale, "web.lifecycle_from_every_open_stage", events=events)
        out.append(label(x + BOX_W / 2, y + BOX_H + 16, note, "middle"))
    return out


@cache
def svg(locale: str, current: str | None = None) -> str:
    """The diagram in `locale`: arrows first, so that the boxes are drawn over their ends; the legend last."""
    place = layout()
    width, height = size(place)
    out = [
        *opening(locale, width, height),
        *arrows(locale, place),
        *(part for stage in STATES for part in stage_box(locale, stage, box(place[stage]), current)),
        *everywhere_notes(locale, place),
        label(LEFT, height - 12, gettext(locale, "web.lifecycle_dashed_is_timer")),
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def path_of(locale: str) -> Path:
    return STATIC / f"siklus.{locale}.svg"


def main() -> None:
    """`make diagram`: write the diagram in every language."""
    for locale in LOCALES:
        path_of(locale).write_text(svg(locale))
        print(f"wrote {path_of(locale)}", file=sys.stderr)


if __name__ == "__main__":
    main()
