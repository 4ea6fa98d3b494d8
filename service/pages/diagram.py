"""The lifecycle diagram as SVG, drawn from the machine in `workflows/lifecycle.py` with a small deterministic layout.

The main path (the longest route through the open stages) runs down the first column; every other stage sits one row
below the first stage that leads to it, in the next free column. An event sent from every open stage (`batalkan`) is
drawn once, as a note on its target. `make diagram` writes `static/siklus.<locale>.svg`; a test keeps them current.
A case page inlines `svg(locale, current=stage)`: the current stage's group carries the class `kini`.
"""

import sys
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


@cache
def svg(locale: str, current: str | None = None) -> str:
    place = layout()
    width = max(box(p)[0] for p in place.values()) + BOX_W + 80
    height = max(box(p)[1] for p in place.values()) + BOX_H + 60
    title = gettext(locale, "web.lifecycle_diagram")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="siklus" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="siklus-judul">',
        f'<title id="siklus-judul">{escape(title)}</title>',
        "<style>.siklus{font-family:system-ui,sans-serif}.siklus .tahap rect{fill:#fff;stroke:#1d2733;stroke-width:1.5}"
        ".siklus .akhir rect{fill:#f2f4f7;stroke-dasharray:4 2}.siklus .tahap text{font-size:13px;fill:#1d2733}"
        ".siklus .kini rect{fill:#0a4a8c;stroke:#06305c;stroke-width:3}.siklus .kini text{fill:#fff;font-weight:700}"
        ".siklus .peristiwa{font-size:11px;fill:#505a66;paint-order:stroke;stroke:#fff;stroke-width:3px}"
        ".siklus path,.siklus line{stroke:#505a66;stroke-width:1.3;fill:none}.siklus .otomatis{stroke-dasharray:5 3}"
        "</style>",
        '<defs><marker id="panah" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" style="fill:#505a66;stroke:none"/></marker></defs>',
    ]
    pairs = {(s, t) for s, _, t in edges()}
    drawn: dict[tuple[str, str], list[str]] = {}
    for source, event, target in edges():
        drawn.setdefault((source, target), []).append(display(locale, "event", event))
    for (source, target), names in drawn.items():
        text = " / ".join(dict.fromkeys(names))
        timer = all(RULES[e].roles == ("system",) for s, e, t in edges() if (s, t) == (source, target))
        dashed = ' class="otomatis"' if timer else ""  # sent by the calendar: dashed, as the legend says
        x1, y1 = box(place[source])
        x2, y2 = box(place[target])
        if source == target:  # a loop on the left side of the stage
            out.append(
                f'<path d="M{x1:.0f} {y1 + 10:.0f}C{x1 - 30:.0f} {y1 + 5:.0f} {x1 - 30:.0f} {y1 + BOX_H - 5:.0f} '
                f'{x1:.0f} {y1 + BOX_H - 10:.0f}"{dashed} marker-end="url(#panah)"/>'
            )
            out.append(label(x1 - 34, y1 + BOX_H / 2 + 4, text, "end"))
            continue
        if y1 == y2 and abs(x2 - x1) > BOX_W + COL_GAP:  # across the row: below the boxes in between
            ax, bx, low = x1 + BOX_W - 12, x2 + BOX_W / 2, y1 + BOX_H + 8
            out.append(
                f'<path d="M{ax:.0f} {y1 + BOX_H:.0f}V{low:.0f}H{bx:.0f}V{y2 + BOX_H:.0f}"{dashed} '
                'marker-end="url(#panah)"/>'
            )
            out.append(label((ax + bx) / 2, low + 14, text, "middle"))
            continue
        if x1 == x2:  # straight down (or up) the column
            down = y2 > y1
            ax, ay = x1 + BOX_W / 2, y1 + (BOX_H if down else 0)
            bx, by = ax, y2 + (0 if down else BOX_H)
        else:  # from the side facing the target to the side facing the source
            right = x2 > x1
            ax, ay = x1 + (BOX_W if right else 0), y1 + BOX_H / 2
            bx, by = x2 + (0 if right else BOX_W), y2 + BOX_H / 2
        shift = 6 if (target, source) in pairs else 0  # two directions between one pair: side by side
        if shift:
            sign = 1 if (source, target) < (target, source) else -1
            ay, by = ay + sign * shift, by + sign * shift
        out.append(f'<line x1="{ax:.0f}" y1="{ay:.0f}" x2="{bx:.0f}" y2="{by:.0f}"{dashed} marker-end="url(#panah)"/>')
        if ay == by:  # along the row: the words above the line
            out.append(label((ax + bx) / 2, ay - 6, text, "middle"))
            continue
        # Nearer the target than the source, so that labels of edges leaving one stage do not meet.
        mx, my = ax + (bx - ax) * 0.6, ay + (by - ay) * 0.6
        out.append(label(mx + 6, my + 4 + (8 if shift and ay > y1 + BOX_H / 2 else 0), text))
    for stage in STATES:
        x, y = box(place[stage])
        classes = "tahap" + (" akhir" if stage in FINAL_STAGES else "") + (" kini" if stage == current else "")
        out.append(f'<g id="tahap-{stage}" class="{classes}">')
        out.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6"/>')
        out.append(
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 5:.0f}" text-anchor="middle">'
            f"{escape(display(locale, 'stage', stage))}</text>"
        )
        out.append("</g>")
    for target in everywhere_targets():
        events = sorted(e for e in EVERYWHERE if target in targets(e))
        x, y = box(place[target])
        note = gettext(locale, "web.lifecycle_from_every_open_stage", events=events)
        out.append(label(x + BOX_W / 2, y + BOX_H + 16, note, "middle"))
    out.append(label(LEFT, height - 12, gettext(locale, "web.lifecycle_dashed_is_timer")))
    out.append("</svg>")
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
