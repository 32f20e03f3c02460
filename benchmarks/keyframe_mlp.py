"""keyframe_mlp: accuracy, training speed, inference latency and memory at scale.

Three tables, each printed and logged to MLflow (``benchmarks/common.py``):

1. accuracy: top-1/top-5 on every shipped landmark set (asl-signs, signo, and the asl8
   store ``datasets/stores/asl8`` when it exists) for 1, 2 and 3 stages and the
   ``train_key=argmax`` variant, beside the pooled_logreg baseline on the same split, with
   training seconds per epoch and the runner's single-clip latency (p50/p95), all with one
   torch thread;
2. latency: milliseconds per 60-frame clip on one core, one clip per call (p50/p95 of
   wall time, and of the thread's CPU time, which other processes on a shared machine do
   not inflate) and batched, for 1-3 stages at 100 and 1000 classes (random weights:
   weights do not change the cost);
3. scale: a generated set of MS-ASL-1000 size (``synthetic``, 1000 signs x 20 clips, about
   13k training clips of about 60 frames): seconds to build and standardise the features
   of train and val, seconds per epoch of MLP1 and MLP2 (training + validation; wall and
   process CPU time), and the process's peak memory (RSS, and its anonymous part: the
   store's clips are read as copies, so file pages no longer inflate RSS).

Targets: < 5 ms per 60-frame clip on one core; < 60 s per epoch on 2 cores; < 4 GiB peak.

    python benchmarks/keyframe_mlp.py [--quick] [--epochs E] [--datasets a,b]
        [--stages 1,2,3] [--skip accuracy,latency,scale] [--scale-clips N]
        [--scale-epochs E] [--threads 1,2] [--seed S] [--tracking-uri URI]
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from common import argument_parser, default_tracking_uri, report

from harness.adapters.synthetic import _templates, generate_clip
from harness.data.clips import ArrayLandmarks, ClipSet
from harness.run.loading import load_clipset, make_request
from harness.util.paths import data_root
from harness.run.resources import PeakMemory, rss_bytes
from harness.run.runner import RunConfig, run_experiment
from harness.specs import RunContext
from harness.data.store import is_store
from harness.run.tracking import client
from plugins.keyframe_mlp import KeyframeMLP, KeyframeMLPConfig
from plugins.keyframe_mlp.features import FEATURE_DIM
from plugins.keyframe_mlp.frames import Standardiser

EPOCHS = 30              # per stage; early stopping (patience 10) ends most runs sooner
SCALE_CLASSES = 1000
SCALE_CLIPS = 20         # per class: about 13k training clips after the signer split
LATENCY_CLIPS = 200
GIB = 2 ** 30


# --- 1. accuracy on the shipped sets ----------------------------------------------------

def dataset_fields(name: str) -> dict | None:
    if name == "asl8":
        store = data_root() / "stores" / "asl8"
        return {"dataset": "landmarks", "data_dir": store} if is_store(store) else None
    return {"dataset": name}


def variants(stages: list[int]) -> list[tuple[str, dict]]:
    rows = [("pooled_logreg", {})]
    rows += [("keyframe_mlp", {"stages": str(s)}) for s in stages]
    if 2 in stages:
        rows.append(("keyframe_mlp", {"stages": "2", "train_key": "argmax"}))
    return rows


def accuracy_rows(datasets: list[str], stages: list[int], epochs: int, seed: int,
                  uri: str) -> list[dict]:
    rows = []
    for name in datasets:
        fields = dataset_fields(name)
        if fields is None:
            print(f"{name}: no landmark store at datasets/stores/{name}, skipped")
            continue
        for model, overrides in variants(stages):
            keyframe = model == "keyframe_mlp"
            print(f"{model} {overrides} on {name} ...", flush=True)
            result = run_experiment(RunConfig(
                model=model, seed=seed, epochs=epochs if keyframe else None,
                overrides=overrides, tracking_uri=uri, latency_clips=50, threads=1,
                tags={"slrbench.benchmark": "keyframe_mlp"}, **fields))
            metrics = client(uri)[0].get_run(result.run_id).data.metrics
            epochs_run = sum(metrics.get(f"mlp{k}_epochs_run", 0.0) for k in range(1, 4))
            rows.append({
                "dataset": name, "model": model,
                "variant": ",".join(f"{k}={v}" for k, v in overrides.items()) or "-",
                "top1": metrics["test_top1"], "top5": metrics["test_top5"],
                "train_s": metrics["train_seconds"],
                "epochs_run": epochs_run if keyframe else float("nan"),
                "s_per_epoch": metrics["train_seconds"] / epochs_run if epochs_run else
                float("nan"),
                "latency_p50_ms": metrics["latency_ms_p50"],
                "latency_p95_ms": metrics["latency_ms_p95"],
                "batch_ms_per_clip": metrics["test_batch_ms_per_clip"],
                "split": result.split_hash[:12]})
            print(f"  top-1 {rows[-1]['top1']:.3f}", flush=True)
    return rows


# --- 2. inference latency ---------------------------------------------------------------

def sixty_frame_clips(count: int, num_classes: int, seed: int = 0) -> ClipSet:
    rng = np.random.default_rng(seed)
    templates = _templates(rng)
    klass = {"active": (True, True), "freq": 1.5,
             "start": rng.uniform(0.3, 0.7, (2, 3)).astype(np.float32),
             "end": rng.uniform(0.3, 0.7, (2, 3)).astype(np.float32),
             "wiggle": rng.uniform(0, 0.05, (2, 3)).astype(np.float32),
             "shape": rng.normal(0, 0.04, (2, 21, 3)).astype(np.float32),
             "bend": rng.normal(0, 1, (2, 21, 3)).astype(np.float32)}
    signer = {"scale": 1.0, "shift": np.zeros(2, np.float32), "dropout": 0.1}
    arrays = [generate_clip(rng, klass, signer, 60, templates, 0.02) for _ in range(count)]
    meta = pd.DataFrame({"clip_id": [str(i) for i in range(count)], "gloss": "sign0",
                         "label": 0, "split": "test", "signer": "s", "fps": 30.0,
                         "n_frames": 60, "source": "benchmark"})
    vocab = tuple(f"sign{c}" for c in range(num_classes))
    return ClipSet("latency", meta, vocab, landmarks=ArrayLandmarks(arrays))


def untrained(stages: int, vocab: tuple[str, ...]) -> KeyframeMLP:
    model = KeyframeMLP(KeyframeMLPConfig(stages=stages, threads=1), vocab)
    model.nets = [model._new_net(k).eval() for k in range(1, stages + 1)]
    model.standardiser = Standardiser(np.zeros(FEATURE_DIM, np.float32),
                                      np.ones(FEATURE_DIM, np.float32))
    return model


def latency_rows(stages: list[int], count: int) -> list[dict]:
    torch.set_num_threads(1)
    rows = []
    for num_classes in (100, 1000):
        clips = sixty_frame_clips(count, num_classes).unlabelled()
        for stage_count in stages:
            model = untrained(stage_count, tuple(f"s{c}" for c in range(num_classes)))
            model.predict_proba(clips.subset([0]))               # warm-up
            single, cpu = [], []
            for i in range(count):
                one = clips.subset([i])
                start, start_cpu = time.perf_counter(), time.thread_time()
                model.predict_proba(one)
                single.append(time.perf_counter() - start)
                cpu.append(time.thread_time() - start_cpu)
            start = time.perf_counter()
            model.predict_proba(clips)
            batched = (time.perf_counter() - start) / count
            rows.append({"classes": num_classes, "stages": stage_count, "frames": 60,
                         "p50_ms": 1000 * float(np.percentile(single, 50)),
                         "p95_ms": 1000 * float(np.percentile(single, 95)),
                         "cpu_p50_ms": 1000 * float(np.percentile(cpu, 50)),
                         "cpu_p95_ms": 1000 * float(np.percentile(cpu, 95)),
                         "batched_ms": 1000 * batched,
                         "parameters": model.num_parameters()})
            print(f"  {num_classes} classes, {stage_count} stages: "
                  f"p50 {rows[-1]['p50_ms']:.2f} ms", flush=True)
    return rows


# --- 3. MS-ASL-1000 scale ---------------------------------------------------------------

def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class AnonymousPeak(PeakMemory):
    """Peak of the process's anonymous memory (RssAnon): what it allocated itself.

    Plain RSS also counts the memory-mapped landmark store's pages, which the kernel
    drops under pressure; at MS-ASL-1000 size the store alone is several GiB.
    """

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _status_kib("RssAnon") * 1024)
            self._stop.wait(self.interval)

    def __enter__(self) -> "AnonymousPeak":
        super().__enter__()
        self.peak = _status_kib("RssAnon") * 1024
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status_kib("RssAnon") * 1024)


class EpochClock:
    """A RunContext progress factory that timestamps every stage start and epoch end.

    Each mark holds wall time and process CPU time: with one torch thread the CPU time is
    what the epoch costs without other processes competing for the cores.
    """

    def __init__(self):
        self.marks: list[tuple[str, float, float]] = []

    def __call__(self, total, description):
        clock = self

        class Bar:
            def __enter__(self):
                clock.marks.append((f"start {description}", time.perf_counter(),
                                    time.process_time()))
                return self

            def __exit__(self, *exc):
                pass

            def advance(self, n: int = 1):
                clock.marks.append((description, time.perf_counter(), time.process_time()))

            def set_description(self, text: str):
                pass
        return Bar()

    def epoch_seconds(self, stage: int, cpu: bool = False) -> list[float]:
        name = f"keyframe_mlp mlp{stage}"
        times = [mark[2 if cpu else 1] for mark in self.marks
                 if mark[0] in (name, f"start {name}")]
        return list(np.diff(times))


def scale_rows(clips_per_class: int, epochs: int, threads: list[int], seed: int) -> list[dict]:
    print(f"loading synthetic {SCALE_CLASSES} x {clips_per_class} (generated once, cached) ...",
          flush=True)
    request = make_request(vocab=SCALE_CLASSES, options={"clips_per_class": clips_per_class})
    clips, _ = load_clipset("synthetic", request)
    train, val = clips.split("train"), clips.split("val")
    frames = int(train.meta["n_frames"].sum())
    rows = []
    for count in threads:
        config = KeyframeMLPConfig(stages=2, epochs=epochs, threads=count)
        model = KeyframeMLP(config, clips.vocab)
        clock = EpochClock()
        context = RunContext(seed=seed, progress_factory=clock)
        print(f"fitting on {len(train)} clips ({frames} frames, x2 mirrored), "
              f"{count} thread(s) ...", flush=True)
        before, anon_before = rss_bytes(), _status_kib("RssAnon") * 1024
        start = time.perf_counter()
        with PeakMemory() as memory, AnonymousPeak() as anonymous:
            model.fit(train, val, context)
        total = time.perf_counter() - start
        first_stage = next(mark[1] for mark in clock.marks
                           if mark[0] == "start keyframe_mlp mlp1")
        mlp1, mlp2 = clock.epoch_seconds(1), clock.epoch_seconds(2)
        cpu1, cpu2 = clock.epoch_seconds(1, cpu=True), clock.epoch_seconds(2, cpu=True)
        rows.append({"threads": count, "train_clips": len(train), "val_clips": len(val),
                     "train_frames": frames, "mean_frames": frames / len(train),
                     "features_s": first_stage - start,
                     "mlp1_s_per_epoch": float(np.mean(mlp1)),
                     "mlp2_s_per_epoch": float(np.mean(mlp2)),
                     "mlp1_cpu_s_per_epoch": float(np.mean(cpu1)),
                     "mlp2_cpu_s_per_epoch": float(np.mean(cpu2)),
                     "fit_s": total, "rss_before_gib": before / GIB,
                     "anon_before_gib": anon_before / GIB,
                     "peak_rss_gib": memory.peak / GIB,
                     "peak_anon_gib": anonymous.peak / GIB})
        print(f"  MLP1 {rows[-1]['mlp1_s_per_epoch']:.1f} s/epoch, MLP2 "
              f"{rows[-1]['mlp2_s_per_epoch']:.1f} s/epoch, peak anonymous "
              f"{rows[-1]['peak_anon_gib']:.2f} GiB", flush=True)
        del model
    return rows


def main() -> None:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per stage")
    parser.add_argument("--datasets", default="asl-signs,signo,asl8")
    parser.add_argument("--stages", default="1,2,3")
    parser.add_argument("--skip", default="", help="tables to leave out: accuracy,latency,scale")
    parser.add_argument("--scale-clips", type=int, default=SCALE_CLIPS,
                        help="clips per class of the MS-ASL-1000-size synthetic set")
    parser.add_argument("--scale-epochs", type=int, default=2,
                        help="epochs per stage timed at scale")
    parser.add_argument("--threads", default="1,2", help="torch threads tried at scale")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    stages = [int(s) for s in args.stages.split(",")]
    latency_clips = LATENCY_CLIPS
    if args.quick:
        args.epochs, args.scale_clips, args.scale_epochs, latency_clips = 2, 2, 1, 20
    skip = set(filter(None, args.skip.split(",")))
    uri = args.tracking_uri or default_tracking_uri()
    params = {"epochs": args.epochs, "seed": args.seed, "quick": args.quick,
              "torch": torch.__version__}
    if "accuracy" not in skip:
        rows = accuracy_rows(args.datasets.split(","), stages, args.epochs, args.seed, uri)
        report("keyframe_mlp-accuracy", f"keyframe_mlp vs baseline (test split, epochs "
               f"<= {args.epochs} per stage)", rows, ("dataset", "model", "variant"), uri,
               params)
    if "latency" not in skip:
        rows = latency_rows(stages, latency_clips)
        report("keyframe_mlp-latency", "inference per 60-frame clip, 1 thread (target < 5 ms)",
               rows, ("classes", "stages"), uri, params)
    if "scale" not in skip:
        rows = scale_rows(args.scale_clips, args.scale_epochs,
                          [int(t) for t in args.threads.split(",")], args.seed)
        report("keyframe_mlp-scale", f"MS-ASL-1000-size synthetic set ({args.scale_clips} "
               "clips/class; targets < 60 s/epoch on 2 cores, < 4 GiB)", rows, ("threads",),
               uri, {**params, "scale_clips": args.scale_clips,
                     "scale_epochs": args.scale_epochs})


if __name__ == "__main__":
    main()
