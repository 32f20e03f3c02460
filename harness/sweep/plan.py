"""Grids of runs: models x datasets x vocabulary sizes x seeds, locally or on Ray.

A sweep is resumable by construction: before running anything it asks MLflow which grid
points already have a FINISHED run with the same model, dataset, vocabulary size, seed,
split hash and config hash (the ``slrbench.*`` tags the runner writes) and skips them. So
after a crash, a Ctrl-C or failed runs, the same command runs only what is missing.

The split hash comes from loading each dataset once per vocabulary size here in the parent
(the runner computes it the same way); the config hash from the plugin config exactly as
the runner builds it. Runs execute in worker processes through a backend
(:mod:`harness.sweep.backends`); the table of mean and std over seeds is read back from
MLflow, so skipped runs count as much as new ones.
"""
from __future__ import annotations

import collections
import math
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import pandas as pd

from harness import registry
from harness.util.config import config_to_dict, field_names
from harness.run.loading import load_clipset, make_request, require_inputs
from harness.errors import BadConfig, TrackingError
from harness.run.runner import (RunConfig, check_device, check_seed, config_fingerprint,
                                model_config, required_inputs)
from harness.run.resources import usable_cpus
from harness.sweep.backends import BACKENDS, Job, LocalBackend, Outcome, RayBackend
from harness.run.tracking import (TAG, client, ensure_experiment, experiment_name,
                                  is_tracking_failure, load_runs, missing_local_store,
                                  require_active)
from harness.util.signals import interrupt_exit_code, sigterm_interrupts
from harness.util.stats import MeanStd

# A grid point is done when MLflow has a FINISHED run with all of these: the same code
# (the plugin's version and its distribution's) included, so fixed code is re-run.
KEY_TAGS = ("model", "dataset", "vocab", "seed", "split_hash", "config_hash", "model_version")
SWEEP_TAG = TAG + "sweep"          # one id per invocation of a sweep
JOB_TAG = TAG + "sweep_job"        # one id per attempt of one grid point
SUMMARY_METRICS = ("test_top1", "test_top5", "test_mean_class_accuracy", "test_macro_f1",
                   "train_seconds")
MAX_ATTEMPTS = 2                   # a run whose worker dies is tried once more, then reported
DONE = ("finished", "skipped")
UNSUCCESSFUL = ("failed", "crashed", "killed")

Say = Callable[[str], None]


