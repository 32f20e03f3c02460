"""Where the runs of a sweep execute: a local process pool or a Ray cluster.

A backend only moves work: ``submit(job)`` starts one run, ``wait(timeout)`` hands back the
runs that ended, ``stop()`` ends the runs in flight (Ctrl-C), ``close()`` releases it. Which
runs to start, retry or skip is decided by :mod:`harness.sweep.plan`.

Every run executes :func:`execute_job` in a process of its own, which calls
:func:`harness.run.runner.run_experiment`; a run that raises comes back as a ``failed``
outcome (the runner has already marked its MLflow run FAILED with the error), a worker
that dies comes back as ``crashed``.
"""
from __future__ import annotations

import concurrent.futures as futures
import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from harness.errors import BadConfig, SlrbenchError
from harness.run.runner import RunConfig, run_experiment
from harness.util.ray import connect_ray
from harness.util.signals import resource_tracker_deaf_to_hangups, sigterm_interrupts

BACKENDS = ("local", "ray")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
STOP_GRACE_SECONDS = 20.0    # time runs get to mark themselves KILLED after Ctrl-C


@dataclass(frozen=True)
class Job:
    """One run of the grid, as shipped to a worker."""

    index: int                   # position in the grid
    token: str                   # unique per attempt; tagged on the MLflow run
    config: RunConfig
    threads: int = 1             # intra-op threads for this run (torch, BLAS)


@dataclass
class Outcome:
    status: str                  # finished | failed | killed | crashed | cancelled (unstarted)
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


# --- inside a worker -------------------------------------------------------------------
_LOCAL_WORKER = {"sigterm_stops_run": False}


def describe_error(error: BaseException) -> str:
    """One line: the user-facing message, or the type, message and where a bug happened."""
    if isinstance(error, SlrbenchError):
        return str(error)
    message = str(error).strip()
    text = f"{type(error).__name__}: {message.splitlines()[0] if message else ''}"
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {os.path.basename(last.filename)}:{last.lineno})"
    return text.strip()


def limit_threads(threads: int) -> None:
    """K runs side by side must not each spawn one thread per core."""
    threads = max(1, int(threads))
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    with contextlib.suppress(ImportError):
        import torch
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _sigterm_stops_run():
    # In a local worker, SIGTERM from the sweep (after Ctrl-C) becomes a KeyboardInterrupt
    # inside the run, so the runner marks its MLflow run KILLED instead of leaving it RUNNING.
    if not _LOCAL_WORKER["sigterm_stops_run"]:
        yield
        return
    with sigterm_interrupts():
        yield


def execute_job(job: Job) -> Outcome:
    """Run one experiment; never raises for a failed run (the outcome says what happened)."""
    os.environ["SLRBENCH_PROGRESS"] = "0"  # per-run bars would garble the sweep's own view
    limit_threads(job.threads)
    started = time.perf_counter()
    try:
        with _sigterm_stops_run():
            result = run_experiment(job.config)
    except KeyboardInterrupt:
        return Outcome("killed", error="stopped before it finished",
                       seconds=time.perf_counter() - started)
    # SystemExit too: a plugin's sys.exit (argparse reading the worker's argv, a library's
    # usage error) failed its run and then ended the whole sweep, its other runs never run
    except (Exception, SystemExit) as error:  # noqa: BLE001 - one run must not stop the sweep
        return Outcome("failed", error=describe_error(error),
                       seconds=time.perf_counter() - started)
    return Outcome("finished", run_id=result.run_id, metrics=dict(result.metrics),
                   seconds=time.perf_counter() - started)


def _init_local_worker(verbose: bool, threads: int) -> None:
    # Ctrl-C, and SIGHUP from a closed terminal, reach every process of the terminal's
    # group; the sweep decides what stops and tells its workers with SIGTERM, so a worker
    # never dies half-way through a write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _LOCAL_WORKER["sigterm_stops_run"] = True
    limit_threads(threads)
    os.environ["SLRBENCH_PROGRESS"] = "0"
    if not verbose:
        from harness.util.quiet import discard_output, silence_native_logs
        silence_native_logs()
        # Plugins and native libraries print; the sweep's live view owns the terminal and
        # a run's error comes back in its outcome (and in MLflow), so nothing is lost.
        discard_output(1, 2)


