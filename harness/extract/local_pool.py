"""Extraction in a pool of spawned processes on this machine, one MediaPipe graph each."""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import signal
import threading
import time
from typing import Iterator

from harness.errors import ExtractionAborted
from harness.extract.work import (ExtractConfig, ExtractSummary, Job, Outcome, SaveFn,
                                  process_job, record)
from harness.util.signals import resource_tracker_deaf_to_hangups

_WORKER: dict = {}


def _exit_with_parent(parent: int) -> None:
    # A pool worker blocked in MediaPipe outlives a killed parent and keeps burning CPU;
    # a daemon thread ends it once it is orphaned.
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_worker(extractor_name: str, verbose: bool, save: SaveFn, parent: int) -> None:
    # Ctrl-C, and SIGHUP from a closed terminal, reach every process of the terminal's
    # group; the parent decides what stops (and ends the workers), so a worker does not die
    # with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _exit_with_parent(parent)
    if not verbose:
        from harness.util.quiet import discard_output, silence_native_logs
        silence_native_logs()
        # MediaPipe's C++ code logs through absl straight to fd 2 and ignores GLOG_* and
        # ABSL_* variables; a worker has nothing else to say on stderr.
        discard_output(2)
    from harness.extract.extractors import make_extractor
    _WORKER["extractor"] = make_extractor(extractor_name)
    _WORKER["save"] = save


def _run_job(job: Job) -> Outcome:
    return process_job(job, _WORKER["extractor"], _WORKER["save"])


def _outcomes(pending: dict[futures.Future, Job]) -> Iterator[Outcome]:
    for future in futures.as_completed(pending):
        try:
            yield future.result()
        except futures.process.BrokenProcessPool as error:
            raise ExtractionAborted(f"a worker process died ({error}) while extracting "
                                    f"{pending[future].video}") from None
        except futures.CancelledError:
            continue


def run_pool(jobs: list[Job], totals: dict[str, int], config: ExtractConfig, save: SaveFn,
             summary: ExtractSummary, errors: list[dict]) -> None:
    """Extract ``jobs`` in ``config.workers`` processes (default: one per core)."""
    summary.workers = config.worker_count(len(jobs))
    context = multiprocessing.get_context("spawn")
    resource_tracker_deaf_to_hangups()
    with futures.ProcessPoolExecutor(summary.workers, mp_context=context,
                                     initializer=_init_worker,
                                     initargs=(config.extractor, config.verbose, save,
                                               os.getpid())) as pool:
        pending = {pool.submit(_run_job, job): job for job in jobs}
        try:
            record(_outcomes(pending), totals, summary, errors, "extracting landmarks")
        except ExtractionAborted:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        except KeyboardInterrupt:
            _stop_now(pool)
            raise


def _stop_now(pool: futures.ProcessPoolExecutor) -> None:
    """Ctrl-C: the queued clips are dropped and the clips in progress abandoned (each part
    is written atomically, so none is left half-written); finished parts stay for a resume.
    Waiting for the clips in flight would take as long as a clip, i.e. up to minutes."""
    workers = list((pool._processes or {}).values())  # the executor offers no other handle
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(timeout=10)
