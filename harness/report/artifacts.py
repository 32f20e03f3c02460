"""What the report reads from each run beyond its params and metrics: artifacts and curves.

Everything is optional per run (a run logged by an older harness may lack an artifact);
a missing piece comes back as None and the report says, once, what it could not show.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from harness.run.runner import HARNESS_METRICS
from harness.run.tracking import MODEL_ARTIFACT, MODEL_INFO, client


class RunArtifacts:
    """Downloads a run's artifacts once into ``work_dir`` and parses them."""

    def __init__(self, uri: str | None, work_dir: Path):
        self.client, self.uri = client(uri)
        self.work_dir = Path(work_dir)
        self._predictions: dict[str, pd.DataFrame | None] = {}

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
        try:
            matrix = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
        except ValueError:
            return None
        return matrix if matrix.shape[0] == matrix.shape[1] else None

    def vocab(self, run_id: str) -> list[str] | None:
        path = self._download(run_id, f"{MODEL_ARTIFACT}/{MODEL_INFO}")
        if path is None:
            return None
        try:
            return [str(g) for g in json.loads(path.read_text(encoding="utf-8"))["vocab"]]
        except (ValueError, KeyError, TypeError):
            return None

    def predictions(self, run_id: str) -> pd.DataFrame | None:
        if run_id not in self._predictions:
            path = self._download(run_id, "predictions.csv")
            try:
                self._predictions[run_id] = None if path is None else pd.read_csv(
                    path, dtype={"clip_id": str, "gloss": str, "predicted_gloss": str})
            except (ValueError, pd.errors.ParserError):
                self._predictions[run_id] = None
        return self._predictions[run_id]

    def histories(self, run_id: str, metric_names) -> dict[str, list[tuple[int, float]]]:
        """Every metric of the run logged at more than one step, as (step, value) pairs.

        The harness's own figures are logged once per run and are skipped unread; any other
        name (``train_loss``, ``val_loss``, ``epoch_val_top1``, a learning rate) is a curve
        as soon as it has two steps.
        """
        curves = {}
        for name in sorted(metric_names):
            if name in HARNESS_METRICS:
                continue
            history = self.client.get_metric_history(run_id, name)
            points = sorted({m.step: m.value for m in history}.items())
            if len(points) > 1:
                curves[name] = [(int(s), float(v)) for s, v in points]
        return curves
