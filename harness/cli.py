"""The ``slrbench`` command line: parse, call, print. No logic lives here."""
from __future__ import annotations

import errno
import sys
import time
from pathlib import Path

import click

from harness.errors import SlrbenchError
from harness.util.signals import interrupts_never_swallowed, sigterm_interrupts

DATA_DIR_HELP = "Where the dataset lives (default: the adapter's shipped location)."
DATA_OPTION_HELP = "Dataset adapter option, e.g. clips_per_class=5 for synthetic."
TRACKING_HELP = ("MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns.db "
                 "in the current directory).")


class FriendlyGroup(click.Group):
    """Reports user errors as one line (exit 2) instead of a traceback; every command stops
    on SIGTERM and SIGHUP as on Ctrl-C, so what it was writing is cleaned up (a report's
    or an export's temporary file too, not only a run's or an extraction's)."""

    def invoke(self, ctx: click.Context):
        try:
            with interrupts_never_swallowed(), sigterm_interrupts():
                return super().invoke(ctx)
        except SlrbenchError as error:
            click.secho(f"error: {error}", fg="red", err=True)
            sys.exit(2)
        except KeyboardInterrupt as stop:
            # Ctrl-C (130), SIGTERM (143) or SIGHUP (129: harness.util.signals.Terminated);
            # the message says what was kept, e.g. the run marked KILLED or the clips
            # finished so far
            click.secho(str(stop) or "interrupted", fg="yellow", err=True)
            _exit_after_interrupt(getattr(stop, "exit_code", 130))
        except OSError as error:
            advice = PLACE_PROBLEMS.get(error.errno)
            if advice is None or (error.filename is None and error.errno not in DISK_FULL):
                raise
            where = f" ({error.filename})" if error.filename else ""
            click.secho(f"error: {error.strerror}{where}; {advice}, then run the same command "
                        "again", fg="red", err=True)
            sys.exit(2)


def _exit_after_interrupt(code: int) -> None:
    """Exit once what was interrupted has been recorded. A process pool whose workers were
    ended can leave its manager thread waiting on them for good (seen after a sweep's
    Ctrl-C: summary printed, then the interpreter blocked joining that thread at exit), so
    threads still alive after a grace period are not waited for."""
    import os
    import threading
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon]
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    for thread in others:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in others):
        _release_pool_semaphores()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _release_pool_semaphores() -> None:
    """What a normal exit would do for the pool's queues, skipped by ``os._exit``: their
    semaphores unlinked. Left to multiprocessing's resource tracker, they came back as a
    "leaked semaphore objects" warning after the command had ended. Finalizers of priority
    0 and up only: closing the queues and unlinking, not joining threads that may hang."""
    try:                                    # private API: without it the tracker cleans up
        from multiprocessing import util
        util._run_finalizers(0)
    except Exception:  # noqa: BLE001
        pass


EXIT_GRACE_SECONDS = 10.0

