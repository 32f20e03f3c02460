"""Seed variance: mean ± std over seeds of every landmark model on the shipped real sets.

A grid pooled_logreg (and keyframe_mlp, lstm, spoter, conv_transformer where registered,
with a modest epoch budget) x {asl-signs, signo} x 3 seeds, run with ``harness.sweep.plan``
into the benchmark store, so the published report can show mean ± std over at least 3
seeds per cell. The sweep is resumable: runs already in the store (same model, data, split
and config) are skipped, so rerunning after a crash or Ctrl-C only does what is missing.

    python benchmarks/seeds.py [--quick] [--epochs E] [--seeds N] [--models a,b]
                               [--backend local|ray] [--max-parallel K] [--tracking-uri URI]
"""
from __future__ import annotations

import sys

from common import argument_parser, default_tracking_uri, report

from harness import registry
from harness.util.config import field_names
from harness.sweep.plan import SweepConfig, SweepInterrupted, run_grid
from harness.util.stats import format_mean_std

MODELS = ("pooled_logreg", "keyframe_mlp", "lstm", "spoter", "conv_transformer")
DATASETS = ("asl-signs", "signo")
EPOCHS = 30          # modest: enough for these small sets, early stopping ends most sooner
QUICK_EPOCHS = 1


def rows_of(summary) -> list[dict]:
    rows = []
    for _, cell in summary.iterrows():
        rows.append({
            "model": cell["model"], "dataset": cell["dataset"], "vocab": int(cell["vocab"]),
            "seeds": int(cell["seeds"]),
            "top-1": format_mean_std(cell["test_top1_mean"], cell["test_top1_std"]),
            "top-5": format_mean_std(cell["test_top5_mean"], cell["test_top5_std"]),
            "test_top1_mean": cell["test_top1_mean"], "test_top1_std": cell["test_top1_std"],
            "test_top5_mean": cell["test_top5_mean"], "test_top5_std": cell["test_top5_std"],
            "macro_f1_mean": cell["test_macro_f1_mean"],
            "train_s_mean": cell["train_seconds_mean"]})
    return rows


def main() -> int:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help="models to sweep (those not registered are left out)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epoch budget of the neural models (default {EPOCHS}; "
                             f"{QUICK_EPOCHS} with --quick)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per cell")
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    parser.add_argument("--max-parallel", type=int, default=None)
    args = parser.parse_args()

    known = registry.models()
    models = tuple(m for m in args.models.split(",") if m.strip() in known)
    missing = sorted(set(args.models.split(",")) - set(models))
    if missing:
        print(f"not registered, left out: {', '.join(missing)}", file=sys.stderr)
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS)
    trains_by_epochs = any("epochs" in field_names(known[m].config) for m in models)
    uri = args.tracking_uri or default_tracking_uri()
    config = SweepConfig(models=models, datasets=DATASETS, seeds=tuple(range(args.seeds)),
                         epochs=epochs if trains_by_epochs else None, tracking_uri=uri,
                         backend=args.backend, max_parallel=args.max_parallel)
    try:
        result = run_grid(config, on_event=lambda message: print(message, file=sys.stderr))
    except SweepInterrupted as stop:
        print(f"interrupted after {stop.result.counts}; rerun to finish", file=sys.stderr)
        return stop.exit_code
    report("seeds", f"test accuracy, mean ± std over {args.seeds} seeds (epochs {epochs})",
           rows_of(result.summary), ("model", "dataset", "vocab"), uri,
           params={"models": ",".join(models), "datasets": ",".join(DATASETS),
                   "seeds": args.seeds, "epochs": epochs, "backend": args.backend})
    for _, run in result.failed.iterrows():
        print(f"{run['status']}: {run['model']} on {run['dataset']} seed {run['seed']}: "
              f"{run['error']}", file=sys.stderr)
    return 0 if result.complete else 1


if __name__ == "__main__":  # spawned sweep workers import this file: run only as a script
    sys.exit(main())
