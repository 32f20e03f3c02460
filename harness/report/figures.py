"""The report's matplotlib figures (Agg backend), returned as compact data URIs.

Line charts (accuracy vs vocabulary size, learning curves) are SVG; the confusion heat map
is a palette PNG (see :mod:`harness.report.encode`).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from harness.report import encode
from harness.report.encode import Image

# Paper-like figures: a Times-like face, light grid, no box.
STYLE = {
    "font.family": "serif",
    "font.serif": ["STIXGeneral", "DejaVu Serif"],
    "mathtext.fontset": "stix",
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.edgecolor": "#444444",
    "legend.frameon": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.04,
}
PALETTE = ("#1f5fa8", "#d1495b", "#2e8b57", "#e08e0b", "#6a4c93", "#00798c", "#8c564b",
           "#c44e9b", "#5c6f7e", "#9aa01c")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
# A curve is drawn from at most this many points: enough for a panel a few hundred px wide.
CURVE_POINTS = 120
# Learning-curve panels: their height, and beneath them the legend, whose entries
# longer than LEGEND_NAME_CHARS go one a row (two side by side would touch).
CURVES_INCHES = 1.9
# Legend characters that fit across one vocabulary-curve panel.
VOCAB_LEGEND_CHARS_PER_PANEL = 40
LEGEND_NAME_CHARS = 14
LEGEND_ROW_INCHES = 0.16
LEGEND_GAP_INCHES = 0.42           # from the axis to the legend: ticks and 'epoch'


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


@contextlib.contextmanager
def figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs) -> Iterator:
    """A styled figure whose axes are yielded; always closed afterwards."""
    plt = _pyplot()
    import matplotlib
    with matplotlib.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False,
                                 **kwargs)
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def svg(fig) -> Image:
    return encode.svg(fig, STYLE)


def png(fig) -> Image:
    return encode.png(fig, STYLE)


def colours(names: Sequence[str]) -> dict[str, str]:
    """One colour per name, stable across every figure of the report."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def markers(names: Sequence[str]) -> dict[str, str]:
    return {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(sorted(set(names)))}


@dataclass(frozen=True)
class Point:
    series: str        # the model
    panel: str         # the dataset
    x: float           # vocabulary size
    y: float           # accuracy as a fraction
    low: float = math.nan      # its 95 % interval
    high: float = math.nan


def literal(text: str) -> str:
    """A name or gloss as matplotlib must draw it: as given, since a pair of '$' in it would
    be typeset as a formula ('$x$' in italics) or fail to parse as one ('$\\frac{$')."""
    return str(text).replace("$", r"\$")


def logarithmic(sizes) -> bool:
    """Whether a panel of these vocabulary sizes gets a log axis: where they span 8x."""
    return max(sizes) / max(min(sizes), 1) >= 8


def _grid(count: int, max_cols: int = 2) -> tuple[int, int]:
    cols = min(count, max_cols)
    return math.ceil(count / cols), cols


def _cap_percent(axis) -> None:
    """Margins must not push an accuracy axis past 100 %."""
    bottom, top = axis.get_ylim()
    axis.set_ylim(max(bottom, 0.0), min(top, 101.0))