# --- what to sweep ------------------------------------------------------------------------
@dataclass
class SweepConfig:
    """A grid and where to run it; defaults of ``slrbench sweep`` in one place."""

    models: tuple[str, ...]
    datasets: tuple[str, ...] = ("msasl",)      # as `slrbench run` and `sweep`
    vocabs: tuple[int | None, ...] = (None,)   # None: the dataset's whole vocabulary
    seeds: tuple[int, ...] = (0, 1, 2)
    # "key": every model whose config has the option; "model.key": that model only
    overrides: dict[str, str] = field(default_factory=dict)
    epochs: int | None = None                  # applied to the models that train by epochs
    split_seed: int = 0
    data_dir: Path | None = None
    data_options: dict[str, str] = field(default_factory=dict)
    tracking_uri: str | None = None
    backend: str = "local"                     # local | ray
    address: str | None = None                 # Ray cluster; None: a local Ray instance
    max_parallel: int | None = None            # runs at once; local default: cores // cpus
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    device: str = "auto"
    latency_clips: int = 50
    verbose: bool = False
    system_metrics: bool = False               # every run also logs MLflow's system/* metrics

    def __post_init__(self) -> None:
        self.models = _names(self.models, "--models")
        self.datasets = _names(self.datasets, "--dataset")
        # here, not when the grid is planned: the command names the file a name came from
        # for the errors of its config, and unknown names fail before any data is read
        for name in self.models:
            registry.model(name)
        for name in self.datasets:
            registry.dataset(name)
        self.vocabs = tuple(self.vocabs) if self.vocabs else (None,)
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise BadConfig("--seeds: give a count (e.g. --seeds 3 for 0,1,2) or a list")
        if len(set(self.seeds)) != len(self.seeds):
            raise BadConfig(f"--seeds {','.join(map(str, self.seeds))}: a seed is repeated")
        for seed in self.seeds:
            check_seed(seed, "--seeds: seed")
        check_seed(self.split_seed, "--split-seed")
        # whether CUDA is there is for each run to check where it runs (e.g. a Ray worker)
        check_device(self.device, available_here=False)
        if len(set(self.vocabs)) != len(self.vocabs):
            raise BadConfig(f"--vocab {self.vocabs}: a vocabulary size is repeated")
        if self.backend not in BACKENDS:
            raise BadConfig(f"--backend {self.backend!r}: use one of {', '.join(BACKENDS)}")
        if self.max_parallel is not None and self.max_parallel < 1:
            raise BadConfig(f"--max-parallel {self.max_parallel}: must be at least 1")
        # written as ranges: nan is false in any comparison, so a test for a bad value let
        # it through, and inf too; both reached int() as a traceback
        if not 0 < self.cpus_per_run < math.inf:
            raise BadConfig(f"--cpus-per-run {self.cpus_per_run:g}: must be a finite number "
                            "above 0")
        if not 0 <= self.gpus_per_run < math.inf:
            raise BadConfig(f"--gpus-per-run {self.gpus_per_run:g}: must be a finite number, "
                            "0 or more")
        cores = usable_cpus()
        if self.backend == "local" and self.cpus_per_run > cores:
            # each local run takes that many threads; far past the cores it killed every
            # worker as it started (torch refuses a thread count past a C int)
            raise BadConfig(f"--cpus-per-run {self.cpus_per_run:g}: this process may use "
                            f"{cores} CPU(s) for the local backend's runs; give at most that, "
                            "or use --backend ray for a cluster")
        room = max(1, int(cores // self.cpus_per_run))
        if self.backend == "local" and (self.max_parallel or 0) > room:
            # --max-parallel 1000 started as many processes, each training slower than alone
            raise BadConfig(f"--max-parallel {self.max_parallel}: the local backend has room "
                            f"for {room} run(s) at once ({cores} CPU(s) / --cpus-per-run "
                            f"{self.cpus_per_run:g}); give at most that, or use --backend ray")
        if self.backend == "local" and (self.gpus_per_run or self.address):
            raise BadConfig("--gpus-per-run and --address are Ray options; add --backend ray "
                            "(the local backend runs every run on --device)")
        if self.data_dir is not None and len(self.datasets) > 1:
            raise BadConfig("--data-dir names one dataset's files; sweep one dataset at a "
                            "time when you give it")


def _names(value, option: str) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))
    if not names:
        raise BadConfig(f"{option}: give at least one name (comma-separated)")
    return names


MAX_SEEDS = 10_000


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"3"`` -> (0, 1, 2); ``"0,1,2"`` or ``"7,"`` -> those seeds."""
    text = text.strip()
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise ValueError(text)
            if count > MAX_SEEDS:   # a typo's count filled memory before any run started
                raise BadConfig(f"--seeds {text}: at most {MAX_SEEDS:,} seeds a sweep; give "
                                "a list (e.g. 0,1,2) for particular seeds")
            return tuple(range(count))
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise BadConfig(f"--seeds {text!r}: give a count (3 means seeds 0,1,2) or a "
                        "comma-separated list (0,1,2)") from None


def parse_vocabs(text: str | None) -> tuple[int | None, ...]:
    """``"100,200"`` -> (100, 200); nothing -> each dataset's whole vocabulary."""
    if text is None or not text.strip():
        return (None,)
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        sizes = ()
    if not sizes:   # "," (e.g. empty shell variables) swept the whole vocabulary unasked
        raise BadConfig(f"--vocab {text!r}: give sizes separated by commas, e.g. "
                        "--vocab 100,200,500,1000")
    return sizes


@dataclass(frozen=True)
class ModelPlan:
    """One model's effective settings in this sweep and the hash the runner will tag."""

    name: str
    overrides: dict[str, str]
    epochs: int | None
    inputs: str
    config_hash: str
    model_version: str