def _release_waiting_manager(manager, settle_seconds: float = 1.0) -> None:
    """After a stopped pool's shutdown: with one run per worker process, a run already
    handed to the pool's call queue for a worker that was still starting (a sweep of quick
    runs spends much of its time there) cannot be cancelled, and a pool shut down starts no
    worker to take it, so the pool's manager thread waited for it for good, and the
    command's exit for its grace period. Every run was stopped and recorded by now and the
    workers ended; a manager still alive once it has had time to act on the shutdown is
    blocked waiting, so what it still counts as pending is dropped and it is woken to
    finish (the executor offers no handle for this)."""
    manager.join(timeout=settle_seconds)
    pending = getattr(manager, "pending_work_items", None)
    queued = getattr(manager, "work_ids_queue", None)
    wakeup = getattr(manager, "thread_wakeup", None)
    if (not manager.is_alive() or not isinstance(pending, dict) or queued is None
            or wakeup is None):
        return
    with contextlib.suppress(queue.Empty):  # ids not yet moved to the call queue go too
        while True:
            queued.get_nowait()
    pending.clear()
    with contextlib.suppress(Exception):    # closed already: the manager has finished
        wakeup.wakeup()


def crashed(reason: str) -> Outcome:
    return Outcome("crashed", error=reason)


