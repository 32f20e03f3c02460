"""A run's saved model as an MLflow model: a ``pyfunc`` flavour over slrbench's own layout.

The runner saves ``model/slrbench.json`` and ``model/weights/``; this module adds
``model/MLmodel`` (+ environment files) beside them, so the same directory is both what
``slrbench predict`` reads and an MLflow model that ``mlflow.pyfunc.load_model`` and
``mlflow models serve`` load. The flavour names this module as its loader: MLflow calls
:func:`_load_pyfunc` with the model directory, which rebuilds the model through the plugin
registry exactly as ``slrbench predict`` does. Nothing is pickled.

Input: one clip per call, float32 landmarks ``[T, 543, 3]`` (NaN where a part was not found;
JSON ``null`` becomes NaN), or for a video model uint8 frames ``[T, H, W, 3]``. Output: one
row with the top gloss and its probability, the top-5 glosses and probabilities, and the
probability of every class in vocabulary order (the vocabulary is in the MLmodel metadata).
"""
from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.clips import N_LANDMARKS, ArrayLandmarks, ClipSet
from harness.errors import BadLandmarks, BadVideo, SlrbenchError
from harness.run.tracking import LoadedModel, load_model_directory

TOP = 5
OUTPUT_COLUMNS = ("gloss", "probability", "top_glosses", "top_probabilities", "probabilities")


def signature(inputs: str):
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Array, ColSpec, DataType, Schema, TensorSpec
    if inputs == "video":
        spec = TensorSpec(np.dtype(np.uint8), (-1, -1, -1, 3), "video")
    else:
        spec = TensorSpec(np.dtype(np.float32), (-1, N_LANDMARKS, 3), "landmarks")
    outputs = Schema([ColSpec(DataType.string, "gloss"), ColSpec(DataType.double, "probability"),
                      ColSpec(Array(DataType.string), "top_glosses"),
                      ColSpec(Array(DataType.double), "top_probabilities"),
                      ColSpec(Array(DataType.double), "probabilities")])
    return ModelSignature(inputs=Schema([spec]), outputs=outputs)


def _requirements() -> list[str]:
    names = ("mlflow", "slrbench", "numpy", "pandas", "torch", "scikit-learn")
    pinned = []
    for name in names:
        try:
            pinned.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pinned


def add_mlflow_model(model_dir: Path, info: dict, run_id: str | None = None) -> None:
    """Make ``model_dir`` (holding slrbench.json and weights/) an MLflow pyfunc model."""
    import mlflow.pyfunc
    from mlflow.models import Model
    from mlflow.utils.environment import _PythonEnv

    model_dir = Path(model_dir)
    model = Model(artifact_path=model_dir.name, run_id=run_id,
                  signature=signature(info.get("inputs", "landmarks")),
                  metadata={"slrbench_model": info["model"], "dataset": info["dataset"],
                            "split_hash": info.get("split_hash", ""),
                            "vocab": list(info["vocab"])})
    (model_dir / "requirements.txt").write_text("\n".join(_requirements()) + "\n",
                                                encoding="utf-8")
    _PythonEnv(dependencies=["-r requirements.txt"]).to_yaml(model_dir / "python_env.yaml")
    mlflow.pyfunc.add_to_model(model, loader_module=__name__, python_env="python_env.yaml")
    model.save(str(model_dir / "MLmodel"))


class ArrayVideos:
    """Decoded frames held in memory, for a video model fed through MLflow."""

    def __init__(self, videos: list[np.ndarray]):
        self.videos = videos

    def video(self, i: int) -> np.ndarray:
        return self.videos[i]


class SlrbenchPyfunc:
    """What MLflow's pyfunc wraps: ``predict(clip) -> DataFrame`` over a loaded model."""

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.inputs = loaded.info.get("inputs", "landmarks")

    def _array(self, model_input) -> np.ndarray:
        if isinstance(model_input, dict):
            key = "video" if self.inputs == "video" else "landmarks"
            if key not in model_input:
                raise BadLandmarks(f"input has {sorted(model_input)}; send {key!r}")
            model_input = model_input[key]
        if isinstance(model_input, pd.DataFrame):
            raise BadLandmarks("send the clip as a tensor ({'inputs': [[[x, y, z], ...], ...]}),"
                               " not as a DataFrame")
        return np.asarray(model_input)

    def clipset(self, model_input) -> ClipSet:
        array = self._array(model_input)
        vocab = tuple(self.loaded.vocab)
        meta = pd.DataFrame({"clip_id": ["input0"], "gloss": "", "label": -1, "split": "test",
                             "signer": "", "fps": 30.0, "n_frames": [len(array)], "source": ""})
        if self.inputs == "video":
            if array.ndim != 4 or array.shape[-1] != 3 or len(array) == 0:
                raise BadVideo(f"video of shape {array.shape}; send uint8 frames [T, H, W, 3]")
            return ClipSet(name="input", meta=meta, vocab=vocab,
                           videos=ArrayVideos([array.astype(np.uint8, copy=False)]))
        from harness.data.store import validate_clip
        from harness.run.predict import as_trained
        clip = validate_clip(array.astype(np.float32, copy=False), "MLflow model input")
        clip = as_trained(clip, self.loaded.info.get("lacks") or (), "MLflow model input")
        return ClipSet(name="input", meta=meta, vocab=vocab, landmarks=ArrayLandmarks([clip]))

    def predict(self, model_input, params=None) -> pd.DataFrame:
        try:
            clips = self.clipset(model_input)
        except SlrbenchError as error:
            # as the caller's mistake (HTTP 400 with this message when served), not as an
            # unexpected error whose text is buried in a traceback
            from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from None
        from harness.run.predict import probabilities
        try:
            proba = probabilities(self.loaded, clips, ["MLflow model input"])
        except SlrbenchError as error:
            # the model's fault, not the caller's (HTTP 500), said in one line
            from mlflow.exceptions import MlflowException
            raise MlflowException(str(error)) from None
        return predictions_frame(proba, self.loaded.vocab)


def predictions_frame(proba: np.ndarray, vocab) -> pd.DataFrame:
    vocab = np.asarray(list(vocab), dtype=object)
    order = np.argsort(-proba, axis=1)[:, :TOP]
    return pd.DataFrame({
        "gloss": vocab[order[:, 0]].tolist(),
        "probability": proba[np.arange(len(proba)), order[:, 0]],
        "top_glosses": [vocab[row].tolist() for row in order],
        "top_probabilities": [p[row].tolist() for p, row in zip(proba, order)],
        "probabilities": [p.tolist() for p in proba],
    }, columns=list(OUTPUT_COLUMNS))


def _load_pyfunc(path: str) -> SlrbenchPyfunc:
    """MLflow's entry point: ``path`` is the model directory (the flavour has no data dir)."""
    return SlrbenchPyfunc(load_model_directory(Path(path), f"MLflow model {path}"))