def model_plans(config: SweepConfig) -> dict[str, ModelPlan]:
    """Spread --set and --epochs over the models: unscoped keys go to every model that has
    the option (a grid mixes e.g. a linear probe with neural nets); ``model.key`` to one."""
    specs = {name: registry.model(name) for name in config.models}
    scoped: dict[str, dict[str, str]] = {name: {} for name in specs}
    shared: dict[str, str] = {}
    for key, value in config.overrides.items():
        owner, dot, option = key.partition(".")
        if dot:
            if owner not in specs:
                raise BadConfig(f"--set {key}={value}: {owner!r} is not one of the swept "
                                f"models ({', '.join(specs)})")
            scoped[owner][option] = value
        else:
            shared[key] = value
    for key in shared:
        if not any(key in field_names(spec.config) for spec in specs.values()):
            raise BadConfig(f"--set {key}: no swept model has this option; see "
                            "`slrbench list --model NAME`")
    if config.epochs is not None and not any("epochs" in field_names(s.config)
                                             for s in specs.values()):
        raise BadConfig(f"--epochs: none of {', '.join(specs)} trains by epochs; drop it")
    plans = {}
    for name, spec in specs.items():
        names = field_names(spec.config)
        overrides = {k: v for k, v in shared.items() if k in names} | scoped[name]
        epochs = config.epochs if "epochs" in names else None
        plugin_config = model_config(spec, overrides, epochs)
        plans[name] = ModelPlan(name=name, overrides=overrides, epochs=epochs,
                                inputs=required_inputs(spec, plugin_config),
                                model_version=registry.code_version(spec.name),
                                config_hash=config_fingerprint(
                                    spec.name, config_to_dict(plugin_config)))
    return plans


# --- the grid ------------------------------------------------------------------------------
@dataclass
class GridPoint:
    model: str
    dataset: str
    vocab: int                   # the vocabulary size the run will have
    seed: int
    requested_vocab: int | None
    split_hash: str
    config_hash: str
    model_version: str
    experiment: str
    status: str = "pending"      # pending running finished skipped failed crashed killed
    run_id: str | None = None
    error: str | None = None
    attempts: int = 0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.model, self.dataset, str(self.vocab), str(self.seed), self.split_hash,
                self.config_hash, self.model_version)

    @property
    def cell(self) -> tuple[str, str, int]:
        return (self.model, self.dataset, self.vocab)

    @property
    def label(self) -> str:
        return f"{self.model} on {self.dataset}-{self.vocab} seed {self.seed}"


@dataclass
class Plan:
    config: SweepConfig
    tracking_uri: str
    models: dict[str, ModelPlan]
    points: list[GridPoint]

    @property
    def experiments(self) -> list[str]:
        return sorted({p.experiment for p in self.points})


def absolute_uri(uri: str | None) -> str:
    """Workers run elsewhere (other processes, other directories): a local store must be
    named by its absolute path."""
    from harness.run.tracking import local_store_path, resolve_uri
    resolved = resolve_uri(uri)
    local = local_store_path(resolved)
    if local is None:
        return resolved
    return f"sqlite:///{local}" if resolved.startswith("sqlite") else local.as_uri()


def _split(config: SweepConfig, dataset: str, vocab: int | None, model: ModelPlan,
           say: Say) -> tuple[int, str]:
    inputs = model.inputs
    request = make_request(config.data_dir, vocab, config.split_seed, inputs, config.verbose,
                           config.data_options)
    clips, manifest = load_clipset(dataset, request)
    # the first model that reads these inputs, as `slrbench run` names it ("the sweep's
    # video models needs videos" was the message)
    require_inputs(clips, inputs, dataset, f"model {model.name!r}")
    say(f"{dataset}: {len(clips.vocab)} signs, {len(clips)} clips, split "
        f"{manifest.sha256[:12]}")
    return len(clips.vocab), manifest.sha256


def existing_experiments(uri: str, names: list[str]) -> list[str]:
    """Those of ``names`` the store has (none where there is no store yet)."""
    if missing_local_store(uri) is not None:
        return []
    mlflow_client, _ = client(uri)
    found = [experiment for name in names
             if (experiment := mlflow_client.get_experiment_by_name(name)) is not None]
    for experiment in found:   # the dry run's plan is the plan the sweep could not run
        require_active(experiment, uri)
    return [experiment.name for experiment in found]


