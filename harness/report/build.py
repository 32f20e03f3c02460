"""``slrbench report``: MLflow runs -> one self-contained HTML page (+ CSV and LaTeX tables).

The page inlines its CSS and every figure, has no script and fetches nothing, so it opens
offline and can be mailed or committed as one file. It reads top to bottom: per benchmark the
headline table and one sentence on whether the best model is really ahead, with everything
else about that benchmark collapsed beneath it; then accuracy against vocabulary size, the
published state of the art beside comparable measurements, and the provenance of every run.
"""
from __future__ import annotations

import datetime as dt
import re
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from harness.errors import BadConfig, TrackingError
from harness.report import exports, figures, keyframes, sota, stats, tables, vocabulary
from harness.report.artifacts import RunArtifacts
from harness.report.collect import Benchmark, benchmarks, tidy_runs
from harness.report.details import DetailLimits, Details, details
from harness.report.headline import Headline, headline
from harness.report.uncertainty import Uncertainty, clip_outcomes, measure, pool, unusable
from harness.report.words import counted
from harness.run.tracking import local_store_path
from harness.util.atomic import cannot_write, write_texts

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
    bootstrap_seed: int = 0
    limits: DetailLimits = DetailLimits()
    command: str | None = None       # how to regenerate, shown in the footer


@dataclass
class ReportFiles:
    html: Path
    csv: Path
    tex: Path
    runs: int
    benchmarks: int = 0

    @property
    def html_bytes(self) -> int:
        return self.html.stat().st_size

    @property
    def summary(self) -> str:
        """What the command prints once the report is written."""
        return (f"report of {counted(self.runs, 'run')}: {self.html}\n"
                f"tables: {self.csv}, {self.tex}")


def output_files(out: Path) -> tuple[Path, Path, Path]:
    """The report's three files: the page and its tables beside it."""
    return out, out.with_suffix(".csv"), out.with_suffix(".tex")


