import warnings

import numpy as np
from sklearn import metrics as skm

from harness.run.metrics import confusion_matrix, evaluate, topk_accuracy


def random_predictions(n=300, classes=12, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes - 2, size=n)  # two classes never occur
    proba = rng.random((n, classes))
    proba[np.arange(n), labels] += rng.random(n) * 1.5  # informative, imperfect
    return proba / proba.sum(1, keepdims=True), labels


def test_metrics_match_scikit_learn():
    proba, labels = random_predictions()
    predicted = proba.argmax(1)
    result = evaluate(proba, labels)
    classes = np.arange(proba.shape[1])
    assert np.isclose(result["top1"], skm.accuracy_score(labels, predicted))
    assert np.isclose(result["top5"], skm.top_k_accuracy_score(labels, proba, k=5, labels=classes))
    with warnings.catch_warnings():
        # predictions of classes absent from the labels are the case this must count right
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
        balanced = skm.balanced_accuracy_score(labels, predicted)
    assert np.isclose(result["mean_class_accuracy"], balanced)
    assert np.isclose(result["macro_f1"], skm.f1_score(labels, predicted, labels=np.unique(labels),
                                                        average="macro", zero_division=0))
    np.testing.assert_array_equal(confusion_matrix(labels, predicted, 12),
                                  skm.confusion_matrix(labels, predicted, labels=classes))


def test_topk_is_monotonic_and_perfect_predictions_score_one():
    proba, labels = random_predictions(seed=1)
    assert topk_accuracy(proba, labels, 1) <= topk_accuracy(proba, labels, 5) <= 1.0
    onehot = np.eye(12)[labels]
    assert evaluate(onehot, labels) == {"top1": 1.0, "top5": 1.0, "mean_class_accuracy": 1.0,
                                        "macro_f1": 1.0}
