"""Deployment benchmark: conv_transformer in PyTorch, ONNX Runtime and TFLite, one thread.

A conv_transformer with the default configuration is trained briefly on the shipped signo
set (latency and file size do not depend on how long it trains), exported to ONNX and to
TFLite, and each runtime answers the same real clips: signo's test clips, each played
twice in a row to 60 frames, and the same clips stretched to 256 frames (the longest the
model reads). Per runtime: file size, p50 / p95 milliseconds per clip on one thread, and
agreement with PyTorch (top-1 equal, largest probability difference). TFLite runs
twice: through LiteRT's default XNNPACK kernels and through its reference kernels.

Targets (issue: the landmark state-of-the-art model): under 10 ms per 60-frame clip on one
core, a file under 40 MB, exported answers within 1e-4 of PyTorch's.

    python benchmarks/export.py [--quick] [--epochs E] [--tracking-uri URI]
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from common import argument_parser, report

from harness.api import RunContext, torch_compute
from harness.run.loading import load_clipset, make_request
from plugins.conv_transformer.config import ConvTransformerConfig
from plugins.conv_transformer.export import OnnxRunner
from plugins.conv_transformer.features import select
from plugins.conv_transformer.model import ConvTransformerModel
from plugins.conv_transformer.tflite import TfliteRunner


def timed(predict, clips: list[np.ndarray], repeats: int) -> tuple[np.ndarray, list[float]]:
    """``predict`` over the clips one by one, ``repeats`` times; the answers of the last
    pass and every single call's milliseconds."""
    times, answers = [], None
    for _ in range(repeats):
        answers = []
        for clip in clips:
            start = time.perf_counter()
            answers.append(predict(clip))
            times.append((time.perf_counter() - start) * 1000)
    return np.stack(answers), times


def stretched(clip: np.ndarray, frames: int) -> np.ndarray:
    return clip[np.arange(frames) * len(clip) // frames]


def main() -> None:
    parser = argument_parser(__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    clips, _ = load_clipset("signo", make_request())
    test = clips.split("test")
    count = 12 if args.quick else 60
    picked = [test.clip(i) for i in range(min(count, len(test)))]
    config = ConvTransformerConfig(epochs=1 if args.quick else args.epochs)
    model = ConvTransformerModel(config, clips.num_classes, clips.vocab)
    model.fit(clips.split("train"), clips.split("val"), RunContext(seed=0))
    repeats = 1 if args.quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as folder, torch_compute(1):
        files = {"onnx": model.export(Path(folder) / "m.onnx", "onnx"),
                 "tflite": model.export(Path(folder) / "m.tflite", "tflite")}
        weights = Path(folder) / "weights"
        model.save(weights)
        # LiteRT twice: its default XNNPACK kernels (chosen for the CPU) and its reference
        # ones (the same arithmetic everywhere), which the parity test holds
        runners = {"onnx": (OnnxRunner(files["onnx"]), files["onnx"]),
                   "tflite": (TfliteRunner(files["tflite"], config.max_frames),
                              files["tflite"]),
                   "tflite-reference": (TfliteRunner(files["tflite"], config.max_frames,
                                                     kernels="reference"), files["tflite"])}
        for frames in (60, 256):
            batch = [stretched(np.concatenate([c, c]), frames) for c in picked]
            torch_proba, torch_ms = timed(
                lambda c: model.predict_rows([model.rows(select(c))])[0], batch, repeats)
            runtimes = {"pytorch": (torch_proba, torch_ms,
                                    sum(f.stat().st_size for f in weights.iterdir()))}
            for name, (runner, file) in runners.items():
                runtimes[name] = (*timed(runner, batch, repeats), file.stat().st_size)
            for name, (proba, ms, size) in runtimes.items():
                rows.append({
                    "runtime": name, "frames": frames, "clips": len(batch),
                    "file_MB": size / 2**20,
                    "ms_p50": float(np.percentile(ms, 50)),
                    "ms_p95": float(np.percentile(ms, 95)),
                    "top1_agree": float((proba.argmax(1) == torch_proba.argmax(1)).mean()),
                    "max_abs_diff": float(np.abs(proba - torch_proba).max())})
    report("export", "conv_transformer deployment: one thread in every runtime", rows,
           ("runtime", "frames"),
           args.tracking_uri, {"epochs": config.epochs, "quick": args.quick})


if __name__ == "__main__":
    main()
