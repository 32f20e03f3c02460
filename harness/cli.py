"""The ``slrbench`` command line: parse, call, print. No logic lives here."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.errors import SlrbenchError

TRACKING_HELP = ("MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns.db "
                 "in the current directory).")


class FriendlyGroup(click.Group):
    """Reports user errors as one line (exit 2) instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SlrbenchError as error:
            click.secho(f"error: {error}", fg="red", err=True)
            sys.exit(2)


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
        from harness.quiet import silence_native_logs
        silence_native_logs()


def _parse_sets(items) -> dict[str, str]:
    from harness.config import parse_set_options
    return parse_set_options(items)


@main.command("list")
@click.option("--model", "model_name", default=None, help="Show one model's config options.")
def list_command(model_name: str | None) -> None:
    """List every registered model and dataset (built-in and third-party plugins)."""
    from harness import registry
    from harness.config import describe
    if model_name:
        spec = registry.model(model_name)
        click.echo(f"{spec.name} ({spec.inputs}): {spec.summary}\n\noptions (--set key=value):")
        for name, kind, default in describe(spec.config):
            click.echo(f"  {name:<22} {kind:<10} default {default!r}")
        return
    click.echo("models:")
    for spec in registry.models().values():
        click.echo(f"  {spec.name:<16} [{spec.inputs}] {spec.summary}")
    click.echo("datasets:")
    for spec in registry.datasets().values():
        click.echo(f"  {spec.name:<16} {spec.summary}")


@main.command("run")
@click.option("--model", required=True, help="Model plugin name (see `slrbench list`).")
@click.option("--dataset", default="asl-signs", show_default=True,
              help="Dataset adapter name (see `slrbench list`).")
@click.option("--vocab", type=int, default=None,
              help="Keep the first N signs of the dataset's vocabulary (MS-ASL N: labels < N).")
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.option("--split-seed", type=int, default=0, show_default=True,
              help="Seed of generated splits (kept apart from --seed so seeds share a split).")
@click.option("--epochs", type=int, default=None, help="Override the model's epoch budget.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a model config option; repeatable. `slrbench list --model M` "
                   "shows the options.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where the dataset lives (default: the adapter's shipped location).")
@click.option("--data-option", "data_options", multiple=True, metavar="KEY=VALUE",
              help="Dataset adapter option, e.g. clips_per_class=5 for synthetic.")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--experiment", default=None, help="MLflow experiment (default DATASET-VOCAB).")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda or auto.")
@click.pass_context
def run_command(ctx, model, dataset, vocab, seed, split_seed, epochs, sets, data_dir,
                data_options, tracking_uri, experiment, device) -> None:
    """Train one model on one dataset, evaluate it on the held-out test split, log
    everything to MLflow and save the model."""
    from harness.runner import RunConfig, run_experiment
    config = RunConfig(model=model, dataset=dataset, vocab=vocab, seed=seed,
                       split_seed=split_seed, epochs=epochs, overrides=_parse_sets(sets),
                       data_dir=data_dir, data_options=_parse_sets(data_options),
                       tracking_uri=tracking_uri, experiment=experiment, device=device,
                       verbose=ctx.obj["verbose"])
    result = run_experiment(config, on_event=lambda message: click.echo(message, err=True))
    m = result.metrics
    click.echo(f"run {result.run_id} in experiment {result.experiment!r}")
    click.echo(f"test top-1 {m['test_top1']:.3f}  top-5 {m['test_top5']:.3f}  "
               f"per-class {m['test_mean_class_accuracy']:.3f}  macro-F1 {m['test_macro_f1']:.3f}")
    click.echo(f"train {m['train_seconds']:.1f} s, {m['latency_ms_p50']:.2f} ms/clip (p50), "
               f"{int(m['parameters']):,} parameters, peak {m['peak_memory_mb']:.0f} MiB")
    if result.oracle_used:
        click.secho(f"oracle (uses test labels, NOT comparable): top-1 "
                    f"{m['test_oracle_top1']:.3f}", fg="yellow")


@main.command("predict")
@click.option("--run", "run_id", required=True, help="MLflow run id of a trained model.")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--top", type=int, default=5, show_default=True, help="How many glosses to show.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def predict_command(run_id, tracking_uri, top, files) -> None:
    """Recognise the sign in landmark files (.parquet in the asl-signs schema, .npy
    [frames, 543, 3]) with a trained model; prints the top glosses with probabilities."""
    from harness.predict import predict_files
    for path, ranked in predict_files(run_id, files, tracking_uri, top):
        click.echo(f"{path}:")
        for gloss, probability in ranked:
            click.echo(f"  {probability:6.1%}  {gloss}")


@main.command("runs")
@click.option("--tracking-uri", default=None, help=TRACKING_HELP)
@click.option("--experiment", "experiments", multiple=True, help="Only these experiments.")
def runs_command(tracking_uri, experiments) -> None:
    """List finished runs: id, experiment, model, seed, test top-1."""
    from harness.tracking import load_runs
    runs = load_runs(tracking_uri, experiments or None)
    if runs.empty:
        click.echo("no runs yet: try `slrbench run --model pooled_logreg --dataset signo`")
        return
    for _, row in runs.iterrows():
        click.echo(f"{row['run_id']}  {row['tags.slrbench.model']:<14} "
                   f"{row['params.dataset']}-{row['params.vocab_size']:<6} "
                   f"seed {row['params.seed']:<3} top-1 {row.get('metrics.test_top1', float('nan')):.3f}")


# --- commands of later subsystems are added below, each a thin wrapper ----------------


if __name__ == "__main__":
    main()