def finished_runs(uri: str, experiments: list[str]) -> dict[tuple[str, ...], pd.Series]:
    """The latest FINISHED run of every (model, dataset, vocab, seed, split, config) key."""
    if not experiments:
        return {}
    runs = load_runs(uri, experiments, finished_only=True)
    columns = [f"tags.{TAG}{name}" for name in KEY_TAGS]
    if runs.empty or any(c not in runs for c in columns):
        return {}
    runs = runs.dropna(subset=columns).sort_values("start_time")
    latest: dict[tuple[str, ...], pd.Series] = {}
    for _, row in runs.iterrows():
        latest[tuple(str(row[c]) for c in columns)] = row
    return latest


def _metrics_of(row: pd.Series) -> dict[str, float]:
    return {name[len("metrics."):]: float(value) for name, value in row.items()
            if name.startswith("metrics.") and pd.notna(value)}


def plan_grid(config: SweepConfig, on_event: Say | None = None, record: bool = True) -> Plan:
    """Expand the grid and mark the points MLflow already has as ``skipped``. ``record``:
    the grid is about to run, so its store and experiments are made now; without it (a dry
    run) nothing is written, not even a new store."""
    say = on_event or (lambda message: None)
    models = model_plans(config)
    uri = absolute_uri(config.tracking_uri)
    splits: dict[tuple[str, int | None, str], tuple[int, str]] = {}
    points = []
    for dataset in config.datasets:
        for vocab in config.vocabs:
            for plan in models.values():
                where = (dataset, vocab, plan.inputs)
                if where not in splits:
                    splits[where] = _split(config, dataset, vocab, plan, say)
                size, split_hash = splits[where]
                for seed in config.seeds:
                    points.append(GridPoint(
                        model=plan.name, dataset=dataset, vocab=size, seed=seed,
                        requested_vocab=vocab, split_hash=split_hash,
                        config_hash=plan.config_hash, model_version=plan.model_version,
                        experiment=experiment_name(dataset, size)))
    result = Plan(config=config, tracking_uri=uri, models=models, points=points)
    if record:
        # Creating the experiments here, once, spares parallel workers a race to create them
        # (and a first-use schema migration of a new sqlite store).
        mlflow_client, _ = client(uri, writes=True)
        for name in result.experiments:
            ensure_experiment(mlflow_client, name, uri)
        existing = finished_runs(uri, result.experiments)
    else:
        existing = finished_runs(uri, existing_experiments(uri, result.experiments))
    for point in points:
        row = existing.get(point.key)
        if row is not None:
            point.status, point.run_id, point.metrics = "skipped", row["run_id"], _metrics_of(row)
    return result


