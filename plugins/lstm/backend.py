"""Lazy TensorFlow/Keras import: the registry loads this plugin without touching TF, so
``slrbench list`` stays fast; training, loading and export import it on first use."""
from __future__ import annotations

import os

# TensorFlow's C++ logger reads these once, at import: set them first. (The harness's own
# silencer is not part of the plugin API; these are the same settings.)
_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def keras_and_tf(threads: int = 0):
    """Keras and TensorFlow, imported on first use. ``threads`` > 0 caps TensorFlow's CPU
    thread pools; it takes effect only before TensorFlow's runtime starts (the first model
    of a process decides), which is when it matters: on cores shared with other jobs,
    extra pool threads contend instead of helping a small LSTM."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    import tensorflow as tf
    import keras

    # Same seed, same weights: deterministic kernels (no effect on speed for CPU LSTMs).
    tf.config.experimental.enable_op_determinism()
    if threads > 0:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass                        # the runtime already started: its pools stay
    return keras, tf
