"""Matplotlib figures (Agg backend) returned as base64 PNG data URIs for an offline page."""
from __future__ import annotations

import base64
import contextlib
import io
import math
import struct
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

DPI = 150
# Shown a little larger than print size (96 px per inch) so 8-9 pt labels read on screen.
CSS_PX_PER_INCH = 108
# Paper-like figures: a Times-like face that ships with matplotlib, light grid, no box.
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


@dataclass(frozen=True)
class Image:
    """A PNG as a data URI, and the CSS width at which its text reads at its point size."""

    uri: str
    width: int


def data_uri(fig) -> Image:
    import matplotlib
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="png", dpi=DPI)
    png = buffer.getvalue()
    pixels = struct.unpack(">I", png[16:20])[0]          # IHDR width
    return Image("data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                 round(pixels * CSS_PX_PER_INCH / DPI))


def colours(names: Sequence[str]) -> dict[str, str]:
    """One colour per name, stable across every figure of the report."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def markers(names: Sequence[str]) -> dict[str, str]:
    return {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(sorted(set(names)))}


@dataclass(frozen=True)
class Point:
    series: str        # the model variant
    panel: str         # dataset (vocab curve) or split title (latency scatter)
    x: float
    y: float           # accuracy as a fraction
    y_std: float = math.nan
    n: int = 1


def _panels(points: Sequence[Point]) -> list[str]:
    return list(dict.fromkeys(p.panel for p in points))


def _grid(count: int, max_cols: int = 3) -> tuple[int, int]:
    cols = min(count, max_cols)
    return math.ceil(count / cols), cols


def _cap_percent(axis) -> None:
    """Margins must not push an accuracy axis past 100 %."""
    bottom, top = axis.get_ylim()
    axis.set_ylim(max(bottom, 0.0), min(top, 101.0))


def vocabulary_curve(points: Sequence[Point], palette: dict[str, str]) -> Image:
    """Top-1 against vocabulary size, one panel per dataset, one line per model."""
    panels = _panels(points)
    rows, cols = _grid(len(panels))
    with figure(3.3 * cols + 1.6, 2.7 * rows, rows, cols) as (fig, axes):
        for axis, panel in zip(axes.flat, panels):
            mine = [p for p in points if p.panel == panel]
            for series in sorted({p.series for p in mine}):
                line = sorted((p for p in mine if p.series == series), key=lambda p: p.x)
                x = [p.x for p in line]
                y = np.array([100 * p.y for p in line])
                err = np.nan_to_num(np.array([100 * p.y_std for p in line]))
                axis.errorbar(x, y, yerr=err, marker="o", markersize=4, linewidth=1.4,
                              capsize=2.5, color=palette[series], label=series)
            vocabularies = sorted({p.x for p in mine})
            if vocabularies[-1] / max(vocabularies[0], 1) >= 8:
                axis.set_xscale("log")
            axis.set_xticks(vocabularies, [f"{v:g}" for v in vocabularies])
            axis.minorticks_off()
            axis.set_xlabel("vocabulary size (signs)")
            axis.set_ylabel("test top-1 (%)")
            axis.set_title(panel)
            _cap_percent(axis)
        for axis in list(axes.flat)[len(panels):]:
            axis.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        for axis in list(axes.flat)[1:len(panels)]:
            h, l = axis.get_legend_handles_labels()
            for handle, label in zip(h, l):
                if label not in labels:
                    handles.append(handle)
                    labels.append(label)
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
        return data_uri(fig)


def latency_scatter(points: Sequence[Point], palette: dict[str, str],
                    shapes: dict[str, str]) -> Image:
    """Top-1 against per-clip latency (p50), one panel per split."""
    panels = _panels(points)
    rows, cols = _grid(len(panels))
    with figure(3.3 * cols + 1.6, 2.7 * rows, rows, cols) as (fig, axes):
        seen: dict[str, object] = {}
        for axis, panel in zip(axes.flat, panels):
            mine = [p for p in points if p.panel == panel]
            for p in mine:
                handle = axis.errorbar([p.x], [100 * p.y],
                                       yerr=[0 if math.isnan(p.y_std) else 100 * p.y_std],
                                       marker=shapes[p.series], markersize=6, linestyle="none",
                                       capsize=2.5, color=palette[p.series],
                                       markeredgecolor="white", markeredgewidth=0.6)
                seen.setdefault(p.series, handle)
            # Latencies of model families differ by orders of magnitude: log when they do.
            latencies = [p.x for p in mine if p.x > 0]
            if latencies and max(latencies) / min(latencies) >= 8:
                axis.set_xscale("log")
                axis.set_xlim(min(latencies) / 2.5, max(latencies) * 2.5)
                axis.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                axis.xaxis.set_minor_formatter(NullFormatter())
            elif latencies:
                axis.set_xlim(0, max(latencies) * 1.5)
            axis.margins(y=0.25)
            axis.set_xlabel("latency per clip, p50 (ms)")
            axis.set_ylabel("test top-1 (%)")
            axis.set_title(panel)
            _cap_percent(axis)
        for axis in list(axes.flat)[len(panels):]:
            axis.set_visible(False)
        ordered = sorted(seen)
        fig.legend([seen[s] for s in ordered], ordered, loc="center left",
                   bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
        return data_uri(fig)


def curve_kind(name: str) -> str:
    lowered = name.lower()
    if "loss" in lowered:
        return "loss"
    if any(word in lowered for word in ("top1", "top5", "acc", "f1")):
        return "accuracy"
    return "other"


def learning_curves(curves: dict[str, list[tuple[int, float]]]) -> Image:
    """Per-epoch histories of one run: losses, accuracies and any other curve, side by side."""
    kinds = [kind for kind in ("loss", "accuracy", "other")
             if any(curve_kind(n) == kind for n in curves)]
    with figure(2.7 * len(kinds), 2.2, 1, len(kinds)) as (fig, axes):
        for axis, kind in zip(axes.flat, kinds):
            names = [n for n in curves if curve_kind(n) == kind]
            shades = colours(names)
            for name in names:
                steps, values = zip(*curves[name])
                axis.plot(steps, values, linewidth=1.3, color=shades[name], label=name,
                          marker="o" if len(steps) <= 12 else None, markersize=2.5)
            if kind == "other" and all(v > 0 for n in names for _, v in curves[n]):
                spread = [v for n in names for _, v in curves[n]]
                if max(spread) / min(spread) > 20:
                    axis.set_yscale("log")
            axis.set_xlabel("step (epoch)")
            axis.set_ylabel({"loss": "loss", "accuracy": "accuracy"}.get(kind, "value"))
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=7,
                        handlelength=1.6, columnspacing=1.0)
        fig.tight_layout()
        return data_uri(fig)


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
    side = min(7.0, max(3.0, 1.6 + 0.26 * n))
    with figure(side + 0.9, side) as (fig, axes):
        axis = axes[0, 0]
        axis.grid(False)
        image = axis.imshow(share, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        font = 7 if n <= 25 else 5.5
        axis.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=font,
                        rotation_mode="anchor")
        axis.set_yticks(range(n), labels, fontsize=font)
        axis.set_xlabel("predicted sign")
        axis.set_ylabel("true sign")
        axis.set_title(title)
        if n <= 16:
            for i in range(n):
                for j in range(n):
                    if counts[i, j]:
                        axis.text(j, i, f"{counts[i, j]:g}", ha="center", va="center",
                                  fontsize=6.5,
                                  color="white" if share[i, j] > 0.55 else "#1b1b1b")
        bar = fig.colorbar(image, ax=axis, fraction=0.046, pad=0.03)
        bar.set_label("share of the true sign's clips", fontsize=7.5)
        bar.ax.tick_params(labelsize=7)
        fig.tight_layout()
        return data_uri(fig)
