"""Every registered landmark model on every landmark dataset at hand, in one table.

Models: pooled_logreg, keyframe_mlp, lstm, spoter, conv_transformer and R(2+1)D on skeleton
renderings of the landmarks (a small configuration), each where registered. Datasets:

- ``asl-signs`` and ``signo``: the shipped real sets;
- ``asl8``: the real asl8 videos' landmarks, the store ``datasets/stores/asl8`` built by
  ``slrbench data extract`` (train signer S1, test S2-S5), when it exists;
- ``synthetic-1000``: generated landmarks at MS-ASL-1000 size (1000 classes; 20 clips per
  class by default; ``--synthetic-clips`` reduces it for every model, so that they
  still share one split). Models listed in ``SLOW_ON_LARGE`` train there on fewer clips
  per class, which the table's ``clips/class`` column says.

R(2+1)D, a video network fed skeleton renderings, costs minutes per epoch on a few CPU
cores even in its small configuration: it runs on the small sets (asl-signs, asl8) and,
with ``--heavy`` (meant for a GPU), on signo and the synthetic set too.

Columns are read back from the MLflow run each ``run_experiment`` logs: test top-1 and
top-5, mean per-class accuracy, training seconds, single-clip latency (p50) and batched
milliseconds per test clip, parameters and peak memory. Configurations are modest (an
epoch budget, small widths where a model's default is large) so that the whole table runs
on a laptop CPU; pass ``--epochs`` and ``--set model.key=value`` for more.

    python benchmarks/models.py [--quick] [--models a,b] [--datasets a,b] [--epochs E]
                                [--synthetic-clips N] [--set MODEL.KEY=VALUE ...] [--heavy]
                                [--threads N] [--seed S] [--tracking-uri URI]
"""
from __future__ import annotations

import time
from pathlib import Path

from common import argument_parser, default_tracking_uri, report

from harness import registry
from harness.util.config import field_names
from harness.errors import SlrbenchError
from harness.util.paths import data_root
from harness.run.runner import RunConfig, run_experiment
from harness.data.store import is_store
from harness.run.tracking import client

MODELS = ("pooled_logreg", "keyframe_mlp", "lstm", "spoter", "conv_transformer", "r2plus1d")
DATASETS = ("asl-signs", "signo", "asl8", "synthetic-1000")
EPOCHS = 30
# Modest configurations: R(2+1)D small and on skeleton videos (it is a video model),
# SPOTER with 2 + 2 layers instead of the paper's 6 + 6.
CONFIGS = {
    "r2plus1d": {"input": "skeleton", "width": "0.25", "frames": "8", "size": "64"},
    "spoter": {"encoder_layers": "2", "decoder_layers": "2", "feedforward": "512"},
}
SYNTHETIC_CLASSES = 1000
SYNTHETIC_CLIPS = 20              # MS-ASL 1000 has about 13 training clips per class
SLOW_ON_LARGE = {"r2plus1d": 4}  # clips per class at most (its split then differs)
HEAVY = {("r2plus1d", "signo"), ("r2plus1d", "synthetic-1000")}   # only with --heavy
METRICS = {                      # table column -> metric the runner logs
    "top1": "test_top1", "top5": "test_top5", "per_class": "test_mean_class_accuracy",
    "train_s": "train_seconds", "ms_per_clip": "latency_ms_p50",
    "batch_ms_per_clip": "test_batch_ms_per_clip", "parameters": "parameters",
    "peak_mb": "peak_memory_mb",
}


def dataset_runs(name: str, store: Path, synthetic_clips: int, model: str) -> dict | None:
    """RunConfig fields for one dataset row (None: the dataset is not available here)."""
    if name == "asl8":
        if not is_store(store):
            return None
        return {"dataset": "landmarks", "data_dir": store}
    if name.startswith("synthetic"):
        clips = min(synthetic_clips, SLOW_ON_LARGE.get(model, synthetic_clips))
        return {"dataset": "synthetic", "vocab": SYNTHETIC_CLASSES,
                "data_options": {"clips_per_class": str(clips)}}
    return {"dataset": name}


def overrides_for(model: str, sets: dict[str, str]) -> dict[str, str]:
    values = dict(CONFIGS.get(model, {}))
    for key, value in sets.items():
        target, _, option = key.partition(".")
        if option and target == model:
            values[option] = value
    return values


def read_back(uri: str, run_id: str) -> dict[str, float]:
    mlflow_client, _ = client(uri)
    metrics = mlflow_client.get_run(run_id).data.metrics
    return {column: metrics.get(key, float("nan")) for column, key in METRICS.items()}


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic-clips", type=int, default=SYNTHETIC_CLIPS,
                        help="clips per class of the synthetic MS-ASL-1000-size set")
    parser.add_argument("--store", type=Path, default=data_root() / "stores" / "asl8",
                        help="the asl8 landmark store (train S1, test S2-S5)")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        metavar="MODEL.KEY=VALUE", help="config override for one model")
    parser.add_argument("--heavy", action="store_true",
                        help="also run " + ", ".join(f"{m} on {d}" for m, d in sorted(HEAVY)))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for models without their own setting (on "
                             "shared cores more threads spin against each other; 0: torch's)")
    args = parser.parse_args()
    if args.threads > 0:
        import torch
        torch.set_num_threads(args.threads)
    if args.quick:
        args.epochs, args.synthetic_clips = 2, 4
    uri = args.tracking_uri or default_tracking_uri()
    sets = dict(item.split("=", 1) for item in args.sets)
    known = registry.models()
    models = [m for m in args.models.split(",") if m in known]
    skipped = [m for m in args.models.split(",") if m not in known]
    if skipped:
        print(f"not registered, skipped: {', '.join(skipped)}")

    rows = []
    for dataset in args.datasets.split(","):
        for model in models:
            if (model, dataset) in HEAVY and not args.heavy:
                print(f"{model} on {dataset}: skipped (hours on a shared CPU; --heavy runs it)")
                continue
            fields = dataset_runs(dataset, args.store, args.synthetic_clips, model)
            if fields is None:
                print(f"{dataset}: no landmark store at {args.store}, skipped (build it with "
                      "`slrbench data extract`)")
                break
            spec = known[model]
            epochs = args.epochs if "epochs" in field_names(spec.config) else None
            config = RunConfig(model=model, seed=args.seed, epochs=epochs,
                               overrides=overrides_for(model, sets), tracking_uri=uri,
                               tags={"slrbench.benchmark": "models"}, **fields)
            row = {"model": model, "dataset": dataset,
                   "clips/class": fields.get("data_options", {}).get("clips_per_class", "")}
            print(f"{model} on {dataset} ...", flush=True)
            start = time.perf_counter()
            try:
                result = run_experiment(config)
            except (SlrbenchError, MemoryError) as error:
                rows.append({**row, "error": str(error)[:80]})
                print(f"  failed: {error}")
                continue
            row.update(read_back(uri, result.run_id))
            row["wall_s"] = time.perf_counter() - start
            row["split"] = result.split_hash[:12]
            rows.append(row)
            print(f"  top-1 {row['top1']:.3f} in {row['wall_s']:.0f} s", flush=True)
    report("models", "Landmark models x datasets (test split)", rows, ("model", "dataset"),
           uri, {"epochs": args.epochs, "seed": args.seed, "quick": args.quick,
                 "synthetic_clips": args.synthetic_clips, "heavy": args.heavy,
                 "threads": args.threads,
                 "configs": repr({m: overrides_for(m, sets) for m in models})})


if __name__ == "__main__":
    main()
