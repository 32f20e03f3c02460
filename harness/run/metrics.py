"""The metrics every run reports, computed by the harness from [N, C] probabilities."""
from __future__ import annotations

import numpy as np

TOP_K = (1, 5)


def topk_accuracy(proba: np.ndarray, labels: np.ndarray, k: int) -> float:
    if len(labels) == 0:
        return float("nan")
    k = min(k, proba.shape[1])
    # argpartition is O(C) per row; exact order inside the top k does not matter here.
    top = np.argpartition(-proba, k - 1, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def mean_class_accuracy(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """Mean over the classes present in ``labels`` of each class's recall."""
    matrix = confusion_matrix(labels, predicted, num_classes)
    support = matrix.sum(axis=1)
    present = support > 0
    return float((np.diag(matrix)[present] / support[present]).mean())


def macro_f1(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """Unweighted mean F1 over the classes present in ``labels``.

    Equals ``sklearn.metrics.f1_score(labels, predicted, labels=np.unique(labels),
    average="macro", zero_division=0)``.
    """
    matrix = confusion_matrix(labels, predicted, num_classes)
    true_pos = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted_count = matrix.sum(axis=0)
    present = support > 0
    denominator = support + predicted_count
    f1 = np.divide(2 * true_pos, denominator, out=np.zeros_like(true_pos), where=denominator > 0)
    return float(f1[present].mean())


def evaluate(proba: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    labels = np.asarray(labels, dtype=np.int64)
    predicted = proba.argmax(axis=1)
    num_classes = proba.shape[1]
    metrics = {f"top{k}": topk_accuracy(proba, labels, k) for k in TOP_K}
    metrics["mean_class_accuracy"] = mean_class_accuracy(labels, predicted, num_classes)
    metrics["macro_f1"] = macro_f1(labels, predicted, num_classes)
    return metrics


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    if values.size == 0:
        return {"p50": float("nan"), "p95": float("nan")}
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}