def check_out(out: Path, sources: dict[str, Path] | None = None) -> None:
    """Refuse, before any work, an --out whose page or tables would land on a folder: the
    three files are replaced together or not at all, so one folder in the way stops all;
    or on a file the report reads (``sources``: what it is -> path), which it would destroy
    (``--sota mine.csv --out mine.html`` wrote the comparison over the published table; a
    link in the way is replaced, not written through, so it is no clash)."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise BadConfig(f"--out {out}: the report is an HTML file; use e.g. "
                        "--out reports/comparison.html")
    for path in output_files(out):
        if path.is_dir():
            raise BadConfig(f"--out {out}: {path} is a folder; remove it or choose another "
                            "--out")
        for what, source in (sources or {}).items():
            if (path.exists() and not path.is_symlink() and source.exists()
                    and path.samefile(source)):
                raise BadConfig(f"--out {out}: {path} would be written over {what} "
                                f"{source}; choose another --out")


@dataclass
class BenchmarkView:
    benchmark: Benchmark
    headline: Headline
    rows: list[tables.TableRow]
    verdict: str
    configurations: list[tables.TableRow]
    details: Details
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """Everything the template renders."""

    title: str
    generated: str
    store: str
    experiments: list[str]
    n_runs: int
    benchmarks: list[BenchmarkView] = field(default_factory=list)
    headline_columns: tuple = tables.HEADLINE_COLUMNS
    all_columns: tuple = tables.ALL_COLUMNS
    csv_name: str = ""
    tex_name: str = ""
    vocab_figure: figures.Image | None = None
    vocab_datasets: list[str] = field(default_factory=list)
    vocab_splits: list[str] = field(default_factory=list)
    vocab_axis: str = ""          # how the caption names the size axis: "on a ... axis"
    sota_tables: list[sota.SotaTable] = field(default_factory=list)
    sota_omitted: int = 0
    sota_source: str = ""
    references: dict[str, int] = field(default_factory=dict)    # source -> [number]
    provenance: list[dict] = field(default_factory=list)
    common_versions: list[tuple[str, str]] = field(default_factory=list)
    command: str = ""
    css: str = ""
    interval_replicates: int = stats.INTERVAL_REPLICATES
    test_replicates: int = stats.TEST_REPLICATES
    alpha: float = stats.ALPHA
    mark: str = tables.MARK


def _experiment_names(artifacts: RunArtifacts) -> dict[str, str]:
    return {e.experiment_id: e.name for e in artifacts.client.search_experiments()}



# A best epoch in the last tenth of the epoch budget: the run was still improving.
CAP_SHARE = 0.9


def cap_note(configuration) -> str:
    """A note where a configuration's runs found their best validation epoch at the end of
    their epoch budget: it was still improving when stopped, so its figures are a floor."""
    runs = configuration.runs
    epochs = pd.to_numeric(runs["config"].map(lambda c: c.get("epochs")), errors="coerce")
    best = runs["best_epoch"]
    known = epochs.notna() & best.notna() & (epochs > 0)
    capped = int((best[known] >= CAP_SHARE * epochs[known]).sum())
    if not capped:
        return ""
    budget = int(epochs[known].max())
    return (f"{configuration.variant}: its best validation epoch came in the last tenth of its "
            f"{budget}-epoch budget in {capped} of {int(known.sum())} runs, still improving when "
            "the budget ended: its figures are a floor for this model, not its best.")


class Builder:
    def __init__(self, config: ReportConfig, say: Callable[[str], None]):
        self.config = config
        self.say = say

    def build(self) -> ReportFiles:
        config = self.config
        out = Path(config.out)
        check_out(out, {"the state-of-the-art table (--sota)":
                        Path(config.sota_path or sota.default_path())})
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
            found = benchmarks(tidy)
            self.say(f"{counted(len(tidy), 'run')}, {counted(len(found), 'benchmark')}")
            uncertainty = {b.split_hash: self._uncertainty(artifacts, b) for b in found}
            headlines = [headline(b, uncertainty[b.split_hash], config.bootstrap_seed)
                         for b in found]
            context = self._context(artifacts, tidy, headlines, uncertainty, published, out)
        html = self._render(context)
        _, csv_path, tex_path = output_files(out)
        try:    # the three files as one: a failed write leaves the old report whole
            write_texts({csv_path: exports.summary_csv(headlines, uncertainty),
                         tex_path: exports.summary_latex(headlines), out: html})
        except OSError as error:
            raise BadConfig(f"--out {out}: {cannot_write(error, out)}") from None
        return ReportFiles(out, csv_path, tex_path, len(tidy), len(found))

    def _uncertainty(self, artifacts: RunArtifacts, benchmark: Benchmark
                     ) -> dict[str, Uncertainty]:
        self.say(f"intervals: {benchmark.title} ({benchmark.short_hash})")
        found = {}
        for config in benchmark.configurations:
            per_run, why = {}, {}
            scored = set(config.scored["run_id"])
            for run, clips in zip(config.run_ids, expected_rows(config, benchmark)):
                if run not in scored:
                    # no test top-1: its clips would pull the interval off the mean it
                    # is drawn around, which leaves the run out
                    continue
                predictions = artifacts.predictions(run)
                why[run] = unusable(predictions, clips)
                # a damaged table counts as no table: a part of it would shrink the test set
                per_run[run] = None if why[run] else clip_outcomes(predictions)
            found[config.key] = measure(pool(per_run), f"{benchmark.split_hash}|{config.key}",
                                        self.config.bootstrap_seed,
                                        {run: reason for run, reason in why.items() if reason})
        return found

    def _context(self, artifacts: RunArtifacts, tidy: pd.DataFrame, headlines: list[Headline],
                 uncertainty: dict[str, dict[str, Uncertainty]],
                 published: list[sota.SotaRow], out: Path) -> Context:
        config = self.config
        store = shown_uri(artifacts.uri)
        context = Context(
            title=config.title,
            generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            store=store, experiments=sorted(set(tidy["experiment"])),
            n_runs=len(tidy),
            csv_name=out.with_suffix(".csv").name, tex_name=out.with_suffix(".tex").name,
            sota_source=str(config.sota_path or "datasets/sota.csv"),
            command=config.command or regenerate(config, store, out),
            css=(PACKAGE_DIR / "static" / "report.css").read_text(encoding="utf-8"))
        loader = keyframes.ClipLoader()
        for item in headlines:
            bench = item.benchmark
            self.say(f"details: {bench.title} ({bench.short_hash})")
            context.benchmarks.append(BenchmarkView(
                benchmark=bench, headline=item, rows=tables.headline_rows(item),
                verdict=tables.verdict(item),
                configurations=tables.configuration_rows(bench, uncertainty[bench.split_hash],
                                                         item.chosen_keys),
                details=details(item, artifacts, loader, config.limits)))
        self._notes(context.benchmarks)
        points = vocabulary.points(headlines)
        if points:
            self.say("figure: accuracy vs vocabulary size")
            models = sorted({p.series for p in points})
            context.vocab_figure = figures.vocabulary_curve(points, figures.colours(models),
                                                            figures.markers(models))
            context.vocab_datasets = list(dict.fromkeys(p.panel for p in points))
            context.vocab_splits = vocabulary.other_splits(headlines, points)
            context.vocab_axis = vocabulary.axis_words(points)
        context.sota_tables, context.sota_omitted = sota.comparable(published, headlines)
        for table in context.sota_tables:
            for row in table.published:
                context.references.setdefault(row.source, len(context.references) + 1)
        common = common_versions(list(tidy["versions"]))
        context.common_versions = list(common.items())
        context.provenance = [self._provenance(run, common) for _, run in tidy.iterrows()]
        return context

    @staticmethod
    def _notes(views: list[BenchmarkView]) -> None:
        """Each note once, in the benchmark it is about."""
        splits: dict[tuple[str, int], list[BenchmarkView]] = {}
        for view in views:
            bench = view.benchmark
            splits.setdefault((bench.dataset, bench.vocab), []).append(view)
            for configuration in bench.configurations:
                detail = configuration.runs["variant_detail"].iloc[0]
                if detail:
                    view.notes.append(f"{configuration.variant}: {detail}.")
                repeated = configuration.repeated
                if repeated:
                    seeds = sorted(set(repeated.values()))
                    view.notes.append(
                        f"{configuration.variant}: seed{'s' if len(seeds) > 1 else ''} "
                        f"{', '.join(map(str, seeds))} run more than once; each seed counts "
                        f"once, by its latest run (left out: "
                        f"{', '.join(sorted(r[:8] for r in repeated))}).")
                capped = cap_note(configuration)
                if capped:
                    view.notes.append(capped)
            lacking = unusable_runs(view.headline)
            if lacking:
                view.notes.append(f"Runs without a usable predictions.csv count in mean ± std "
                                  f"but not in the intervals or the paired test: "
                                  f"{', '.join(lacking)}.")
        for (dataset, vocab), same in splits.items():
            if len(same) > 1:
                others = ", ".join(v.benchmark.short_hash for v in same[1:])
                same[0].notes.append(
                    f"{dataset} with {vocab} signs was also evaluated on other splits "
                    f"({others}); each has its own table, as accuracies on different test "
                    "clips are not comparable.")

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
            "split": run["split_hash"][:8], "commit": run["git_commit"],
            "dirty": run["git_dirty"],
            "plugin": run["plugin_version"] or "–",
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
        environment.filters["pct"] = lambda s: tables.plain(s.mean, "percent")
        environment.filters["pct_spread"] = lambda s: tables.spread(s, "percent")
        environment.filters["linkify"] = linkify
        environment.filters["uri"] = image_uri
        return environment.get_template("report.html.j2").render(c=context)


def regenerate(config: ReportConfig, store: str, out: Path) -> str:
    """The command that makes this page again, ready to paste into a shell: every option
    that shaped it (an experiment named ``a b`` or ``<x>$y`` quoted as one word)."""
    words = ["slrbench", "report", "--tracking-uri", store]
    for name in config.experiments:
        words += ["--experiment", name]
    if config.title != ReportConfig.title:
        words += ["--title", config.title]
    if config.sota_path is not None:
        words += ["--sota", _relative(Path(config.sota_path))]
    return shlex.join([*words, "--out", _relative(Path(out))])


def expected_rows(configuration, benchmark: Benchmark) -> list[int | None]:
    """Each run's number of test clips as it logged it (``n_test``), else the benchmark's:
    the rows its predictions.csv must hold."""
    fallback = benchmark.sizes[2]
    return [fallback if pd.isna(n) else int(n) for n in configuration.runs["n_test"]]


def unusable_runs(item: Headline) -> list[str]:
    """The headline's runs whose predictions.csv is missing or damaged, each with why."""
    found = {}
    for row in item.rows:
        why = row.uncertainty.unusable
        missing = (row.uncertainty.outcomes.missing if row.uncertainty.known
                   else list(row.configuration.scored["run_id"]))
        for run in missing:
            found[run[:8]] = f"{run[:8]} ({why[run]})" if why.get(run) else run[:8]
    return [found[run] for run in sorted(found)]