# --- running it ----------------------------------------------------------------------------
@dataclass
class SweepResult:
    config: SweepConfig
    tracking_uri: str
    runs: pd.DataFrame            # one row per grid point: keys, status, run_id, error, metrics
    summary: pd.DataFrame         # one row per cell (model, dataset, vocab): mean/std over seeds
    sweep_id: str = ""
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(self.runs["status"])) if len(self.runs) else {}

    @property
    def failed(self) -> pd.DataFrame:
        return self.runs[self.runs["status"].isin(UNSUCCESSFUL)]

    @property
    def complete(self) -> bool:
        return bool(len(self.runs)) and self.runs["status"].isin(DONE).all()


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a sweep, after the runs in flight were stopped; carries what
    was done, and the exit code the signal calls for (130 or 143)."""

    def __init__(self, result: SweepResult, exit_code: int = 130):
        super().__init__("sweep interrupted")
        self.result = result
        self.exit_code = exit_code


def make_backend(config: SweepConfig, pending: int):
    threads = max(1, int(config.cpus_per_run))
    if config.backend == "ray":
        num_cpus = None
        if config.max_parallel is not None and not config.address:
            num_cpus = max(1, int(config.max_parallel * config.cpus_per_run))
        return RayBackend(address=config.address, cpus_per_run=config.cpus_per_run,
                          gpus_per_run=config.gpus_per_run, num_cpus=num_cpus,
                          max_parallel=config.max_parallel, verbose=config.verbose)
    # cores / --cpus-per-run as its help says: by the whole threads a run gets, 0.5 CPUs a
    # run ran as many runs at once as 1 did
    workers = config.max_parallel or max(1, int(usable_cpus() // config.cpus_per_run))
    return LocalBackend(workers=min(workers, max(1, pending)), threads=threads,
                        verbose=config.verbose)


def _job(plan: Plan, point: GridPoint, index: int, sweep_id: str) -> Job:
    config, model = plan.config, plan.models[point.model]
    token = uuid.uuid4().hex
    run = RunConfig(model=point.model, dataset=point.dataset, vocab=point.requested_vocab,
                    seed=point.seed, split_seed=config.split_seed, epochs=model.epochs,
                    overrides=dict(model.overrides), data_dir=config.data_dir,
                    data_options=dict(config.data_options), tracking_uri=plan.tracking_uri,
                    device=config.device, latency_clips=config.latency_clips,
                    verbose=config.verbose, tags={SWEEP_TAG: sweep_id, JOB_TAG: token},
                    system_metrics=config.system_metrics)
    return Job(index=index, token=token, config=run, threads=max(1, int(config.cpus_per_run)))


def job_run(uri: str, experiments: list[str], token: str,
            orphan_reason: str | None = None, orphan_status: str = "FAILED") -> str | None:
    """The MLflow run one attempt created, if it got that far. With ``orphan_reason`` (its
    worker died) a run left RUNNING forever is marked ``orphan_status`` with that reason. A
    store that cannot be reached gives None: the run's own error already says so."""
    try:
        mlflow_client, _ = client(uri)
        ids = [e.experiment_id for name in experiments
               if (e := mlflow_client.get_experiment_by_name(name)) is not None]
        runs = mlflow_client.search_runs(ids, filter_string=f"tags.`{JOB_TAG}` = '{token}'")
    except Exception as error:  # noqa: BLE001
        if is_tracking_failure(error) or isinstance(error, TrackingError):
            return None
        raise
    run_id = None
    for run in runs:
        run_id = run.info.run_id
        if orphan_reason and run.info.status == "RUNNING":
            mlflow_client.set_tag(run_id, TAG + "error", orphan_reason[:5000])
            mlflow_client.set_terminated(run_id, orphan_status)
    return run_id


def run_grid(config: SweepConfig, progress: bool | None = None,
             on_event: Say | None = None) -> SweepResult:
    """Run every grid point MLflow does not have yet; returns per-run and per-cell tables.

    ``progress``: a live table on the terminal (default: when stderr is a terminal), else
    one line per finished run. Raises :class:`SweepInterrupted` on Ctrl-C, after stopping
    the runs in flight (they are marked KILLED and run again next time).
    """
    from harness.util.progress import progress_enabled
    from harness.sweep.view import SweepView
    started = time.monotonic()
    plan = plan_grid(config, on_event)
    # a RUNNING run whose process is gone (SIGKILL, a lost machine) failed: say so in MLflow
    from harness.run.stale_runs import fail_stale_runs
    stale = fail_stale_runs(plan.tracking_uri, plan.experiments)
    if stale and on_event:
        on_event(f"marked FAILED {len(stale)} run(s) left RUNNING by a process that is gone: "
                 f"{', '.join(run.run_id for run in stale)}")
    sweep_id = uuid.uuid4().hex[:12]
    pending = collections.deque(i for i, p in enumerate(plan.points) if p.status == "pending")
    interrupted, exit_code = False, 130
    if pending:
        backend = make_backend(config, len(pending))
        if config.backend == "ray" and config.address and plan.tracking_uri.startswith(
                ("sqlite:", "file:")) and on_event:
            on_event(f"note: runs log to {plan.tracking_uri}; Ray workers on other machines "
                     "need that path shared, or pass --tracking-uri http://MLFLOW-SERVER")
        view = SweepView(plan.points, backend.name,
                         live=progress_enabled() if progress is None else progress)
        in_flight: dict[str, Job] = {}
        killed: list[str] = []

        def settle(job: Job, outcome: Outcome) -> None:
            in_flight.pop(job.token, None)
            point = plan.points[job.index]
            if outcome.status == "cancelled":  # never started: still to do
                point.status = "pending"
                return
            if outcome.status != "finished":
                found = job_run(plan.tracking_uri, plan.experiments, job.token,
                                f"sweep: {outcome.error}" if outcome.status == "crashed"
                                else None)
                outcome = replace(outcome, run_id=found)
            if outcome.status == "killed" and outcome.run_id is None:
                point.status = "pending"  # stopped before it reached MLflow: still to do
                return
            if outcome.status == "killed":
                killed.append(job.token)
            if outcome.status == "crashed":
                if point.attempts < MAX_ATTEMPTS and not interrupted:
                    point.status = "pending"
                    pending.appendleft(job.index)
                    view.note(point, outcome, retry=True)
                    return
            point.status, point.error = outcome.status, outcome.error
            point.run_id = outcome.run_id or point.run_id
            point.metrics = outcome.metrics
            view.note(point, outcome)

        # SIGTERM may reach the sweep alone (kill PID, a scheduler ending the job): it must
        # stop the workers as Ctrl-C does, or they train on with their runs RUNNING.
        with view, sigterm_interrupts():
            try:
                backend.start()
                while pending or in_flight:
                    while pending and len(in_flight) < backend.capacity:
                        index = pending.popleft()
                        job = _job(plan, plan.points[index], index, sweep_id)
                        plan.points[index].status = "running"
                        plan.points[index].attempts += 1
                        in_flight[job.token] = job
                        backend.submit(job)
                    for job, outcome in backend.wait(0.5):
                        settle(job, outcome)
                    view.refresh()
            except KeyboardInterrupt as stop:
                interrupted = True
                exit_code = interrupt_exit_code(stop)
                view.message("stopping: runs in flight are marked KILLED; rerun the same "
                             "command to resume")
                for job, outcome in backend.stop():
                    settle(job, outcome)
                for job in in_flight.values():  # interrupted before the backend had it
                    plan.points[job.index].status = "pending"
            finally:
                backend.close()
                # A stopped task can be reported cancelled before its worker has marked the
                # run KILLED, and closing a Ray instance the sweep started kills that worker.
                for token in killed:
                    job_run(plan.tracking_uri, plan.experiments, token,
                            "stopped: the sweep was interrupted", "KILLED")
    result = collect(plan, sweep_id, time.monotonic() - started, interrupted)
    if interrupted:
        raise SweepInterrupted(result, exit_code)
    return result


