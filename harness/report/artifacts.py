"""What the report reads from each run beyond its params and metrics: artifacts and curves.

Everything is optional per run (a run logged by an older harness may lack an artifact);
a missing piece comes back as None and the report says what it could not show.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from harness.run.tracking import MODEL_ARTIFACT, MODEL_INFO, client

# Metrics the runner logs once per run; only plugin curves have histories worth reading.
ONE_SHOT_PREFIXES = ("test_",)
ONE_SHOT = {"train_seconds", "peak_memory_mb", "parameters", "latency_ms_p50",
            "latency_ms_p95", "val_top1", "val_top5", "val_mean_class_accuracy",
            "val_macro_f1"}


class RunArtifacts:
    """Downloads a run's artifacts once into ``work_dir`` and parses them."""

    def __init__(self, uri: str, work_dir: Path):
        self.client, self.uri = client(uri)
        self.work_dir = Path(work_dir)

    def _download(self, run_id: str, path: str) -> Path | None:
        target = self.work_dir / run_id
        local = target / path
        if local.exists():
            return local
        target.mkdir(parents=True, exist_ok=True)
        try:
            return Path(self.client.download_artifacts(run_id, path, str(target)))
        except Exception:  # noqa: BLE001 - mlflow raises several types for a missing file
            return None

    def confusion(self, run_id: str) -> np.ndarray | None:
        path = self._download(run_id, "confusion.csv")
        if path is None:
            return None
        matrix = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
        return matrix if matrix.shape[0] == matrix.shape[1] else None

    def vocab(self, run_id: str) -> list[str] | None:
        path = self._download(run_id, f"{MODEL_ARTIFACT}/{MODEL_INFO}")
        if path is None:
            return None
        try:
            return [str(g) for g in json.loads(path.read_text(encoding="utf-8"))["vocab"]]
        except (ValueError, KeyError):
            return None

    def predictions(self, run_id: str) -> pd.DataFrame | None:
        path = self._download(run_id, "predictions.csv")
        if path is None:
            return None
        return pd.read_csv(path, dtype={"clip_id": str, "gloss": str, "predicted_gloss": str})

    def histories(self, run_id: str, metric_names) -> dict[str, list[tuple[int, float]]]:
        """Every metric of the run logged at more than one step, as (step, value) pairs."""
        curves = {}
        for name in sorted(metric_names):
            if name in ONE_SHOT or name.startswith(ONE_SHOT_PREFIXES):
                continue
            history = self.client.get_metric_history(run_id, name)
            points = sorted({m.step: m.value for m in history}.items())
            if len(points) > 1:
                curves[name] = [(int(s), float(v)) for s, v in points]
        return curves

    def metric_names(self, run_id: str) -> list[str]:
        return list(self.client.get_run(run_id).data.metrics)
