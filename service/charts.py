"""The dashboard's charts as SVG drawn on the server with pygal: no script in them (pygal's external scripts off and
its inline config script taken out), the palette of the pages' stylesheet, text at AA contrast. Every chart goes on
a page inside a <figure> whose caption names it and whose table carries the same numbers."""

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
    colors=("#0a4a8c", "#b42318", "#0e6b3a", "#5b2a86", "#8a4b00", "#006d77", "#505a66", "#9c1c6b"),
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
)
OPTIONS = dict(js=[], disable_xml_declaration=True, style=STYLE, width=760, height=360, margin=8)


def svg(chart: Graph, label_id: str) -> Markup:
    """The chart as inline SVG without any script, named for assistive technology by the element `label_id`."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in [c for c in parent if c.tag in ("script", "{http://www.w3.org/2000/svg}script")]:
            parent.remove(child)
    tree.set("role", "img")
    tree.set("aria-labelledby", label_id)
    return Markup(ElementTree.tostring(tree, encoding="unicode"))


def horizontal_bars(labels: list[str], values: list[float], series: str) -> Graph:
    options = {**OPTIONS, "height": max(160, 34 * len(labels))}
    chart = pygal.HorizontalBar(**options, show_legend=False, print_values=True)
    chart.x_labels = labels
    chart.add(series, values)
    return chart


def stacked_bars(labels: list[str], series: dict[str, list[int]]) -> Graph:
    chart = pygal.StackedBar(**OPTIONS, legend_at_bottom=True, x_label_rotation=20)
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return chart


def grouped_bars(labels: list[str], series: dict[str, list[float]]) -> Graph:
    chart = pygal.Bar(**OPTIONS, legend_at_bottom=True, print_values=True, x_label_rotation=20)
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return chart


def line(labels: list[str], values: list[float | None], series: str) -> Graph:
    chart = pygal.Line(**OPTIONS, show_legend=False, range=(0, 100), show_dots=False, x_labels_major_every=7)
    chart.x_labels = labels
    chart.show_minor_x_labels = False
    chart.add(series, values)
    return chart