# --- local process pool ------------------------------------------------------------------
class LocalBackend:
    """K spawned worker processes; each run gets a fresh process (Python >= 3.11)."""

    name = "local"

    def __init__(self, workers: int, threads: int = 1, verbose: bool = False):
        self.workers = max(1, workers)
        self.threads = threads
        self.verbose = verbose
        self._pool: futures.ProcessPoolExecutor | None = None
        self._broken = False
        self._futures: dict[futures.Future, Job] = {}

    @property
    def capacity(self) -> int:
        return self.workers

    def _new_pool(self) -> futures.ProcessPoolExecutor:
        options: dict[str, Any] = {}
        if sys.version_info >= (3, 11):
            # A fresh process per run: no state (torch threads, TF graphs, leaked memory)
            # carries from one run into the next.
            options["max_tasks_per_child"] = 1
        return futures.ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_local_worker, initargs=(self.verbose, self.threads), **options)

    def start(self) -> None:
        resource_tracker_deaf_to_hangups()
        self._pool = self._new_pool()

    def submit(self, job: Job) -> None:
        if self._pool is None or self._broken:
            # A dead worker breaks the whole executor; later runs get a new one.
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool, self._broken = self._new_pool(), False
        self._futures[self._pool.submit(execute_job, job)] = job

    def wait(self, timeout: float) -> list[tuple[Job, Outcome]]:
        if not self._futures:
            return []
        done, _ = futures.wait(self._futures, timeout=timeout,
                               return_when=futures.FIRST_COMPLETED)
        ended = []
        for future in done:
            job = self._futures.pop(future)
            try:
                outcome = future.result()
            except futures.process.BrokenProcessPool:
                self._broken = True
                outcome = crashed("its worker process died (killed, out of memory or a "
                                  "native crash); rerun the sweep with --verbose to see why")
            except futures.CancelledError:
                outcome = Outcome("cancelled", error="cancelled before it started")
            except Exception as error:  # noqa: BLE001 - e.g. a result that cannot be unpickled
                outcome = crashed(describe_error(error))
            ended.append((job, outcome))
        return ended

    def stop(self) -> list[tuple[Job, Outcome]]:
        """End the runs in flight: they are marked KILLED in MLflow; returns their outcomes."""
        if self._pool is None:
            return []
        for future in list(self._futures):
            future.cancel()
        # The executor keeps its worker processes in a private mapping; terminate() sends
        # SIGTERM, which a running run turns into KeyboardInterrupt (see _sigterm_stops_run).
        for process in list(getattr(self._pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.terminate()
        ended = []
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self._futures and time.monotonic() < deadline:
            ended.extend(self.wait(min(1.0, max(0.0, deadline - time.monotonic()))))
        ended.extend((job, Outcome("killed", error="stopped")) for job in self._futures.values())
        self._futures.clear()
        manager = getattr(self._pool, "_executor_manager_thread", None)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        if manager is not None:
            _release_waiting_manager(manager)
        return ended

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# --- Ray -----------------------------------------------------------------------------------
class RayBackend:
    """Each run is a Ray task declaring ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs.

    Uses the Ray instance this process is already connected to, else connects to
    ``address``, else starts a local instance with ``num_cpus`` CPUs (shut down at the end).
    """

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_run: float = 1.0,
                 gpus_per_run: float = 0.0, num_cpus: int | None = None,
                 max_parallel: int | None = None, verbose: bool = False):
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.gpus_per_run = gpus_per_run
        self.num_cpus = num_cpus
        self.max_parallel = max_parallel
        self.verbose = verbose
        self._owned = False
        self._capacity = max_parallel or 1
        self._task = None
        self._refs: dict[Any, Job] = {}

    @property
    def capacity(self) -> int:
        return self._capacity

    def start(self) -> None:
        import ray
        self._owned = connect_ray(self.address, self.num_cpus, self.verbose)
        resources = ray.cluster_resources()
        if self.gpus_per_run > resources.get("GPU", 0):
            raise BadConfig(f"--gpus-per-run {self.gpus_per_run} but the Ray cluster has "
                            f"{resources.get('GPU', 0):g} GPUs; lower --gpus-per-run")
        if self.cpus_per_run > resources.get("CPU", 0):
            raise BadConfig(f"--cpus-per-run {self.cpus_per_run} but the Ray cluster has "
                            f"{resources.get('CPU', 0):g} CPUs; lower --cpus-per-run")
        if self.max_parallel is None:
            # As many runs in flight as the cluster can run at once: queued runs stay in the
            # sweep, so "running" means running and Ctrl-C has little to cancel.
            fits = resources.get("CPU", 0) // self.cpus_per_run
            if self.gpus_per_run:
                fits = min(fits, resources.get("GPU", 0) // self.gpus_per_run)
            self._capacity = max(1, int(fits))
        # Retries of dead workers are the sweep's decision (it also cleans up their runs).
        self._task = ray.remote(execute_job).options(
            num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run, max_retries=0)

    def submit(self, job: Job) -> None:
        self._refs[self._task.remote(job)] = job

    def wait(self, timeout: float) -> list[tuple[Job, Outcome]]:
        import ray
        if not self._refs:
            return []
        refs = list(self._refs)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        return [(self._refs.pop(ref), self._result(ref)) for ref in ready]

    @staticmethod
    def _result(ref) -> Outcome:
        import ray
        from ray import exceptions
        try:
            return ray.get(ref)
        except exceptions.TaskCancelledError:
            return Outcome("killed", error="stopped before it finished")
        except exceptions.RayError as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return crashed(f"{type(error).__name__}: {first}")

    def stop(self) -> list[tuple[Job, Outcome]]:
        import ray
        for ref in list(self._refs):
            # force=False raises KeyboardInterrupt inside the task: its run is marked KILLED.
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=False)
        ended = []
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self._refs and time.monotonic() < deadline:
            ended.extend(self.wait(min(1.0, max(0.0, deadline - time.monotonic()))))
        ended.extend((job, Outcome("killed", error="stopped")) for job in self._refs.values())
        self._refs.clear()
        return ended

    def close(self) -> None:
        if self._owned:
            import ray
            ray.shutdown()
            self._owned = False
