"""What every trained plugin's per-epoch curves must look like in MLflow."""
from __future__ import annotations

from harness.run.tracking import client


def assert_epoch_curves(uri: str, run_id: str) -> int:
    """The run's ``train_loss``, ``val_loss`` and ``epoch_val_top1`` have one point per
    epoch, counted from 1, the training loss fell, and ``val_top1`` (the harness's own final
    figure) is a single point. Returns the number of epochs."""
    mlflow_client, _ = client(uri)
    history = mlflow_client.get_metric_history
    epochs = len(history(run_id, "train_loss"))
    assert epochs >= 3
    # a plugin's per-epoch accuracy is epoch_val_top1, never the harness's val_top1
    assert len(history(run_id, "val_top1")) == 1
    for name in ("train_loss", "val_loss", "epoch_val_top1"):
        steps = {h.step for h in history(run_id, name)}
        assert steps == set(range(1, epochs + 1)), name
    losses = sorted(history(run_id, "train_loss"), key=lambda h: h.step)
    assert losses[-1].value < losses[0].value
    return epochs
