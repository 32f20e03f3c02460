"""TFLite export: the ONNX graph's computation, converted from PyTorch by litert-torch.

litert-torch lowers the torch graph straight to a TFLite flatbuffer, so the model stays one
PyTorch model (no TensorFlow rewrite in its path). Its lowering cannot keep the number of
frames dynamic, so each entry point (signature) has fixed-size inputs instead:

- ``landmarks`` float32 ``[buffer, 543, 3]``: the clip's raw Holistic landmarks in its
  first frames, anything after them (ignored);
- ``frames`` int32 ``[1]``: how many frames the clip has.

Each returns ``probabilities`` ``[1, classes]``, the ONNX graph's output name.

Inside, the clip is subsampled to at most ``slots`` frames exactly as the model does, the
slots past it become padding the network masks, and the rest is the same torch code as
training (features.py). ``clip`` (``max_frames`` slots, a ``4 * max_frames`` buffer) takes
any clip: a longer one is first subsampled to the buffer (:func:`buffer_input`), and since
the buffer is a whole multiple of ``max_frames`` that picks the model's own frames.
``short`` (64 slots and frames) answers clips of up to 64 frames in a quarter of the time.
The sidecar says which to use and how to fill it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness.api import N_LANDMARKS, SlrbenchError
from plugins.conv_transformer.export import (OUTPUT, RawLandmarksModel, answers,
                                             graph_description, quiet_conversion,
                                             sidecar_path, write_json, writing_export)
from plugins.conv_transformer.features import subsample_index

LANDMARKS, FRAMES = "landmarks", "frames"
LOGGERS = ("litert_torch", "torchao", "absl")      # what litert-torch and its imports log to
BUFFER_FACTOR = 4
SHORT_FRAMES = 64


@dataclass(frozen=True)
class Signature:
    """One entry point of the file: the network reads ``slots`` frames from a landmark
    buffer of ``buffer`` frames. The network's time grows with ``slots``, so short clips
    get their own, smaller entry point (the answer is the same: padding never counts)."""
    name: str
    slots: int
    buffer: int

    def takes(self, frames: int) -> bool:
        """Whether a clip of ``frames`` frames gets the model's answer here: a buffer
        larger than the slots subsamples any clip as the model does; one the size of
        the slots holds only clips that fit."""
        return self.buffer > self.slots or frames <= self.buffer


def signatures(max_frames: int) -> list[Signature]:
    """``short`` for clips of at most 64 frames (when the model reads more), then ``clip``
    for any clip (at most ``4 * max_frames`` frames as given, longer ones subsampled)."""
    full = Signature("clip", max_frames, BUFFER_FACTOR * max_frames)
    if max_frames <= SHORT_FRAMES:
        return [full]
    return [Signature("short", SHORT_FRAMES, SHORT_FRAMES), full]


def signature_for(frames: int, max_frames: int) -> Signature:
    return next(s for s in signatures(max_frames) if s.takes(frames))


class FixedLengthModel(RawLandmarksModel):
    """``landmarks [buffer, 543, 3]`` + ``frames [1]`` -> ``[1, classes]`` probabilities,
    every step at a fixed size: the clip subsampled to at most ``slots`` frames as the
    model does (``i * T // slots``), the slots past it padding the network masks."""

    def __init__(self, net: nn.Module, config, signature: Signature,
                 lacks: tuple[str, ...] = ()):
        super().__init__(net, config, signature.slots, lacks)
        self.buffer = signature.buffer

    def forward(self, landmarks: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        length = frames.reshape(()).to(torch.int64).clamp(min=1, max=self.buffer)
        kept = length.clamp(max=self.max_frames)
        slot = torch.arange(self.max_frames, device=landmarks.device)
        valid = slot < kept
        index = torch.where(valid, slot * length // kept, torch.zeros_like(slot))
        points = self.subset_points(landmarks).index_select(0, index)
        points = torch.where(valid[:, None, None], points,
                             torch.full_like(points, float("nan")))
        return self.answer(points, valid)


class NamedOutput(nn.Module):
    """A fixed-length model whose signature output is named as the sidecar names it:
    litert-torch names the outputs after the keys of a returned dict, ``output_0`` for a
    bare tensor."""

    def __init__(self, model: FixedLengthModel):
        super().__init__()
        self.model = model

    def forward(self, landmarks: torch.Tensor, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        return {OUTPUT: self.model(landmarks, frames)}


def buffer_input(clip: np.ndarray, signature: Signature) -> dict[str, np.ndarray]:
    """A raw ``[T, 543, 3]`` clip as the named inputs of ``signature``; a clip longer than
    its buffer subsampled to it first, which picks the model's frames because the buffer
    is a whole multiple of the slots."""
    clip = np.asarray(clip, dtype=np.float32)
    if len(clip) > signature.buffer:
        clip = clip[subsample_index(len(clip), signature.buffer)]
    buffer = np.full((signature.buffer, N_LANDMARKS, 3), np.nan, dtype=np.float32)
    buffer[:len(clip)] = clip
    return {LANDMARKS: buffer, FRAMES: np.array([len(clip)], dtype=np.int32)}


def export_tflite(model, path: Path) -> Path:
    cfg = model.config
    with quiet_conversion(*LOGGERS):
        try:
            import litert_torch
        except ImportError as error:
            raise SlrbenchError(f"TFLite export needs the [tflite] extra ({error.name} is "
                                "missing): pip install -e '.[tflite]'") from None
    empty = np.zeros((1, N_LANDMARKS, 3), np.float32)
    converter = None
    with writing_export(model, path) as (graph, side), quiet_conversion(*LOGGERS):
        for signature in signatures(cfg.max_frames):
            fixed = NamedOutput(FixedLengthModel(model.net, cfg, signature,
                                                 model.lacks)).eval()
            example = {k: torch.from_numpy(v) for k, v in buffer_input(empty, signature).items()}
            add = converter.signature if converter else litert_torch.signature
            converter = add(signature.name, fixed, sample_kwargs=example)
        converter.convert().export(str(graph))
        write_json(side, _sidecar(model))
    return Path(path)


def _sidecar(model) -> dict:
    entry_points = [{
        "signature": sig.name,
        "use_for": (f"clips of at most {sig.buffer} frames" if sig.buffer == sig.slots
                    else "any clip"),
        "inputs": {
            LANDMARKS: {"shape": [sig.buffer, N_LANDMARKS, 3], "dtype": "float32",
                        "fill": "the clip's frames first, anything after them (ignored)"
                                + ("" if sig.buffer == sig.slots else
                                   f"; a longer clip first subsampled to {sig.buffer} "
                                   f"frames: frame i * T // {sig.buffer}")},
            FRAMES: {"shape": [1], "dtype": "int32", "meaning": "the clip's frame count"}},
    } for sig in signatures(model.config.max_frames)]
    return {"signatures": entry_points, **graph_description(model)}


# what each ``kernels`` name asks LiteRT for (an OpResolverType member)
RESOLVERS = {"xnnpack": "AUTO", "reference": "BUILTIN_REF"}


class TfliteRunner:
    """An exported file loaded once in the LiteRT interpreter on one thread; a raw
    ``[T, 543, 3]`` clip in, its ``[classes]`` probabilities out, through the signature
    meant for its length.

    ``kernels``: ``xnnpack``, LiteRT's default and what a device runs, whose kernels are
    picked for the CPU it finds; ``reference``, LiteRT's plain C++ reference kernels, the
    same arithmetic on every CPU. The default interpreter on one CI host disagreed with
    PyTorch on some real clips of a file that converts byte for byte the same here, which
    no CPU at hand reproduced; so the parity test holds the reference kernels to PyTorch's
    answers and reports the default's agreement on the CPU it runs on."""

    def __init__(self, path: Path, max_frames: int, kernels: str = "xnnpack"):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        if kernels not in RESOLVERS:
            raise ValueError(f"kernels must be one of {tuple(RESOLVERS)}, not {kernels!r}")
        resolver = getattr(OpResolverType, RESOLVERS[kernels])
        self.max_frames = max_frames
        interpreter = Interpreter(model_path=str(path), num_threads=1,
                                  experimental_op_resolver_type=resolver)
        self.runners = {sig.name: interpreter.get_signature_runner(sig.name)
                        for sig in signatures(max_frames)}

    def __call__(self, clip: np.ndarray) -> np.ndarray:
        signature = signature_for(len(clip), self.max_frames)
        result = self.runners[signature.name](**buffer_input(clip, signature))
        return next(iter(result.values()))[0].copy()


def tflite_predict_proba(path: Path, clips: list[np.ndarray], max_frames: int,
                         kernels: str = "xnnpack") -> np.ndarray:
    """Run an exported file on raw ``[T, 543, 3]`` clips, one at a time."""
    return answers(TfliteRunner(path, max_frames, kernels), clips)
