"""Honest vs oracle top-1 of the key-frame MLP on the shipped landmark sets, over seeds.

The original study chose each clip's key frames, and which stage answers, by the
probability of the clip's TRUE label (SEED-METHOD.md); slrbench's prediction never sees a
label. Each run here trains keyframe_mlp with ``selection=oracle``, so one model gives both
numbers on the same test clips: ``test_top1`` (honest: frames chosen by the highest
probability over all classes) and ``test_oracle_top1`` (the original protocol). Datasets:
asl-signs, signo, and the asl8 landmark store (train signer S1, test S2-S5) when
``datasets/stores/asl8`` exists; seeds 0..N-1 on one split.

    python benchmarks/honest_vs_oracle.py [--quick] [--seeds N] [--epochs E]
        [--stages 1,2] [--datasets a,b] [--tracking-uri URI]
"""
from __future__ import annotations

import numpy as np
from common import argument_parser, default_tracking_uri, report

from harness.util.paths import data_root
from harness.run.runner import RunConfig, run_experiment
from harness.data.store import is_store

EPOCHS = 30          # per stage; early stopping (patience 10) ends most runs sooner


def dataset_fields(name: str) -> dict | None:
    if name == "asl8":
        store = data_root() / "stores" / "asl8"
        return {"dataset": "landmarks", "data_dir": store} if is_store(store) else None
    return {"dataset": name}


def main() -> None:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per stage")
    parser.add_argument("--stages", default="2", help="stage counts to compare, e.g. 1,2")
    parser.add_argument("--datasets", default="asl-signs,signo,asl8")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs = 1, 2
    uri = args.tracking_uri or default_tracking_uri()
    runs, summary = [], []
    for name in args.datasets.split(","):
        fields = dataset_fields(name)
        if fields is None:
            print(f"{name}: no landmark store at datasets/stores/{name}, skipped")
            continue
        for stages in args.stages.split(","):
            honest, oracle = [], []
            for seed in range(args.seeds):
                print(f"{name}, {stages} stage(s), seed {seed} ...", flush=True)
                result = run_experiment(RunConfig(
                    model="keyframe_mlp", seed=seed, epochs=args.epochs, tracking_uri=uri,
                    overrides={"selection": "oracle", "stages": stages}, latency_clips=0,
                    threads=1,
                    tags={"slrbench.benchmark": "honest_vs_oracle"}, **fields))
                honest.append(result.metrics["test_top1"])
                oracle.append(result.metrics["test_oracle_top1"])
                runs.append({"dataset": name, "stages": int(stages), "seed": seed,
                             "honest_top1": honest[-1], "oracle_top1": oracle[-1],
                             "gap": oracle[-1] - honest[-1],
                             "split": result.split_hash[:12]})
                print(f"  honest {honest[-1]:.3f}  oracle {oracle[-1]:.3f}", flush=True)
            summary.append({"dataset": name, "stages": int(stages), "seeds": len(honest),
                            "honest_mean": float(np.mean(honest)),
                            "honest_std": float(np.std(honest)),
                            "oracle_mean": float(np.mean(oracle)),
                            "oracle_std": float(np.std(oracle)),
                            "gap_mean": float(np.mean(oracle) - np.mean(honest))})
    params = {"epochs": args.epochs, "seeds": args.seeds, "quick": args.quick}
    report("honest_vs_oracle-runs", "keyframe_mlp test top-1 per seed: honest vs oracle "
           "(oracle reads the test labels)", runs, ("dataset", "stages", "seed"), uri, params)
    report("honest_vs_oracle", f"keyframe_mlp honest vs oracle top-1, mean over {args.seeds} "
           f"seeds (epochs <= {args.epochs} per stage)", summary, ("dataset", "stages"), uri,
           params)


if __name__ == "__main__":
    main()
