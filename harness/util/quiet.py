"""Silence the pages of native log lines MediaPipe, TensorFlow and absl print.

Must run before those libraries are imported: their C++ loggers read the environment once.
``--verbose`` skips it.
"""
from __future__ import annotations

import logging
import os
import warnings

_NATIVE_LOG_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",      # TensorFlow C++: errors only
    "TF_ENABLE_ONEDNN_OPTS": "0",     # its oneDNN banner and non-deterministic kernels
    "GLOG_minloglevel": "2",          # MediaPipe's glog
    "GRPC_VERBOSITY": "ERROR",
    "ABSL_MIN_LOG_LEVEL": "2",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def silence_native_logs() -> None:
    for key, value in _NATIVE_LOG_ENV.items():
        os.environ.setdefault(key, value)
    for name in ("absl", "tensorflow", "mlflow", "alembic", "h5py", "matplotlib", "urllib3",
                 "ray", "PIL"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*SymbolDatabase.GetPrototype.*")
    # a gloss in a script the plot font lacks (CJK): drawn as boxes, warned once per axis
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass


def discard_output(*fds: int) -> None:
    """Send these file descriptors to /dev/null for the rest of the process's life.

    For worker processes whose results come back as return values: native libraries
    write to fds 1 and 2 directly, past Python's sys.stdout and sys.stderr.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in fds:
        os.dup2(devnull, fd)
    os.close(devnull)


def fd_stderr_silenced():
    """Context manager that sends file descriptor 2 to /dev/null (for C++ loggers that
    ignore every environment variable, e.g. MediaPipe's graph start-up lines)."""
    import contextlib
    import sys

    @contextlib.contextmanager
    def _silenced():
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)

    return _silenced()
