"""What every trained plugin's saved model must do: predict what its run logged."""
from __future__ import annotations

import numpy as np
import pandas as pd

from harness.data.clips import ClipSet
from harness.run.tracking import download_artifacts


def assert_reproduces_run(uri: str, run_id: str, model, test: ClipSet,
                          atol: float = 1e-6) -> np.ndarray:
    """``model``'s probabilities on ``test`` give the run's ``predictions.csv`` back: the
    same clips in the same order, the same top-1, its probability within ``atol``. Returns
    the probabilities, for a test that goes on to save and load the model again."""
    proba = model.predict_proba(test.unlabelled())
    table = pd.read_csv(download_artifacts(run_id, "predictions.csv", uri))
    assert table["clip_id"].astype(str).tolist() == list(test.clip_ids)
    np.testing.assert_array_equal(proba.argmax(1), table["predicted"].to_numpy())
    np.testing.assert_allclose(proba.max(1), table["probability"].to_numpy(), atol=atol)
    return proba
