"""Extraction on Ray: :mod:`harness.extract.local_pool`'s jobs and bookkeeping, on actors.

Each clip goes through :func:`harness.extract.work.process_job` in one of
``config.workers`` actors (default: one per CPU of the cluster). Parts are written by the
workers, so on a multi-machine cluster the store's folder must be shared by every machine.
"""
from __future__ import annotations

import os
from typing import Iterator

from harness.errors import ExtractionAborted
from harness.extract.work import (ExtractConfig, ExtractSummary, Job, Outcome, SaveFn,
                                  process_job, record)
from harness.util.ray import connect_ray


class _ExtractActor:
    """One MediaPipe extractor per Ray worker, built once and reused for many clips."""

    def __init__(self, extractor: str, verbose: bool, save: SaveFn):
        os.environ["SLRBENCH_PROGRESS"] = "0"
        if not verbose:
            from harness.util.quiet import silence_native_logs
            silence_native_logs()
        from harness.extract.extractors import make_extractor
        self._extractor = make_extractor(extractor)
        self._save = save

    def run(self, job: Job) -> Outcome:
        return process_job(job, self._extractor, self._save)


def _outcomes(actors: list, jobs: list[Job]) -> Iterator[Outcome]:
    from ray.exceptions import RayError
    from ray.util import ActorPool
    try:
        yield from ActorPool(actors).map_unordered(lambda worker, job: worker.run.remote(job),
                                                   jobs)
    except RayError as error:
        raise ExtractionAborted(f"a Ray worker died while extracting "
                                f"({type(error).__name__})") from None


def run_pool(jobs: list[Job], totals: dict[str, int], config: ExtractConfig, save: SaveFn,
             summary: ExtractSummary, errors: list[dict]) -> None:
    """Extract ``jobs`` on the Ray cluster at ``config.address`` (default: a local Ray)."""
    import ray
    owned = connect_ray(config.address, None, config.verbose)
    try:
        summary.workers = config.worker_count(len(jobs),
                                              int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1)(_ExtractActor)
        actors = [actor.remote(config.extractor, config.verbose, save)
                  for _ in range(summary.workers)]
        try:
            record(_outcomes(actors, jobs), totals, summary, errors,
                   "extracting landmarks (ray)")
        finally:
            for worker in actors:
                ray.kill(worker)
    finally:
        if owned:
            ray.shutdown()
