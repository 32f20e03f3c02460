"""One clip's extraction as a unit of work, and the counting of finished clips.

Both pools (:mod:`harness.extract.local_pool`, :mod:`harness.extract.ray_pool`) run
:func:`process_job` on :class:`Job` s and hand every :class:`Outcome` to :func:`record`, so
they differ only in where the work runs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from harness.errors import ExtractionAborted, SlrbenchError
from harness.util.atomic import atomic_path
from harness.util.progress import bar

SaveFn = Callable[[Path, np.ndarray], None]


@dataclass(frozen=True)
class ExtractConfig:
    """Defaults of ``slrbench data extract`` in one place."""

    workers: int = 0               # 0: one per CPU core (never more than pending clips)
    extractor: str = "holistic"
    verbose: bool = False
    keep_parts: bool = False       # keep STORE.parts/ after packing (else removed)
    backend: str = "local"         # "local" process pool, or "ray" (one actor per worker)
    address: str | None = None     # Ray cluster address; None starts a local Ray
    write_pose: bool = False       # also one .pose per clip in STORE.pose/ (--format pose)

    def worker_count(self, pending: int, cpus: int | None = None) -> int:
        """``workers``, else one per CPU (of this machine, or ``cpus``), at most ``pending``."""
        wanted = self.workers if self.workers > 0 else (cpus or os.cpu_count() or 1)
        return max(1, min(wanted, pending))


@dataclass(frozen=True)
class Job:
    clip_id: str
    video: str
    part: str
    first: int = 0               # 0-based first frame to extract
    stop: int | None = None      # 0-based frame to stop before; None: to the end
    expected: int = 0            # frames the container lists in that window (0: unknown)


@dataclass
class Outcome:
    job: Job
    n_frames: int = 0
    error: str | None = None     # this clip is skipped and listed in the error report
    fatal: str | None = None     # the run stops (e.g. the disk is full)


@dataclass
class ExtractSummary:
    store: Path | None
    clips: int = 0
    extracted: int = 0
    resumed: int = 0
    reused: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    workers: int = 0
    errors_csv: Path | None = None
    errors: list[dict] = field(default_factory=list)
    pose_dir: Path | None = None   # where the .pose files went, with --format pose
    # signs of the index none of whose clips could be extracted: left out of the store's
    # vocabulary where it comes from the index (a dataset's official one is kept whole)
    signs_left_out: list[str] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def save_part(path: Path, landmarks: np.ndarray) -> None:
    """Atomic ``np.save``: a crash leaves the old part or none, never half of one."""
    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(landmarks, dtype=np.float32),
                    allow_pickle=False)


# A video is truncated when it decodes to far fewer frames than its container lists. A
# container's count can be off by a frame or two (it is estimated from the duration), never
# by a tenth: every shipped video decodes to exactly its count.
DECODED_AT_LEAST = 0.9
COUNT_SLACK = 2


def is_truncated(decoded: int, expected: int) -> bool:
    return expected > 0 and decoded < DECODED_AT_LEAST * expected \
        and expected - decoded > COUNT_SLACK


def process_job(job: Job, extractor, save: SaveFn) -> Outcome:
    """Extract one clip; decoding problems become an error row, write problems are fatal."""
    from harness.extract.video_io import iter_frames
    try:
        landmarks = extractor(iter_frames(job.video, job.first, job.stop))
    except SlrbenchError as error:
        return Outcome(job, error=str(error))
    except Exception as error:  # noqa: BLE001 - one clip's failure must not stop the run
        return Outcome(job, error=f"{job.video}: {type(error).__name__}: {error}")
    if np.isnan(landmarks).all():
        return Outcome(job, error=f"{job.video}: MediaPipe found no person in any of "
                                  f"{len(landmarks)} frames")
    if is_truncated(len(landmarks), job.expected):
        return Outcome(job, error=f"{job.video}: only {len(landmarks)} of the {job.expected} "
                                  "frames its container lists could be decoded; the file is "
                                  "truncated or damaged: download or copy it again")
    try:
        save(Path(job.part), landmarks)
    except OSError as error:
        return Outcome(job, fatal=f"cannot write {job.part} ({error.strerror or error})")
    return Outcome(job, n_frames=int(landmarks.shape[0]))


def tally(outcome: Outcome, summary: ExtractSummary, errors: list[dict]) -> str | None:
    """Count one finished clip; returns the error that stops everything."""
    if outcome.fatal:
        return outcome.fatal
    if outcome.error:
        errors.append({"clip_id": outcome.job.clip_id, "video": outcome.job.video,
                       "error": outcome.error})
    else:
        summary.extracted += 1
        summary.frames += outcome.n_frames
    return None


def record(outcomes: Iterable[Outcome], totals: dict[str, int], summary: ExtractSummary,
           errors: list[dict], description: str) -> None:
    """Tally outcomes as a pool yields them, with a progress bar in frames.

    Raises ExtractionAborted at the first fatal outcome; the pool stops its workers.
    """
    with bar(sum(totals.values()), description, unit="frames") as progress:
        for outcome in outcomes:
            progress.advance(outcome.n_frames or totals.get(outcome.job.clip_id, 0))
            fatal = tally(outcome, summary, errors)
            if fatal is not None:
                raise ExtractionAborted(fatal)