# --- reading the results back ---------------------------------------------------------------
def collect(plan: Plan, sweep_id: str = "", seconds: float = 0.0,
            interrupted: bool = False) -> SweepResult:
    """Per-run and per-cell tables from MLflow: a point counts if it has a FINISHED run (or,
    with the store out of reach, if this sweep saw it finish)."""
    try:
        existing = finished_runs(plan.tracking_uri, plan.experiments)
    except TrackingError:
        existing = {}
    rows = []
    for point in plan.points:
        row = existing.get(point.key)
        metrics = _metrics_of(row) if row is not None else point.metrics
        status = point.status
        if row is not None and status not in DONE:
            status = "finished"  # e.g. finished by another sweep running at the same time
        rows.append({"model": point.model, "dataset": point.dataset, "vocab": point.vocab,
                     "seed": point.seed, "status": status,
                     "run_id": row["run_id"] if row is not None else point.run_id,
                     "error": None if status in DONE else point.error,
                     **{m: metrics.get(m, float("nan")) for m in SUMMARY_METRICS}})
    runs = pd.DataFrame(rows, columns=["model", "dataset", "vocab", "seed", "status", "run_id",
                                       "error", *SUMMARY_METRICS])
    return SweepResult(config=plan.config, tracking_uri=plan.tracking_uri, runs=runs,
                       summary=summarise(runs), sweep_id=sweep_id, seconds=seconds,
                       interrupted=interrupted)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std (ddof=1; NaN for one seed) over the seeds of every cell."""
    cells = []
    for (model, dataset, vocab), group in runs.groupby(["model", "dataset", "vocab"],
                                                       sort=False):
        done = group[group["status"].isin(DONE)]
        cell = {"model": model, "dataset": dataset, "vocab": int(vocab),
                "seeds": len(done), "planned": len(group)}
        for metric in SUMMARY_METRICS:
            stat = MeanStd.of(done[metric])
            cell[f"{metric}_mean"], cell[f"{metric}_std"] = stat.mean, stat.std
        cells.append(cell)
    columns = ["model", "dataset", "vocab", "seeds", "planned",
               *[f"{m}_{s}" for m in SUMMARY_METRICS for s in ("mean", "std")]]
    return pd.DataFrame(cells, columns=columns)
