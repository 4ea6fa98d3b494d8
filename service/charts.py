"""The dashboard's charts as SVG drawn on the server with pygal: no script in them (pygal's external scripts off and
its inline config script taken out), the palette of the pages' stylesheet, text at AA contrast. Every chart goes on
a page inside a <figure> whose caption names it and whose table carries the same numbers."""

from functools import lru_cache
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.graph.graph import Graph
from pygal.style import Style

# Dark enough against white for text and for bars next to each other (WCAG 1.4.11: 3:1 for graphics).
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#505a66",
    opacity="1",
    opacity_hover="1",
    # One colour per stage (14 of them): pygal would darken a short palette's repeats into black.
    colors=(
        "#0a4a8c",
        "#b42318",
        "#0e6b3a",
        "#5b2a86",
        "#8a4b00",
        "#006d77",
        "#505a66",
        "#9c1c6b",
        "#2f5f98",
        "#7a3b00",
        "#3d6b1f",
        "#6b2e5f",
        "#1f4e5a",
        "#a33b20",
        "#44546a",
        "#5a3d8a",
    ),
    value_colors=("#ffffff",) * 16,  # printed on the bars: white on every colour above
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
)
SVG = "{http://www.w3.org/2000/svg}"
DROPPED = {f"{SVG}script", f"{SVG}desc", "script", "desc"}
OPTIONS = dict(js=[], disable_xml_declaration=True, style=STYLE, width=760, height=360, margin=8)


def svg(chart: Graph, label_id: str) -> Markup:
    """The chart as inline SVG without any script, tooltip text or comment (they need pygal's script), named for
    assistive technology by the element `label_id`."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in [c for c in parent if c.tag in DROPPED or not isinstance(c.tag, str)]:
            parent.remove(child)
    tree.set("role", "img")
    tree.set("aria-labelledby", label_id)
    return Markup(ElementTree.tostring(tree, encoding="unicode"))


# Each chart is drawn once per set of numbers: the arguments are tuples, and a page showing the same numbers again
# (most requests: the numbers move slowly) gets the SVG from memory.
Labels = tuple[str, ...]
Series = tuple[tuple[str, tuple[float | None, ...]], ...]


@lru_cache(maxsize=256)
def horizontal_bars(labels: Labels, values: tuple[float, ...], series: str, label_id: str) -> Markup:
    options = {**OPTIONS, "height": max(160, 34 * len(labels))}
    chart = pygal.HorizontalBar(**options, show_legend=False, print_values=True)
    chart.x_labels = labels[::-1]  # pygal draws the first label at the bottom: the first reads at the top
    chart.add(series, values[::-1])
    return svg(chart, label_id)


@lru_cache(maxsize=256)
def stacked_bars(labels: Labels, series: Series, label_id: str) -> Markup:
    chart = pygal.StackedBar(**OPTIONS, legend_at_bottom=True, x_label_rotation=20)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return svg(chart, label_id)


@lru_cache(maxsize=256)
def grouped_bars(labels: Labels, series: Series, label_id: str) -> Markup:
    chart = pygal.Bar(**OPTIONS, legend_at_bottom=True, print_values=True, x_label_rotation=20)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return svg(chart, label_id)


@lru_cache(maxsize=256)
def line(labels: Labels, values: tuple[float | None, ...], series: str, label_id: str) -> Markup:
    chart = pygal.Line(**OPTIONS, show_legend=False, range=(0, 100), show_dots=False, x_labels_major_every=7)
    chart.x_labels = labels
    chart.show_minor_x_labels = False
    chart.add(series, values)
    return svg(chart, label_id)