# A full or read-only disk, or a path the user gave that cannot be written or is in the way,
# is the user's to fix wherever it strikes; any other OSError is a bug.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
PLACE_PROBLEMS = {
    **dict.fromkeys(DISK_FULL, "free space or choose another place"),
    **dict.fromkeys((errno.EROFS, errno.EACCES, errno.EPERM), "choose a writable place"),
    **dict.fromkeys((errno.EEXIST, errno.ENOTDIR, errno.EISDIR),
                    "a file or folder is in the way there; choose another path"),
    errno.ENAMETOOLONG: "choose a shorter name",
}


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", is_flag=True, help="Show native MediaPipe/TensorFlow/MLflow logs.")
@click.version_option(package_name="slrbench")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """slrbench: train and compare isolated sign-language recognition models on the same
    data, splits and metrics, tracked in MLflow.

    \b
    Start with:
      slrbench list                                   models and datasets
      slrbench run --model pooled_logreg --dataset signo
      slrbench report --out reports/comparison.html
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    if not verbose:
        from harness.util.quiet import silence_native_logs
        silence_native_logs()


def _parse_sets(items, option: str = "--set") -> dict[str, str]:
    from harness.util.config import parse_set_options
    return parse_set_options(items, option)


@main.command("list", short_help="Models and datasets, or one's options.")
@click.option("--model", "model_name", default=None, help="Show one model's --set options.")
@click.option("--dataset", "dataset_name", default=None,
              help="Show one dataset's --data-option options.")
def list_command(model_name: str | None, dataset_name: str | None) -> None:
    """List every registered model and dataset (built-in and third-party plugins), or the
    options of one."""
    from harness import registry
    if model_name is not None:      # --model "" is an unknown model, not "all of them"
        spec = registry.model(model_name)
        click.echo(f"{spec.name} ({spec.inputs}): {spec.summary}\n\noptions (--set key=value):")
        _list_options(spec.config)
    if dataset_name is not None:
        if model_name is not None:
            click.echo()
        data = registry.dataset(dataset_name)
        sizes = (f" (--vocab {', '.join(map(str, data.vocab_sizes))})"
                 if data.vocab_sizes else "")
        click.echo(f"{data.name}{sizes}: {data.summary}\n")
        if data.options is None:
            click.echo("no options (--data-option is refused)")
        else:
            click.echo("options (--data-option key=value):")
            _list_options(data.options)
    if model_name is not None or dataset_name is not None:
        return
    click.echo("models:")
    for spec in registry.models().values():
        click.echo(f"  {spec.name:<16} [{spec.inputs}] {spec.summary}")
    click.echo("datasets:")
    for spec in registry.datasets().values():
        click.echo(f"  {spec.name:<16} {spec.summary}")


def _list_options(config: type) -> None:
    from harness.util.config import describe, set_text
    options = describe(config)
    kind_width = max([10, *(len(kind) for _, kind, _ in options)])
    for name, kind, default in options:
        click.echo(f"  {name:<22} {kind:<{kind_width}} default {set_text(default)}")


CONFIG_HELP = ("A {0} file (TOML) whose keys are this command's options (split-seed = 1, "
               "[set] stages = 3); options given here override it.")
METRICS_HELP = ("Also log MLflow's system metrics (CPU, memory, disk, network; "
                "system/* in the run; needs psutil, extra [system-metrics]); "
                "--no-system-metrics turns off a --config file's.")


def _options(ctx: click.Context, command: str, config_file: Path | None):
    """This command's parameters, with a run or sweep file's values where the command line
    gave none; and a maker of contexts under which an option's error about a value from the
    file names the file."""
    from click.core import ParameterSource

    from harness.run import run_file
    file_values = run_file.read(config_file, command) if config_file else {}
    given = [name for name in ctx.params if ctx.get_parameter_source(name)
             not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)]
    merged = run_file.merge(command, file_values, ctx.params, given,
                            str(config_file) if config_file else "a --config file")
    return merged, lambda: run_file.naming_the_file(config_file, command, file_values, given)


@main.command("run", short_help="Train, evaluate, track and save one model.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None,
              help=CONFIG_HELP.format("run"))
@click.option("--model", default=None,
              help="Model plugin name (see `slrbench list`); required, here or in --config.")
@click.option("--dataset", default="msasl", show_default=True,
              help="Dataset adapter name (see `slrbench list`); the default with --vocab "
                   "100/200/500/1000 is MS-ASL N.")
@click.option("--vocab", type=int, default=None,
              help="Keep the first N signs of the dataset's vocabulary (MS-ASL N: labels < N).")
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.option("--split-seed", type=int, default=0, show_default=True,
              help="Seed of generated splits (kept apart from --seed so seeds share a split).")
@click.option("--epochs", type=int, default=None, help="Override the model's epoch budget.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a model config option; repeatable. `slrbench list --model M` "
                   "shows the options.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=DATA_DIR_HELP)
@click.option("--data-option", "data_options", multiple=True, metavar="KEY=VALUE",
              help=DATA_OPTION_HELP)
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--experiment", default=None, help="MLflow experiment (default DATASET-VOCAB).")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda or auto.")
@click.option("--threads", type=int, default=None,
              help="CPU threads for torch (default: torch's own choice).")
@click.option("--system-metrics/--no-system-metrics", default=False, help=METRICS_HELP)
@click.pass_context
def run_command(ctx, config_file, model, dataset, vocab, seed, split_seed, epochs, sets,
                data_dir, data_options, tracking_uri, experiment, device, threads,
                system_metrics) -> None:
    """Train one model on one dataset, evaluate it on the held-out test split, log
    everything to MLflow and save the model."""
    from harness.run.runner import RunConfig, run_experiment
    o, naming_the_file = _options(ctx, "run", config_file)
    with naming_the_file():
        config = RunConfig(model=o["model"], dataset=o["dataset"], vocab=o["vocab"],
                           seed=o["seed"], split_seed=o["split_seed"], epochs=o["epochs"],
                           overrides=_parse_sets(o["sets"]), data_dir=o["data_dir"],
                           data_options=_parse_sets(o["data_options"], "--data-option"),
                           tracking_uri=o["tracking_uri"], experiment=o["experiment"],
                           device=o["device"], verbose=ctx.obj["verbose"],
                           threads=o["threads"], system_metrics=o["system_metrics"])
        result = run_experiment(config, on_event=lambda message: click.echo(message, err=True))
    m = result.metrics
    click.echo(f"run {result.run_id} in experiment {result.experiment!r}")
    click.echo(f"test top-1 {m['test_top1']:.3f}  top-5 {m['test_top5']:.3f}  "
               f"per-class {m['test_mean_class_accuracy']:.3f}  macro-F1 {m['test_macro_f1']:.3f}")
    parameters = m["parameters"]
    counted = f"{int(parameters):,}" if parameters == parameters else "uncounted"  # NaN: none declared
    click.echo(f"train {m['train_seconds']:.1f} s, {m['latency_ms_p50']:.2f} ms/clip (p50), "
               f"{counted} parameters, peak {m['peak_memory_mb']:.0f} MiB")
    if result.oracle_used:
        click.secho(f"oracle (uses test labels, NOT comparable): top-1 "
                    f"{m['test_oracle_top1']:.3f}", fg="yellow")


@main.command("predict", short_help="Top glosses for new videos or landmark files.")
@click.option("--run", "run_id", required=True, help="MLflow run id of a trained model.")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--top", type=int, default=5, show_default=True, help="How many glosses to show.")
@click.option("--threads", type=int, default=None,
              help="CPU threads for torch (default: torch's own choice).")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
def predict_command(ctx, run_id, tracking_uri, top, threads, files) -> None:
    """Recognise the sign in videos (.mp4, ..., or JPEG frame folders: landmarks are
    extracted with MediaPipe), folders of them, or landmark files (.parquet in the
    asl-signs schema, .npy [frames, 543, 3], .pose of MediaPipe Holistic) with a trained
    model; prints the top glosses with probabilities."""
    from harness.run.predict import predict_files
    for path, ranked in predict_files(run_id, files, tracking_uri, top, ctx.obj["verbose"],
                                      threads):
        click.echo(f"{path}:")
        for gloss, probability in ranked:
            click.echo(f"  {probability:6.1%}  {gloss}")


@main.command("runs", short_help="Finished and running runs in the store.")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--experiment", "experiments", multiple=True, help="Only these experiments.")
@click.option("--clean-stale", is_flag=True,
              help="Mark FAILED the RUNNING runs whose process is gone (killed, crashed).")
def runs_command(tracking_uri, experiments, clean_stale) -> None:
    """List finished runs (id, model, dataset, seed, test top-1), then the runs MLflow shows
    RUNNING: still running, or stale when their process is gone."""
    from harness.run.stale_runs import fail_stale_runs, running_runs
    from harness.run.tracking import load_runs, resolve_uri
    cleaned = fail_stale_runs(tracking_uri, experiments or None) if clean_stale else []
    for run in cleaned:
        click.echo(f"{run.run_id}  marked FAILED: its process (pid {run.pid} on {run.host}) "
                   "is gone")
    runs = load_runs(tracking_uri, experiments or None)
    running = running_runs(tracking_uri, experiments or None)
    if runs.empty and not running and not cleaned:
        click.echo(f"no runs yet in {resolve_uri(tracking_uri)}: try `slrbench run --model "
                   "pooled_logreg --dataset signo`, or pass --tracking-uri")
        return
    lines = [(row["run_id"], row["tags.slrbench.model"],
              f"{row['params.dataset']}-{row['params.vocab_size']}", row["params.seed"],
              f"top-1 {row.get('metrics.test_top1', float('nan')):.3f}")
             for _, row in runs.iterrows()]
    lines += [(run.run_id, run.model, f"{run.dataset}-{run.vocab}", run.seed, run.describe())
              for run in running]
    # columns as wide as their longest entry: model and dataset names vary in length
    model_width = max((len(str(line[1])) for line in lines), default=0)
    data_width = max((len(line[2]) for line in lines), default=0)
    for run_id, model, data, seed, outcome in lines:
        click.echo(f"{run_id}  {model:<{model_width}}  {data:<{data_width}}  "
                   f"seed {seed:<3} {outcome}")


# --- commands of later subsystems are added below, each a thin wrapper ----------------


# --- export: a run's model in a deployment format (harness.run.export) ---------------------
@main.command("export", short_help="A trained model as ONNX or TFLite.")
@click.option("--run", "run_id", required=True, help="MLflow run id of a trained model.")
@click.option("--format", "fmt", default="tflite", show_default=True,
              help="Export format: tflite or onnx, where the run's model offers it (a "
                   "refusal names the models that do). The JSON sidecar says what the "
                   "graph takes and returns.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file, ending in the format's suffix (.tflite, .onnx), or an "
                   "existing folder to write into. Default: MODEL-RUNID.SUFFIX in the "
                   "current folder: the run's model name, the first 12 characters of its "
                   "run id, the format's suffix. The JSON sidecar goes beside it, under "
                   "the same name ending .json.")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.pass_context
def export_command(ctx, run_id, fmt, out, tracking_uri) -> None:
    """Export a trained model for on-device use (TFLite or ONNX); a JSON sidecar beside it
    says how to build the input from landmarks and names the output classes."""
    from harness.run.export import export_run
    path = export_run(run_id, fmt, out, tracking_uri, ctx.obj["verbose"])
    click.echo(f"exported run {run_id} as {fmt}: {path}")


# --- report: MLflow runs -> one self-contained HTML page (harness.report) --------------
@main.command("report", short_help="One offline HTML comparison of the runs.")
@click.option("--experiment", "experiments", multiple=True,
              help="Only these experiments (repeatable; default all).")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports/comparison.html"),
              show_default=True, help="The HTML file; NAME.csv and NAME.tex go beside it.")
@click.option("--title", default=None, help="Page title.")
@click.option("--sota", "sota_path", type=click.Path(path_type=Path), default=None,
              help="State-of-the-art table (default datasets/sota.csv).")
def report_command(experiments, tracking_uri, out, title, sota_path) -> None:
    """Write one offline HTML comparison of the tracked runs (tables, figures, key-frame
    gallery, state of the art, provenance) plus the summary as CSV and LaTeX."""
    from harness.report.build import ReportConfig, build_report
    config = ReportConfig(out=out, tracking_uri=tracking_uri, experiments=tuple(experiments),
                          sota_path=sota_path, **({"title": title} if title else {}))
    files = build_report(config, on_event=lambda message: click.echo(message, err=True))
    click.echo(files.summary)


# --- sweep: grids of runs on a process pool or Ray (harness.sweep.plan) ---------------------
@main.command("sweep", short_help="A grid of runs over models, vocabularies and seeds.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None,
              help=CONFIG_HELP.format("sweep"))
@click.option("--models", default=None,
              help="Comma-separated model names; required, here or in --config.")
@click.option("--dataset", "datasets", default="msasl", show_default=True,
              help="Dataset name(s), comma-separated.")
@click.option("--vocab", "vocabs", default=None,
              help="Vocabulary sizes, e.g. 100,200,500,1000 (default: the whole vocabulary).")
@click.option("--seeds", default="3", show_default=True,
              help="A count N (seeds 0..N-1) or a list such as 0,1,2 (one seed 7: '7,').")
@click.option("--split-seed", type=int, default=0, show_default=True,
              help="Seed of generated splits, the same for every run of the grid.")
@click.option("--epochs", type=int, default=None,
              help="Epoch budget of the models that train by epochs.")
@click.option("--set", "sets", multiple=True, metavar="[MODEL.]KEY=VALUE",
              help="Config override for every model with that option, or MODEL.KEY for one.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=DATA_DIR_HELP)
@click.option("--data-option", "data_options", multiple=True, metavar="KEY=VALUE",
              help=DATA_OPTION_HELP)
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="local: a process pool on this machine; ray: Ray tasks (extra [ray]), on "
                   "a local instance or the cluster at --address.")
@click.option("--address", default=None,
              help="Ray cluster address (default: start a local Ray instance).")
@click.option("--max-parallel", type=int, default=None,
              help="Runs at once (local default: CPU cores / --cpus-per-run).")
@click.option("--cpus-per-run", type=float, default=1.0, show_default=True,
              help="CPUs each run gets: its threads on the local backend (at most this "
                   "machine's), its Ray resource with --backend ray.")
@click.option("--gpus-per-run", type=float, default=0.0, show_default=True,
              help="GPUs each Ray task declares.")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda or auto.")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--dry-run/--no-dry-run", default=False,
              help="Show which runs would run or be skipped (--no-dry-run: run them, "
                   "though the --config file says dry-run).")
@click.option("--system-metrics/--no-system-metrics", default=False, help=METRICS_HELP)
@click.pass_context
def sweep_command(ctx, config_file, models, datasets, vocabs, seeds, split_seed, epochs, sets,
                  data_dir, data_options, backend, address, max_parallel, cpus_per_run,
                  gpus_per_run, device, tracking_uri, dry_run, system_metrics) -> None:
    """Run a grid models x datasets x vocabularies x seeds, skipping the runs MLflow
    already has (rerun the same command to resume), and print mean ± std per cell."""
    from rich.console import Console

    from harness.sweep import plan as sweep

    from harness.sweep import view as sweep_view
    o, naming_the_file = _options(ctx, "sweep", config_file)
    with naming_the_file():
        config = sweep.SweepConfig(
            models=o["models"], datasets=o["datasets"], vocabs=sweep.parse_vocabs(o["vocabs"]),
            seeds=sweep.parse_seeds(o["seeds"]), overrides=_parse_sets(o["sets"]),
            epochs=o["epochs"], split_seed=o["split_seed"], data_dir=o["data_dir"],
            data_options=_parse_sets(o["data_options"], "--data-option"),
            tracking_uri=o["tracking_uri"],
            backend=o["backend"], address=o["address"], max_parallel=o["max_parallel"],
            cpus_per_run=o["cpus_per_run"], gpus_per_run=o["gpus_per_run"],
            device=o["device"], verbose=ctx.obj["verbose"],
            system_metrics=o["system_metrics"])
    dry_run = o["dry_run"]
    say = lambda message: click.echo(message, err=True)  # noqa: E731
    console = Console(width=max(100, Console().width))
    if dry_run:
        with naming_the_file():
            result = sweep.collect(sweep.plan_grid(config, say, record=False))
        counts = result.counts
        console.print(sweep_view.summary_table(result, f"dry run: {counts.get('pending', 0)} "
                                               f"to run, {counts.get('skipped', 0)} already "
                                               "in MLflow (skipped)"))
        return
    try:
        with naming_the_file():     # e.g. a file's vocab larger than the dataset's
            result = sweep.run_grid(config, on_event=say)
    except sweep.SweepInterrupted as stop:
        console.print(sweep_view.summary_table(stop.result))
        click.secho("interrupted: finished runs are kept in MLflow; run the same command "
                    "again to do the rest", fg="yellow", err=True)
        _exit_after_interrupt(stop.exit_code)
    console.print(sweep_view.summary_table(result))
    for line in sweep_view.failure_lines(result):
        click.secho(line, fg="red", err=True)
    click.echo(f"runs in {result.tracking_uri} ({result.seconds:.0f} s)")
    if not result.complete:
        click.secho("some runs failed; rerun the same command to retry only those",
                    fg="yellow", err=True)
        sys.exit(1)


# --- data: MS-ASL slicing (harness.data), fetching clips, extracting landmarks (harness.extract)
@main.group("data", short_help="Slice MS-ASL, fetch clips, extract landmarks.")
def data_group() -> None:
    """Datasets from videos to landmarks: slice MS-ASL, fetch its clips, extract landmarks."""


SPLIT_CHOICE = click.Choice(["train", "val", "test"])


@data_group.command("slice", short_help="MS-ASL N's annotation files per split.")
@click.option("--dataset", type=click.Choice(["msasl"]), default="msasl", show_default=True)
@click.option("--vocab", type=int, required=True, help="Keep classes 0..N-1 (MS-ASL N).")
@click.option("--split", "splits", multiple=True, type=SPLIT_CHOICE,
              help="Only these splits (repeatable; default all that exist).")
@click.option("--annotations", type=click.Path(path_type=Path), default=None,
              help="Folder of Microsoft's MSASL_*.json (default: datasets/downloads/msasl, "
                   "then the shared copy).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where MSASL<N>_<split>.json go (default datasets/downloads/msasl).")
def data_slice(dataset, vocab, splits, annotations, out) -> None:
    """Write MS-ASL N (labels < N) per split and print its clip, class and signer counts."""
    from harness.data import msasl_annotations as msasl
    sliced = msasl.load_slice(vocab, annotations, tuple(splits) or msasl.SPLITS)
    written = msasl.write_slice(sliced, out or msasl.default_slice_dir())
    click.echo(f"MS-ASL{vocab} from {sliced.folder}:")
    for row in sliced.counts().itertuples():
        click.echo(f"  {row.split:<5} {row.clips:>6,} clips  {row.classes:>5} classes  "
                   f"{row.signers:>3} signers")
    for split in sliced.missing:
        click.echo(f"  {split:<5} skipped: {msasl.split_file(split)} is not in "
                   f"{sliced.folder} (part of Microsoft's full release)")
    click.echo(f"wrote {', '.join(str(p) for p in written)}")


@data_group.command("fetch", short_help="Download and trim MS-ASL clips (resumable).")
@click.option("--dataset", type=click.Choice(["msasl"]), default="msasl", show_default=True)
@click.option("--vocab", type=int, required=True, help="Fetch MS-ASL N (labels < N).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for <clip_id>.mp4, index.csv and the reports.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Concurrent downloads (default 4).")
@click.option("--split", "splits", multiple=True, type=SPLIT_CHOICE,
              help="Only these splits (repeatable; default all that exist).")
@click.option("--crop", is_flag=True, help="Crop each clip to the annotated signer box.")
@click.option("--retries", type=click.IntRange(min=0), default=None,
              help="Retries of a transient failure.")
@click.option("--annotations", type=click.Path(path_type=Path), default=None,
              help="Folder of Microsoft's MSASL_*.json.")
def data_fetch(dataset, vocab, out, workers, splits, crop, retries, annotations) -> None:
    """Download MS-ASL clips with yt-dlp, cut to the annotated times (resumable)."""
    import dataclasses

    from harness.extract import fetch

    from harness.data import msasl_annotations as msasl
    config = fetch.FetchConfig(crop=crop)
    if workers is not None:
        config = dataclasses.replace(config, workers=workers)
    if retries is not None:
        config = dataclasses.replace(config, retries=retries)
    summary = fetch.fetch_msasl(vocab, out, tuple(splits) or msasl.SPLITS, annotations, config)
    click.echo(f"MS-ASL{vocab} clips in {summary.out}: {summary.fetched} fetched now, "
               f"{summary.present} already there, {summary.failed} failed "
               f"({summary.seconds:.0f} s)")
    for row in summary.per_split.itertuples():
        click.echo(f"  {row.split:<5} {row.obtained:>6,}/{row.planned:,} clips  "
                   f"{row.classes_obtained:>5}/{row.classes} classes")
    for split in summary.missing_splits:
        click.echo(f"  {split:<5} skipped: {msasl.split_file(split)} not available")
    if summary.failures_csv:
        click.echo(f"failures (clip, url, reason): {summary.failures_csv}")
    click.echo(f"per-class counts: {summary.out / fetch.SUMMARY_FILE}")
    click.echo(f"next: slrbench data extract --dataset msasl --videos {summary.out}")


@data_group.command("extract",
                    short_help="Videos to a landmark store with MediaPipe (resumable).")
@click.option("--videos", type=click.Path(path_type=Path), required=True,
              help="Folder of videos (or JPEG frame folders) with an index CSV; with "
                   "--dataset, that dataset's folder (e.g. the GSL root).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="The landmark store to write (default datasets/stores/<name>).")
@click.option("--index", "index_file", type=click.Path(path_type=Path), default=None,
              help="CSV with file,gloss[,signer,split,start_frame,end_frame] (default "
                   "index.csv, else labels.csv, in --videos).")
@click.option("--dataset", default=None,
              help="A registered dataset that plans its own extraction (e.g. gsl, msasl): "
                   "its layout, official vocabulary and frame windows.")
@click.option("--annotations", type=click.Path(path_type=Path), default=None,
              help="Folder of the dataset's split/class files (with --dataset).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes running MediaPipe (default: one per CPU core).")
@click.option("--keep-parts", is_flag=True, help="Keep the per-clip files after packing.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Process pool here, or Ray actors (extra [ray]); on a "
                                      "multi-machine cluster the store folder must be shared.")
@click.option("--address", default=None,
              help="Ray cluster address (default: a local Ray instance).")
@click.option("--format", "fmt", type=click.Choice(["store", "pose"]), default="store",
              show_default=True, help="pose: also write one .pose file per clip (pose-format, "
                                      "extra [pose]) into STORE.pose/, with an index.csv.")
@click.option("--verbose", "local_verbose", is_flag=True, help="Show MediaPipe's own logs.")
@click.pass_context
def data_extract(ctx, videos, out, index_file, dataset, annotations, workers, keep_parts,
                 backend, address, fmt, local_verbose) -> None:
    """MediaPipe Holistic on every frame -> a landmark store (resumable, parallel)."""
    from harness.extract import pipeline as extract
    from harness.specs import ExtractionRequest
    plan = extract.plan_extraction(videos, dataset, ExtractionRequest(index_file, annotations))
    out = out or extract.default_store(plan.dataset)
    config = extract.ExtractConfig(workers=workers or 0, keep_parts=keep_parts,
                                   verbose=local_verbose or ctx.obj["verbose"],
                                   backend=backend, address=address,
                                   write_pose=fmt == "pose")
    if plan.note:
        click.echo(plan.note, err=True)
    summary = extract.extract_store(plan.index, out, plan.vocab, plan.dataset, config)
    speed = (f" ({summary.frames:,} frames, {summary.frames_per_second:.1f} frames/s, "
             f"{summary.workers} workers)" if summary.extracted else "")
    click.echo(f"{summary.clips} clips: {summary.extracted} extracted now{speed}, "
               f"{summary.resumed} resumed, {summary.reused} already in the store, "
               f"{summary.failed} failed ({summary.seconds:.0f} s)")
    if summary.errors_csv:
        click.secho(f"unreadable clips are listed in {summary.errors_csv}", fg="yellow",
                    err=True)
    if summary.signs_left_out:
        click.secho(f"signs with no readable clip, left out of the vocabulary: "
                    f"{', '.join(summary.signs_left_out)}", fg="yellow", err=True)
    click.echo(f"store: {summary.store}")
    if summary.pose_dir:
        click.echo(f"pose files: {summary.pose_dir} (index.csv inside)")
    click.echo(f"use it: slrbench run --model pooled_logreg --dataset "
               f"{plan.dataset if dataset else 'landmarks'} --data-dir {summary.store}")


if __name__ == "__main__":
    main()
