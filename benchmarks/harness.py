"""Harness benchmark: store load time at MS-ASL-1000 size, and the baseline on shipped sets.

Target: once packed, a synthetic MS-ASL-1000-size store (1000 classes, ~13k training clips,
~60 frames mean) is open, memory-mapped and ready for training in under 2 s. Beside it: one
full pass reading every clip (what a model's feature pass costs in I/O), with the process's
RSS after it, which stays flat because clips are read as copies, not held as mapped pages.

    python benchmarks/harness.py [--quick] [--tracking-uri URI]
"""
from __future__ import annotations

import time

from common import argument_parser, default_tracking_uri, report

from harness.run.loading import load_clipset, make_request
from harness.run.resources import rss_bytes
from harness.run.runner import RunConfig, run_experiment

SHIPPED = ("asl-signs", "signo")


def store_load(vocab: int, options: dict) -> dict:
    request = make_request(vocab=vocab, options=options)
    start = time.perf_counter()
    load_clipset("synthetic", request)  # builds the store the first time
    first = time.perf_counter() - start
    start = time.perf_counter()
    clips, manifest = load_clipset("synthetic", request)
    ready = time.perf_counter() - start
    rss_before = rss_bytes()
    start = time.perf_counter()
    frames_read = sum(len(clips.clip(i)) for i in range(len(clips)))
    full_pass = time.perf_counter() - start
    frames = int(clips.meta["n_frames"].sum())
    gib = frames * 543 * 3 * 4 / 2**30
    return {"what": f"synthetic-{vocab} store", "clips": len(clips),
            "train_clips": manifest.counts()["train"], "frames": frames,
            "mean_frames": frames / len(clips), "GiB": gib,
            "first_load_s": first, "load_ready_s": ready, "target_s": 2.0,
            "full_pass_s": full_pass, "read_GiB_per_s": gib / full_pass,
            "frames_read": frames_read,
            "rss_growth_in_pass_MiB": (rss_bytes() - rss_before) / 2**20}


def baseline(dataset: str, uri: str) -> dict:
    result = run_experiment(RunConfig(model="pooled_logreg", dataset=dataset, tracking_uri=uri))
    m = result.metrics
    return {"what": f"pooled_logreg on {dataset}", "test_top1": m["test_top1"],
            "test_top5": m["test_top5"], "per_class": m["test_mean_class_accuracy"],
            "train_s": m["train_seconds"], "ms_per_clip_p50": m["latency_ms_p50"],
            "split": result.split_hash[:12]}


def main() -> None:
    args = argument_parser(__doc__).parse_args()
    uri = args.tracking_uri or default_tracking_uri()
    options = {"clips_per_class": "2", "mean_frames": "60"} if args.quick else {}
    vocab = 100 if args.quick else 1000
    report("harness-store", "packed store at MS-ASL-1000 size (target: ready in < 2 s)",
           [store_load(vocab, options)], ("what",), uri, {"quick": args.quick})
    report("harness-baseline", "pooled_logreg baseline on the shipped real sets",
           [baseline(dataset, uri) for dataset in SHIPPED], ("what",), uri)


if __name__ == "__main__":
    main()