def vocabulary_curve(points: Sequence[Point], palette: dict[str, str],
                     shapes: dict[str, str]) -> Image:
    """Test top-1 against vocabulary size: a panel per dataset, a line per model with its
    95 % interval as a band."""
    panels = list(dict.fromkeys(p.panel for p in points))
    rows, cols = _grid(len(panels))
    with figure(3.5 * cols, 2.6 * rows + 0.45, rows, cols) as (fig, axes):
        for axis, panel in zip(axes.flat, panels):
            mine = [p for p in points if p.panel == panel]
            for series in sorted({p.series for p in mine}):
                line = sorted((p for p in mine if p.series == series), key=lambda p: p.x)
                x = np.array([p.x for p in line], dtype=float)
                y = 100 * np.array([p.y for p in line])
                low = 100 * np.array([p.y if math.isnan(p.low) else p.low for p in line])
                high = 100 * np.array([p.y if math.isnan(p.high) else p.high for p in line])
                axis.fill_between(x, low, high, color=palette[series], alpha=0.16, linewidth=0)
                axis.plot(x, y, marker=shapes[series], markersize=3.5, linewidth=1.3,
                          color=palette[series], label=literal(series))
            sizes = sorted({p.x for p in mine})
            log_axis = logarithmic(sizes)
            if log_axis:
                axis.set_xscale("log")
            axis.set_xticks(sizes, [f"{v:g}" for v in sizes])
            axis.minorticks_off()
            axis.set_xlabel("vocabulary size (signs" + (", log scale)" if log_axis else ")"))
            axis.set_ylabel("test top-1 (%)")
            axis.set_title(literal(panel))
            _cap_percent(axis)
        for axis in list(axes.flat)[len(panels):]:
            axis.set_visible(False)
        handles, labels = {}, []
        for axis in list(axes.flat)[:len(panels)]:
            for handle, label in zip(*axis.get_legend_handles_labels()):
                if label not in handles:
                    handles[label] = handle
                    labels.append(label)
        fig.tight_layout()
        # names like "conv_transformer (epochs=50)" side by side ran into each other
        per_row = max(1, int(cols * VOCAB_LEGEND_CHARS_PER_PANEL // max(map(len, labels))))
        # and the browser draws the SVG's text in its own serif, often wider than the one
        # matplotlib measured: the columns get room to spare
        fig.legend([handles[l] for l in labels], labels, loc="upper center",
                   bbox_to_anchor=(0.5, 0.0), ncol=min(3, len(labels), per_row),
                   columnspacing=3.5)
        return svg(fig)


def curve_kind(name: str) -> str:
    lowered = name.lower()
    if "loss" in lowered:
        return "loss"
    if any(word in lowered for word in ("top1", "top5", "acc", "f1")):
        return "accuracy"
    return "other"


def thin(points: list[tuple[int, float]], limit: int = CURVE_POINTS) -> list[tuple[int, float]]:
    """At most ``limit`` points, evenly spaced, first and last kept."""
    if len(points) <= limit:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[i] for i in keep]


def learning_curves(runs: Sequence[dict[str, list[tuple[int, float]]]]) -> Image:
    """Per-epoch histories of a configuration's runs (seeds overlaid, one colour per
    metric): losses, accuracies and anything else, a panel each, its legend beneath."""
    names = sorted({name for curves in runs for name in curves})
    kinds = [k for k in ("loss", "accuracy", "other") if any(curve_kind(n) == k for n in names)]
    panels = [[n for n in names if curve_kind(n) == kind] for kind in kinds]
    # Long names go one a row (browsers draw the labels in their own serif, a little wider
    # than matplotlib measured, and two side by side touched); short ones two a row.
    columns = [1 if max(map(len, mine)) > LEGEND_NAME_CHARS else 2 for mine in panels]
    legend_rows = max(math.ceil(len(mine) / c) for mine, c in zip(panels, columns))
    legend_height = LEGEND_ROW_INCHES * legend_rows + 0.1
    height = CURVES_INCHES + legend_height
    shades = colours(names)
    with figure(2.6 * len(kinds), height, 1, len(kinds)) as (fig, axes):
        for axis, kind, mine in zip(axes.flat, kinds, panels):
            for name in mine:
                drawn = [curves[name] for curves in runs if name in curves]
                for number, points in enumerate(drawn):
                    steps, values = zip(*thin(points))
                    axis.plot(steps, values, linewidth=1.1, color=shades[name], alpha=0.85,
                              label=None if number else name)
            values = [v for n in mine for curves in runs for _, v in curves.get(n, [])]
            axis.set_xlabel("epoch")
            # a panel of one metric (the learning rate, say) is labelled by it
            axis.set_ylabel(mine[0].replace("_", " ") if len(mine) == 1 else
                            {"loss": "loss", "accuracy": "accuracy"}.get(kind, "value"))
            axis.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
            if kind == "other" and values and min(values) > 0 and max(values) / min(values) > 20:
                axis.set_yscale("log")
                axis.yaxis.set_major_locator(LogLocator(numticks=4))
                axis.yaxis.set_minor_locator(NullLocator())
            else:
                axis.yaxis.set_major_locator(MaxNLocator(nbins=4))
        fig.tight_layout(rect=(0, legend_height / height, 1, 1))
        # after the layout, which would otherwise shrink the panels to make room for them
        for axis, mine, ncol in zip(axes.flat, panels, columns):
            below = LEGEND_GAP_INCHES / (axis.get_position().height * height)
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -below), ncol=ncol,
                        fontsize=7, handlelength=1.4, columnspacing=2.2)
        return svg(fig)


def confusion_heatmap(matrix: np.ndarray, labels: Sequence[str], title: str,
                      row_totals: np.ndarray | None = None) -> Image:
    """Row-normalised confusion (share of each true sign's clips), with counts when legible.

    For a sub-matrix, ``row_totals`` are the signs' clip counts in the full matrix, so a
    share stays a share of all the sign's clips, not of those that landed in the subset.
    """
    counts = np.asarray(matrix, dtype=float)
    totals = (counts.sum(axis=1) if row_totals is None
              else np.asarray(row_totals, dtype=float)).reshape(-1, 1)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    n = len(labels)
    side = min(4.6, max(2.6, 1.4 + 0.16 * n))
    with figure(side + 0.8, side) as (fig, axes):
        axis = axes[0, 0]
        axis.grid(False)
        image = axis.imshow(share, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        font = 7 if n <= 20 else 5.5
        shown = [literal(label) for label in labels]
        axis.set_xticks(range(n), shown, rotation=60, ha="right", fontsize=font,
                        rotation_mode="anchor")
        axis.set_yticks(range(n), shown, fontsize=font)
        axis.set_xlabel("predicted sign")
        axis.set_ylabel("true sign")
        axis.set_title(literal(title), fontsize=8.5)
        if n <= 12:
            for i in range(n):
                for j in range(n):
                    if counts[i, j]:
                        axis.text(j, i, f"{counts[i, j]:g}", ha="center", va="center",
                                  fontsize=6.5,
                                  color="white" if share[i, j] > 0.55 else "#1b1b1b")
        bar = fig.colorbar(image, ax=axis, fraction=0.046, pad=0.03)
        bar.set_label("share of the true sign's clips", fontsize=7)
        bar.ax.tick_params(labelsize=6.5)
        fig.tight_layout()
        return png(fig)
