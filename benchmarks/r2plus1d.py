"""R(2+1)D on real signing video: asl8 (8 signs), signer-independent (train S1, test S2-S5).

Two inputs side by side: the RGB videos (``--dataset videos``) and, when the asl8 landmark
store exists (``datasets/stores/asl8``, made by ``slrbench data extract``), its landmarks
drawn as skeleton videos (``--set input=skeleton``) next to the landmark baseline on the
very same store and split hash. On CPU the network is a small configuration of
R(2+1)D-18 (a fraction of the channels, fewer and smaller frames); on a GPU pass
``--width 1 --frames 16 --size 112`` for the paper's network. A last row times one
forward pass of the full-size network (16 x 112 x 112) on this machine.

    python benchmarks/r2plus1d.py [--quick] [--epochs N] [--width W] [--frames T] [--size S]
                                  [--threads N] [--tracking-uri URI]
"""
from __future__ import annotations

import time

from common import ROOT, argument_parser, default_tracking_uri, report

from harness.util.paths import data_root, shared_datasets
from harness.run.runner import RunConfig, run_experiment, resolve_device
from harness.data.store import is_store

VIDEOS = shared_datasets() / "asl8-videos"
STORE_NAME = "asl8"


def row(what: str, result, inputs: str) -> dict:
    m = result.metrics
    return {"what": what, "input": inputs, "test_top1": m["test_top1"],
            "test_top5": m["test_top5"], "per_class": m["test_mean_class_accuracy"],
            "macro_f1": m["test_macro_f1"], "val_top1": m["val_top1"],
            "train_s": m["train_seconds"], "ms_per_clip_p50": m["latency_ms_p50"],
            "parameters": m["parameters"], "split": result.split_hash[:12]}


def full_size_forward(device: str) -> dict:
    """Seconds for one 3 x 16 x 112 x 112 clip through R(2+1)D-18 (400 classes)."""
    import torch

    from plugins.r2plus1d.network import R2Plus1D
    network = R2Plus1D(400).eval().to(device)
    clip = torch.randn(1, 3, 16, 112, 112, device=device)
    with torch.no_grad():
        network(clip)  # warm-up
        start = time.perf_counter()
        network(clip)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return {"what": "R(2+1)D-18 full size, one forward pass", "input": "16x112x112",
            "ms_per_clip_p50": 1000 * seconds,
            "parameters": float(sum(p.numel() for p in network.parameters()))}


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default=str(data_root() / "stores" / STORE_NAME),
                        help="the asl8 landmark store for the skeleton variant")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice; 1 is far faster "
                             "on a CPU other jobs share: threads of 3D convs spin-wait)")
    args = parser.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.quick:
        args.epochs, args.width, args.frames, args.size = 2, 0.125, 4, 32
    uri = args.tracking_uri or default_tracking_uri()
    overrides = {"width": str(args.width), "frames": str(args.frames), "size": str(args.size)}
    common = dict(model="r2plus1d", epochs=args.epochs, seed=args.seed, tracking_uri=uri)

    rows = []
    result = run_experiment(RunConfig(dataset="videos", data_dir=VIDEOS,
                                      overrides=overrides, **common))
    rows.append(row("r2plus1d on asl8 videos", result, "video"))
    if is_store(args.store):
        result = run_experiment(RunConfig(dataset="landmarks", data_dir=args.store,
                                          overrides={**overrides, "input": "skeleton"},
                                          **common))
        rows.append(row("r2plus1d on asl8 landmarks", result, "skeleton"))
        result = run_experiment(RunConfig(model="pooled_logreg", dataset="landmarks",
                                          data_dir=args.store, seed=args.seed,
                                          tracking_uri=uri))
        rows.append(row("pooled_logreg on asl8 landmarks", result, "landmarks"))
    else:
        print(f"no landmark store at {args.store}: skeleton variant skipped "
              f"(build it with `slrbench data extract --videos {VIDEOS}`)")
    if not args.quick:
        rows.append(full_size_forward(resolve_device("auto")))
    report("r2plus1d", "R(2+1)D on asl8, train S1 / test S2-S5", rows, ("what",), uri,
           {**overrides, "epochs": args.epochs, "seed": args.seed, "quick": args.quick,
            "threads": args.threads or "default", "root": str(ROOT)})


if __name__ == "__main__":
    main()