def image_uri(image: figures.Image):
    """A data URI made by :mod:`harness.report.encode`: no quote or ampersand can occur in
    it, so it goes into the attribute as it is (escaping would only inflate it)."""
    from markupsafe import Markup
    if '"' in image.uri or "&" in image.uri:
        raise ValueError("image data URI would break its HTML attribute")
    return Markup(image.uri)


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


def _relative(path: Path) -> str:
    """``path`` relative to the working directory where it lies under it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def shown_uri(uri: str) -> str:
    """The store as a published page names it: a local store under the working directory
    by its relative path (``sqlite:///benchmarks/results/mlruns.db``), so that a committed
    report neither shows where one machine keeps its checkout nor stops working in another;
    a server or a store elsewhere as given, less any password in it."""
    local = local_store_path(uri)
    if local is None:
        return without_password(uri)
    shown = _relative(local)
    if shown == str(local):
        return uri
    return f"sqlite:///{shown}" if uri.startswith("sqlite:") else shown


def without_password(uri: str) -> str:
    """``postgresql://mlflow:secret@db/mlflow`` as ``postgresql://mlflow@db/mlflow``: the
    page is mailed and committed, and the regenerating command gets the password where
    MLflow reads it (the environment, a pgpass or netrc file) as any command run does."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def build_report(config: ReportConfig, on_event: Callable[[str], None] | None = None
                 ) -> ReportFiles:
    return Builder(config, on_event or (lambda message: None)).build()
