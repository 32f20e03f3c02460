"""One exception type per failure a user can fix; each message names the thing and the fix.

The CLI prints ``str(error)`` as a single line and exits with status 2; anything else is a
bug and keeps its traceback.
"""
from __future__ import annotations


class SlrbenchError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""


class UnknownPlugin(SlrbenchError):
    """A model or dataset name that no registered plugin provides."""


class DuplicatePlugin(SlrbenchError):
    """Two installed plugins register the same model or dataset name."""


class BadPlugin(SlrbenchError):
    """A plugin broke the contract (e.g. logged a metric name the harness reserves)."""


class DatasetNotFound(SlrbenchError):
    """A dataset's files are not where the adapter looked."""


class BadLandmarks(SlrbenchError):
    """A landmark file of the wrong shape, dtype or content."""


class BadStore(SlrbenchError):
    """A packed landmark store that is incomplete or corrupted."""


class BadConfig(SlrbenchError):
    """A --set key=value or CLI option that does not fit the plugin's config."""


class BadAnnotations(SlrbenchError):
    """An annotation or index file that is missing, malformed or inconsistent."""


class BadSavedModel(SlrbenchError):
    """A saved model directory that is incomplete, damaged, or from another plugin/version."""


class OutOfMemory(SlrbenchError):
    """A model ran out of memory, most often from sizes given with --set."""


class TrackingError(SlrbenchError):
    """The MLflow store cannot be written or read, or a run does not exist."""


class BadVideo(SlrbenchError):
    """A video that cannot be opened or decoded, or has no frames."""


class ExtractionAborted(SlrbenchError):
    """Extraction or download stopped (e.g. a full disk); finished work is kept for a rerun."""
