"""``slrbench report``: MLflow runs -> one self-contained HTML page (+ CSV and LaTeX tables).

The page inlines its CSS and every figure (PNG data URIs), so it opens offline and can be
mailed or committed as one file. Sections, in order: summary tables (one per split),
accuracy vs vocabulary size and vs latency, learning curves, confusions, the key-frame
gallery with honest vs oracle accuracy, the state of the art, and provenance of every run.
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness.util.atomic import write_text
from harness.errors import BadConfig, TrackingError
from harness.report import confusions, figures, keyframes, sota, tables
from harness.report.artifacts import RunArtifacts
from harness.report.collect import SplitGroup, split_groups, tidy_runs

PACKAGE_DIR = Path(__file__).resolve().parent
# Versions worth a glance in the provenance table, in this order; the rest follow.
KEY_PACKAGES = ("slrbench", "python", "torch", "numpy", "scikit-learn", "mlflow")


@dataclass
class ReportConfig:
    out: Path = Path("reports/comparison.html")
    tracking_uri: str | None = None
    experiments: tuple[str, ...] = ()
    title: str = "Isolated sign-language recognition: slrbench comparison"
    sota_path: Path | None = None
    gallery_runs: int = 4            # key-frame runs shown in the gallery
    gallery_clips: int = 6           # test clips per gallery run
    confusion_classes: int = 30      # larger vocabularies show this many most-confused signs
    confused_pairs: int = 8
    max_curve_runs: int = 60         # learning-curve panels before the rest are listed


@dataclass
class ReportFiles:
    html: Path
    csv: Path
    tex: Path
    runs: int


@dataclass
class ConfusionView:
    title: str
    anchor: str
    n_runs: int
    pairs: list[confusions.ConfusedPair]
    image: figures.Image
    shown: int
    total: int


@dataclass
class CurveView:
    title: str
    run_id: str
    image: figures.Image


@dataclass
class Context:
    """Everything the template renders."""

    title: str
    generated: str
    store: str
    experiments: list[str]
    n_runs: int
    groups: list[dict] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    csv_name: str = ""
    tex_name: str = ""
    vocab_figure: figures.Image | None = None
    latency_figure: figures.Image | None = None
    curves: list[CurveView] = field(default_factory=list)
    curves_omitted: list[str] = field(default_factory=list)
    runs_without_curves: list[str] = field(default_factory=list)
    confusions: list[ConfusionView] = field(default_factory=list)
    galleries: list[keyframes.Gallery] = field(default_factory=list)
    oracle: list[keyframes.OracleRow] = field(default_factory=list)
    sota: list[sota.SotaRow] = field(default_factory=list)
    sota_source: str = ""
    references: dict[str, int] = field(default_factory=dict)    # source -> [number]
    provenance: list[dict] = field(default_factory=list)
    common_versions: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    command: str = ""
    css: str = ""


def _experiment_names(artifacts: RunArtifacts) -> dict[str, str]:
    return {e.experiment_id: e.name for e in artifacts.client.search_experiments()}


def vocabulary_points(groups: list[SplitGroup]) -> list[figures.Point]:
    """One point per model variant, dataset and vocabulary (the split with most seeds)."""
    chosen: dict[tuple[str, str, int], figures.Point] = {}
    for group in groups:
        for entry in group.entries:
            top1 = entry.stats["top1"]
            if not top1.known:
                continue
            key = (group.dataset, entry.variant, group.vocab)
            if key not in chosen or top1.n > chosen[key].n:
                chosen[key] = figures.Point(entry.variant, group.dataset, group.vocab,
                                            top1.mean, top1.std, top1.n)
    sizes: dict[str, set[int]] = {}
    for dataset, _, vocab in chosen:
        sizes.setdefault(dataset, set()).add(vocab)
    return [p for (dataset, _, _), p in sorted(chosen.items()) if len(sizes[dataset]) > 1]


def latency_points(groups: list[SplitGroup]) -> list[figures.Point]:
    points = []
    for group in groups:
        for entry in group.entries:
            top1, latency = entry.stats["top1"], entry.stats["latency_ms"]
            if top1.known and latency.known:
                points.append(figures.Point(entry.variant,
                                            f"{group.title} ({group.short_hash[:8]})",
                                            latency.mean, top1.mean, top1.std, top1.n))
    return points


class Builder:
    def __init__(self, config: ReportConfig, say: Callable[[str], None]):
        self.config = config
        self.say = say

    def build(self) -> ReportFiles:
        config = self.config
        out = Path(config.out)
        if out.suffix.lower() not in (".html", ".htm"):
            raise BadConfig(f"--out {out}: the report is an HTML file; use e.g. "
                            "--out reports/comparison.html")
        published = sota.load_sota(config.sota_path)   # fail on a bad table before any work
        with tempfile.TemporaryDirectory(prefix="slrbench-report-") as work:
            from harness.run.tracking import load_runs
            raw = load_runs(config.tracking_uri, config.experiments or None)
            artifacts = RunArtifacts(config.tracking_uri, Path(work))
            if raw.empty:
                raise TrackingError(f"no finished slrbench runs in {artifacts.uri}"
                                    + (f" (experiments {list(config.experiments)})"
                                       if config.experiments else "")
                                    + "; run e.g. `slrbench run --model pooled_logreg "
                                    "--dataset signo` first, or pass --tracking-uri")
            tidy = tidy_runs(raw, _experiment_names(artifacts))
            groups = split_groups(tidy)
            self.say(f"{len(tidy)} runs, {len(groups)} splits")
            context = self._context(artifacts, tidy, groups, published, out)
        html = self._render(context)
        csv_path, tex_path = out.with_suffix(".csv"), out.with_suffix(".tex")
        write_text(csv_path, tables.summary_csv(groups))
        write_text(tex_path, tables.summary_latex(groups, self._caption(groups)))
        write_text(out, html)
        return ReportFiles(out, csv_path, tex_path, len(tidy))

    @staticmethod
    def _caption(groups: list[SplitGroup]) -> str:
        return ("Test-split results per dataset and split (split hash prefix in brackets): "
                "mean ± sample standard deviation over n seeds; accuracies in percent; "
                "latency is the median time to classify one clip. Best top-1 per split in bold.")

    def _context(self, artifacts: RunArtifacts, tidy: pd.DataFrame, groups: list[SplitGroup],
                 published: list[sota.SotaRow], out: Path) -> Context:
        config = self.config
        context = Context(
            title=config.title,
            generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            store=artifacts.uri, experiments=sorted(set(tidy["experiment"])),
            n_runs=len(tidy), headings=tables.headings(),
            csv_name=out.with_suffix(".csv").name, tex_name=out.with_suffix(".tex").name,
            sota_source=str(config.sota_path or "datasets/sota.csv"),
            command=" ".join(["slrbench report", f"--tracking-uri {artifacts.uri}",
                              *(f"--experiment {e}" for e in config.experiments),
                              f"--out {out}"]),
            css=(PACKAGE_DIR / "static" / "report.css").read_text(encoding="utf-8"))
        context.groups = [{"group": g, "rows": tables.rows(g)} for g in groups]
        self._split_notes(groups, context)
        palette = figures.colours(tidy["variant"])
        shapes = figures.markers(tidy["variant"])
        vocab_points = vocabulary_points(groups)
        if vocab_points:
            self.say("figure: accuracy vs vocabulary size")
            context.vocab_figure = figures.vocabulary_curve(vocab_points, palette)
        latency = latency_points(groups)
        if latency:
            self.say("figure: accuracy vs latency")
            context.latency_figure = figures.latency_scatter(latency, palette, shapes)
        self._curves(artifacts, tidy, context)
        self._confusions(artifacts, groups, context)
        self._keyframes(artifacts, groups, context)
        context.sota = sota.combined(published, sota.measured_rows(groups))
        for row in context.sota:
            if not row.measured:
                context.references.setdefault(row.source, len(context.references) + 1)
        common = common_versions(list(tidy["versions"]))
        context.common_versions = list(common.items())
        context.provenance = [self._provenance(run, common) for _, run in tidy.iterrows()]
        return context

    @staticmethod
    def _split_notes(groups: list[SplitGroup], context: Context) -> None:
        seen: dict[tuple[str, int], list[str]] = {}
        for group in groups:
            seen.setdefault((group.dataset, group.vocab), []).append(group.short_hash[:8])
        for (dataset, vocab), hashes in seen.items():
            if len(hashes) > 1:
                context.notes.append(
                    f"{dataset} with {vocab} signs was evaluated on {len(hashes)} different "
                    f"splits ({', '.join(hashes)}); they are kept in separate tables because "
                    "accuracies on different test clips are not comparable.")

    def _curves(self, artifacts: RunArtifacts, tidy: pd.DataFrame, context: Context) -> None:
        self.say("learning curves")
        for _, run in tidy.iterrows():
            name = f"{run['variant']} on {run['dataset']}-{run['vocab']}, seed {run['seed']}"
            curves = artifacts.histories(run["run_id"], run["metric_names"])
            if not curves:
                context.runs_without_curves.append(name)
            elif len(context.curves) >= self.config.max_curve_runs:
                context.curves_omitted.append(f"{name} ({run['run_id'][:8]})")
            else:
                context.curves.append(CurveView(name, run["run_id"],
                                                figures.learning_curves(curves)))

    def _confusions(self, artifacts: RunArtifacts, groups: list[SplitGroup],
                    context: Context) -> None:
        self.say("confusion matrices")
        for group in groups:
            for entry in group.entries:
                matrices = [m for m in (artifacts.confusion(r) for r in entry.run_ids)
                            if m is not None]
                matrix = confusions.pooled(matrices)
                title = f"{entry.variant} on {group.title} ({group.short_hash[:8]})"
                if matrix is None:
                    context.notes.append(f"{title}: no usable confusion.csv artifact; "
                                         "no confusion matrix shown.")
                    continue
                vocab = artifacts.vocab(entry.run_ids[0])
                if vocab is None or len(vocab) != len(matrix):
                    vocab = [f"class {i}" for i in range(len(matrix))]
                focus = confusions.focus_classes(matrix, self.config.confusion_classes)
                sub = matrix[np.ix_(focus, focus)]
                labels = [vocab[i] for i in focus]
                heading = (f"{entry.variant}, {group.title}" if len(focus) == len(matrix) else
                           f"{entry.variant}, {group.title}: {len(focus)} most confused signs")
                context.confusions.append(ConfusionView(
                    title=title, anchor=f"confusion-{group.short_hash}-{len(context.confusions)}",
                    n_runs=len(matrices),
                    pairs=confusions.top_pairs(matrix, vocab, self.config.confused_pairs),
                    image=figures.confusion_heatmap(sub, labels, heading,
                                                    matrix.sum(axis=1)[focus]),
                    shown=len(focus), total=len(matrix)))

    def _keyframes(self, artifacts: RunArtifacts, groups: list[SplitGroup],
                   context: Context) -> None:
        context.oracle = keyframes.oracle_rows(groups)
        loader = keyframes.ClipLoader()
        for group in groups:
            for entry in group.entries:
                run = entry.runs.iloc[0]
                predictions = artifacts.predictions(run["run_id"])
                if not keyframes.is_keyframe_run(predictions):
                    continue
                if len(context.galleries) >= self.config.gallery_runs:
                    context.notes.append(f"key-frame gallery limited to "
                                         f"{self.config.gallery_runs} runs; "
                                         f"{entry.variant} on {group.title} not drawn.")
                    continue
                self.say(f"key-frame gallery: {entry.variant} on {group.title}")
                context.galleries.append(keyframes.gallery(
                    f"{entry.variant} on {group.title} ({group.short_hash[:8]})", run,
                    predictions, loader, self.config.gallery_clips))

    @staticmethod
    def _provenance(run: pd.Series, common: dict[str, str]) -> dict:
        versions = {k: v for k, v in run["versions"].items() if k not in common}
        ordered = [k for k in KEY_PACKAGES if k in versions]
        ordered += sorted(k for k in versions if k not in KEY_PACKAGES)
        started = run["start_time"]
        return {
            "run_id": run["run_id"], "experiment": run["experiment"],
            "variant": run["variant"], "dataset": f"{run['dataset']}-{run['vocab']}",
            "seed": "" if pd.isna(run["seed"]) else int(run["seed"]),
            "split": run["split_hash"][:12], "commit": run["git_commit"],
            "machine": run["machine"], "device": run["device"],
            "versions": [(k, versions[k]) for k in ordered],
            "started": started.strftime("%Y-%m-%d %H:%M") if pd.notna(started) else "",
        }

    @staticmethod
    def _render(context: Context) -> str:
        import jinja2
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        environment.filters["published"] = published_percent
        environment.filters["pct_stat"] = lambda s: tables.plain(s.mean, "percent")
        environment.filters["pct_spread"] = lambda s: tables.spread(s, "percent")
        environment.filters["linkify"] = linkify
        return environment.get_template("report.html.j2").render(c=context)


def common_versions(per_run: list[dict[str, str]]) -> dict[str, str]:
    """Package versions shared by every run, in provenance order."""
    if not per_run:
        return {}
    shared = {k: v for k, v in per_run[0].items() if all(r.get(k) == v for r in per_run[1:])}
    ordered = [k for k in KEY_PACKAGES if k in shared] + sorted(set(shared) - set(KEY_PACKAGES))
    return {k: shared[k] for k in ordered}


def published_percent(value: float) -> str:
    """Published accuracies keep the two decimals papers report them with."""
    return "–" if value != value else f"{value:.2f}"


URL = re.compile(r"https?://[^\s,;)]+")


def linkify(text: str):
    """Escape ``text`` and make its http(s) addresses links (they are not fetched)."""
    from markupsafe import Markup, escape
    parts, last = [], 0
    for match in URL.finditer(str(text)):
        url = match.group(0).rstrip(".")
        parts.append(escape(text[last:match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.start() + len(url)
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def build_report(config: ReportConfig, on_event: Callable[[str], None] | None = None
                 ) -> ReportFiles:
    return Builder(config, on_event or (lambda message: None)).build()
