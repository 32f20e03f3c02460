"""MLflow: where runs go, what each run records, and reading runs and models back.

Default store: ``sqlite:///mlruns.db`` in the working directory, artifacts in
``mlartifacts/`` beside it; ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` selects another
store or a tracking server. One experiment per dataset and vocabulary size.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import unquote, urlparse

import pandas as pd

from harness.errors import SlrbenchError, TrackingError
from harness.util.atomic import temporary_beside
from harness.util.paths import project_root

TAG = "slrbench."
DATA_OPTION = "data_option."    # a run's --data-option key=value, logged as a param
MODEL_ARTIFACT = "model"
MODEL_INFO = "slrbench.json"
PACKAGES = ("slrbench", "torch", "numpy", "pandas", "scikit-learn", "mlflow", "mediapipe",
            "tensorflow-cpu", "keras", "ray")


# A tracking server that is down must fail a run in seconds, not after MLflow's default
# 7 retries with exponential backoff (minutes per call); the user's own settings win.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def _mlflow():
    from harness.util.quiet import silence_native_logs
    silence_native_logs()
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    import logging

    import mlflow
    # mlflow configures its own loggers on import; quiet them after it has done so.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # its failures are logged with their tracebacks before they are raised, and the raised
    # error is what slrbench reports, in one line
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    return mlflow


def resolve_uri(uri: str | None = None) -> str:
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlruns.db'}"
    if uri.startswith("sqlite:") and uri[len("sqlite:///"):].split("?")[0].strip() in ("",
                                                                                      ":memory:"):
        raise TrackingError(f"--tracking-uri {uri}: names no database file, so MLflow would "
                            "keep the runs in memory and lose them when the command ends; "
                            "give one, e.g. sqlite:///mlruns.db or sqlite:////abs/path/mlruns.db")
    local = local_store_path(uri)
    if local is not None:
        directory = local.parent if uri.startswith("sqlite") else local
        if not directory.exists():
            raise TrackingError(f"tracking directory {directory} does not exist; create it or "
                                "pass --tracking-uri to another location")
        if not directory.is_dir() and not uri.startswith("sqlite"):
            raise TrackingError(f"--tracking-uri {uri}: {directory} is a file, but a plain "
                                "path or file:// names a folder store; for a SQLite database "
                                f"write sqlite:///{directory}")
        if not directory.is_dir():
            raise TrackingError(f"--tracking-uri {uri}: {directory} is a file, not a folder; "
                                "pass --tracking-uri to another location")
        if uri.startswith("sqlite") and local.is_dir():
            # MLflow retried opening it for about 100 s before saying so
            raise TrackingError(f"--tracking-uri {uri}: {local} is a folder, not a database "
                                f"file; give one inside it, e.g. sqlite:///{local / 'mlruns.db'}")
        if not os.access(directory, os.W_OK):
            raise TrackingError(f"tracking directory {directory} is read-only; pass "
                                "--tracking-uri to a writable location")
    return uri


def local_store_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(unquote(uri[len("sqlite:///"):])).resolve()
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path)).resolve()
    return None


def artifact_root(uri: str) -> str | None:
    """Artifacts of a local store live beside it, wherever the command is run from."""
    local = local_store_path(uri)
    if local is None:
        return None
    base = local.parent if uri.startswith("sqlite") else local
    return (base / "mlartifacts").as_uri()


def client(uri: str | None = None, writes: bool = False):
    """An MLflow client on the store and its resolved URI. ``writes``: the command is about
    to record runs, so a local store that cannot be written is refused now, in one line
    (MLflow itself only fails at its first write, in pages of logged tracebacks), and a
    local store not there yet is made. Without it a missing local store is an error: a
    command that only reads (``report``, ``export`` in the wrong folder) leaves no empty
    store behind."""
    mlflow = _mlflow()
    resolved = check_store(uri, writes)
    missing = None if writes else missing_local_store(resolved)
    if missing is not None:
        raise TrackingError(f"no MLflow store at {missing}: nothing has been tracked there "
                            "yet; run slrbench from the folder that holds your runs' "
                            "mlruns.db, or pass --tracking-uri")
    try:
        with _creation_lock(resolved):
            _create_sqlite_store(resolved)
            return mlflow.MlflowClient(tracking_uri=resolved), resolved
    except Exception as error:  # noqa: BLE001 - mlflow raises many types for bad stores
        raise TrackingError(f"cannot open the MLflow store {resolved}: "
                            f"{describe_failure(error)}") from None


# How long a tracking server gets to answer a first request: one try, so that a server that
# is down or silent fails a command in seconds (MLflow's own retries, HTTP_DEFAULTS, would
# spend minutes on it), before any data is read.
PROBE_SECONDS = 10
_ANSWERED: set[str] = set()


def check_store(uri: str | None = None, writes: bool = False) -> str:
    """The resolved URI, once its local folder is known to be writable (with ``writes``,
    its sqlite file too) or its server to answer; else one TrackingError line naming the
    URI."""
    resolved = resolve_uri(uri)
    _require_known_scheme(resolved)
    if writes:
        _require_writable_file(resolved)
    if urlparse(resolved).scheme in ("http", "https") and resolved not in _ANSWERED:
        _mlflow()
        # the user's own shorter request timeout wins
        seconds = min(PROBE_SECONDS, float(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"]))
        from mlflow.utils.credentials import get_default_host_creds
        from mlflow.utils.rest_utils import http_request
        try:
            http_request(get_default_host_creds(resolved), "/api/2.0/mlflow/experiments/search",
                         "GET", max_retries=0, timeout=seconds, raise_on_status=False,
                         params={"max_results": 1})
        except Exception as error:  # noqa: BLE001 - requests and mlflow wrap it many ways
            raise TrackingError(f"cannot reach the tracking server {resolved}: "
                                f"{describe_failure(error)} (one try, {seconds:g} s); "
                                "check that it is running, or pass another --tracking-uri"
                                ) from None
        _ANSWERED.add(resolved)
    return resolved


@contextlib.contextmanager
def _creation_lock(uri: str):
    """Serialises opening a sqlite store: the first open creates and migrates its schema,
    and two processes doing it at once lose one of them to the race."""
    if not uri.startswith("sqlite:"):
        yield
        return
    import fcntl
    folder = os.open(local_store_path(uri).parent, os.O_RDONLY)   # a lock on the folder:
    try:                                                           # no lock file left behind
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)


def _require_known_scheme(uri: str) -> None:
    """A URI no MLflow store answers to fails now, not once the run has loaded its data."""
    try:    # MLflow's own registry (plugins' schemes included); private, so guarded
        from mlflow.tracking._tracking_service.utils import _tracking_store_registry
        known = dict(_tracking_store_registry._registry)
    except (ImportError, AttributeError):
        return
    scheme = urlparse(uri).scheme
    if len(scheme) > 1 and scheme not in known:   # one letter: a Windows drive, a path
        raise TrackingError(f"--tracking-uri {uri}: MLflow has no store for '{scheme}://'; "
                            f"use one of {', '.join(sorted(k for k in known if k))}, e.g. "
                            "sqlite:///mlruns.db or http://HOST:5000")


def _sqlite_file(uri: str) -> Path | None:
    return local_store_path(uri) if uri.startswith("sqlite:") else None


def missing_local_store(uri: str) -> Path | None:
    """The sqlite file a URI names, when it does not exist (yet)."""
    path = _sqlite_file(uri)
    return path if path is not None and not path.exists() else None


def _require_writable_file(uri: str) -> None:
    path = _sqlite_file(uri)
    if path is None or not path.exists():
        return
    try:
        with open(path, "r+b"):
            pass
    except OSError as error:
        raise TrackingError(f"the MLflow store {path} cannot be written ({error.strerror}); "
                            "make it writable or pass --tracking-uri to another store"
                            ) from None


def _create_sqlite_store(uri: str) -> None:
    """A new sqlite store is made whole in a temporary file beside it, then renamed into
    place. MLflow creates and migrates the schema over seconds, and a store interrupted
    there (Ctrl-C during a first run) was left half-made, refused by every later command
    ("table ... already exists"). Called under the creation lock."""
    path = _sqlite_file(uri)
    if path is None or path.exists():
        return
    try:    # how MLflow itself builds a store for a URI; private, so guarded
        from mlflow.tracking._tracking_service.utils import _get_sqlalchemy_store
    except ImportError:
        return                           # MLflow then makes the store in place, as before
    # made by MLflow, with the umask's permissions (mkstemp's 0600 kept other users, and a
    # server run as another user, out of the store)
    temporary = temporary_beside(path)
    try:
        store = _get_sqlalchemy_store(f"sqlite:///{temporary}", None)
        store.engine.dispose()
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def experiment_name(dataset: str, vocab: int) -> str:
    return f"{dataset}-{vocab}"


def ensure_experiment(mlflow_client, name: str, uri: str) -> str:
    try:
        experiment = mlflow_client.get_experiment_by_name(name)
        if experiment is None:
            return _create_experiment(mlflow_client, name, uri)
    except Exception as error:  # noqa: BLE001
        raise TrackingError(f"cannot create experiment {name!r} in {uri}: "
                            f"{describe_failure(error)}") from None
    require_active(experiment, uri)
    return experiment.experiment_id


def _create_experiment(mlflow_client, name: str, uri: str) -> str:
    root = artifact_root(uri)
    location = f"{root}/{name}" if root else None
    try:
        return mlflow_client.create_experiment(name, artifact_location=location)
    except Exception:  # noqa: BLE001 - another process may just have created it
        experiment = mlflow_client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def require_active(experiment, uri: str) -> None:
    """An experiment deleted in MLflow (its UI's trash) keeps its name, takes no new run
    and lets no new experiment have the name: every run failed with MLflow's own words
    after its data was loaded, each run of a sweep alike. Said once, with the ways out."""
    if experiment.lifecycle_stage != "deleted":
        return
    store, number = f"MLFLOW_TRACKING_URI={uri}", experiment.experiment_id
    raise TrackingError(f"experiment {experiment.name!r} in {uri} is deleted (in MLflow's "
                        f"trash): restore it with `{store} mlflow experiments restore "
                        f"--experiment-id {number}`, or remove it for good with `{store} "
                        f"mlflow gc --experiment-ids {number}`")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    versions["python"] = platform.python_version()
    return versions


def git_state(root: Path | None = None, limit: int = 1000) -> tuple[str, str]:
    """The checkout's commit (``-dirty`` with uncommitted changes to tracked files, or
    "unknown") and those files, comma-separated (cut at ``limit`` characters): what a
    reader needs to judge whether the difference touched the code that made a figure."""
    root = root or project_root()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=5).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=root, capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", ""
    if not commit:
        return "unknown", ""
    files = ", ".join(sorted(line[3:].strip() for line in status.splitlines() if line.strip()))
    files = files if len(files) <= limit else files[:limit - 1] + "…"
    return commit + ("-dirty" if files else ""), files


def machine() -> str:
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    return f"{platform.machine()} {platform.system()}, {os.cpu_count()} cpus{memory}"


class TrackedRun:
    """One MLflow run, written through the client API (safe in threads and processes).

    Use as a context manager: leaving the block normally marks the run FINISHED, an
    exception marks it FAILED with the error recorded as a tag, so no broken run is ever
    shown as finished.
    """

    def __init__(self, uri: str | None, experiment: str, run_name: str, tags: dict[str, str],
                 system_metrics: bool = False):
        if system_metrics:
            require_system_metrics()  # before the run exists: no run left RUNNING
        self.client, self.uri = client(uri, writes=True)
        self.experiment_id = ensure_experiment(self.client, experiment, self.uri)
        from harness.util.process import identity
        # the process, so that a run it leaves RUNNING (SIGKILL) can be found stale later
        owner = {TAG + key: value for key, value in identity().items()}
        try:
            run = self.client.create_run(self.experiment_id, run_name=run_name,
                                         tags={**tags, **owner})
        except Exception as error:  # noqa: BLE001
            raise TrackingError(f"cannot write to the MLflow store {self.uri}: "
                                f"{describe_failure(error)}") from None
        self.run_id = run.info.run_id
        self.artifact_uri = run.info.artifact_uri
        self._signals = None
        self.experiment = experiment
        self.monitor = start_system_metrics(self.run_id, self.uri) if system_metrics else None

    def __enter__(self) -> "TrackedRun":
        from harness.util.signals import sigterm_interrupts
        self._signals = sigterm_interrupts()   # SIGTERM, SIGHUP: the run KILLED, as Ctrl-C
        self._signals.__enter__()
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if self._signals is not None:
            self._signals.__exit__(None, None, None)
        if self.monitor is not None:
            stop_system_metrics(self.monitor)
        if error is None:
            try:
                self.client.set_terminated(self.run_id, "FINISHED")
            except Exception as problem:  # noqa: BLE001
                raise self.lost(problem) from None
            return False
        message = f"{kind.__name__}: {error}"[:5000]
        status = "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        try:
            self.client.set_tag(self.run_id, TAG + "error", message)
            self.client.set_terminated(self.run_id, status)
            if status == "KILLED":
                said = str(error) or "interrupted"
                error.args = (f"{said}: run {self.run_id} is marked KILLED",)
        except Exception as problem:  # noqa: BLE001 - the original error matters more
            if isinstance(error, SlrbenchError):
                raise TrackingError(
                    f"{error}; run {self.run_id} could not be marked {status} either "
                    f"({describe_failure(problem)}): `slrbench runs --clean-stale` does it "
                    "once the store can be written") from None
        if is_tracking_failure(error):
            raise self.lost(error) from None
        return False

    def lost(self, error: BaseException) -> TrackingError:
        return TrackingError(f"run {self.run_id} could not be recorded in {self.uri}: "
                             f"{describe_failure(error)}; run the same command again once "
                             "the store is back (finished runs are kept)")

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param
        items = [Param(str(k)[:250], str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start:start + 100])

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        self.client.log_metric(self.run_id, name, float(value), step=step or 0)

    def log_metrics(self, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric
        import time
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=items)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value))

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self._publish(Path(path), artifact_path, Path(path).name)

    def log_artifacts(self, directory: Path, artifact_path: str | None = None) -> None:
        if artifact_path is None:  # the folder's entries go to the run's root, one by one
            for entry in sorted(Path(directory).iterdir()):
                self._publish(entry, None, entry.name)
            return
        self._publish(Path(directory), None, artifact_path)

    def _publish(self, source: Path, folder: str | None, name: str) -> None:
        """An artifact appears whole or not at all: in a local artifact store it is copied
        under a temporary name and renamed into place (a full disk leaves no truncated
        weights); other stores get it through MLflow."""
        parsed = urlparse(self.artifact_uri)
        try:
            if parsed.scheme != "file":
                if source.is_dir():
                    self.client.log_artifacts(self.run_id, str(source), name)
                else:
                    self.client.log_artifact(self.run_id, str(source), folder)
                return
            import shutil

            from harness.util.atomic import atomic_path
            target = Path(unquote(parsed.path)) / (folder or "") / name
            with atomic_path(target) as tmp:
                (shutil.copytree if source.is_dir() else shutil.copyfile)(source, tmp)
        except OSError as error:
            import errno
            where = Path(unquote(parsed.path)) if parsed.scheme == "file" else self.artifact_uri
            fix = ("free space on that disk" if error.errno in (errno.ENOSPC, errno.EDQUOT)
                   else "make it writable or pass --tracking-uri elsewhere")
            raise TrackingError(f"cannot write run {self.run_id}'s artifacts in {where}: "
                                f"{error.strerror or error}; {fix} and run the same command "
                                "again") from None


def is_tracking_failure(error: BaseException) -> bool:
    """An error of the MLflow store itself (unreachable server, refused request), as
    opposed to one of the run."""
    if isinstance(error, TrackingError):
        return False
    from mlflow.exceptions import MlflowException
    import requests
    return isinstance(error, (MlflowException, requests.exceptions.RequestException))


def describe_failure(error: BaseException) -> str:
    """One line for MLflow's multi-line, URL-laden connection errors."""
    text = str(error)
    for marker, words in (("Connection refused", "the tracking server refused the connection "
                                                 "(is it running?)"),
                          ("Max retries exceeded", "the tracking server did not answer"),
                          ("timed out", "the tracking server timed out"),
                          ("Name or service not known", "the tracking server's host is unknown"),
                          # MLflow 3's folder store: its long notice, cut short, hid the fix
                          ("filesystem tracking backend", "MLflow refuses a folder (its old "
                           "file store) as a store; give a database such as "
                           "sqlite:///mlflow.db (`mlflow migrate-filestore` moves an old "
                           "folder's runs into one)")):
        if marker in text:
            return words
    return text.splitlines()[0][:300] if text else type(error).__name__


def require_system_metrics() -> None:
    try:
        import psutil  # noqa: F401 - what mlflow's monitors read
    except ImportError:
        raise TrackingError("system metrics need psutil: pip install 'slrbench[system-metrics]'"
                            " or drop --system-metrics") from None


def start_system_metrics(run_id: str, uri: str):
    """MLflow's own system-metrics sampler (CPU, memory, disk, network as system/*), sampling
    every second so that short runs get points too."""
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
    monitor = SystemMetricsMonitor(run_id, sampling_interval=1, samples_before_logging=1,
                                   tracking_uri=uri)
    monitor.start()
    return monitor


def stop_system_metrics(monitor) -> None:
    """Stop the sampler and log one last sample: a run shorter than the sampling interval
    would otherwise have none (the sampler drops the sample it is taking when stopped)."""
    monitor.finish()
    try:
        monitor.collect_metrics()
        monitor.publish_metrics(monitor.aggregate_metrics())
        monitor.mlflow_logger.flush()
    except Exception:  # noqa: BLE001 - system metrics are a convenience, never a failure
        pass


# --- reading back ---------------------------------------------------------------------

def load_runs(uri: str | None = None, experiments: Iterable[str] | None = None,
              finished_only: bool = True) -> pd.DataFrame:
    """Every slrbench run as one row: params.*, metrics.*, tags.*, run_id, status, ..."""
    try:
        return _search_runs(uri, experiments, finished_only)
    except Exception as error:  # noqa: BLE001
        if not is_tracking_failure(error):
            raise
        raise TrackingError(f"cannot read the runs in {resolve_uri(uri)}: "
                            f"{describe_failure(error)}") from None


def _search_runs(uri: str | None, experiments: Iterable[str] | None,
                 finished_only: bool) -> pd.DataFrame:
    mlflow = _mlflow()
    resolved = resolve_uri(uri)
    if missing_local_store(resolved) is not None and not experiments:
        return pd.DataFrame()                # no store: no runs, and none made by looking
    mlflow_client, _ = client(resolved)
    if experiments:
        names = list(experiments)
        missing = [n for n in names if mlflow_client.get_experiment_by_name(n) is None]
        if missing:
            raise TrackingError(f"no experiment named {', '.join(map(repr, missing))} in "
                                f"{resolved}")
    else:
        # Default too: `run --experiment Default` records there, and its runs (a stale
        # one among them) were in no listing, report or clean-up
        names = [e.name for e in mlflow_client.search_experiments()]
    if not names:
        return pd.DataFrame()
    mlflow.set_tracking_uri(resolved)
    query = "attributes.status = 'FINISHED'" if finished_only else ""
    runs = mlflow.search_runs(experiment_names=names, filter_string=query, max_results=50000,
                              output_format="pandas")
    # Another tool's runs (no slrbench tags) are left out, also where they are all the
    # experiment holds: kept, they reached `runs` without the columns it lists (KeyError).
    model = f"tags.{TAG}model"
    runs = runs[runs[model].notna()] if model in runs else runs.iloc[0:0]
    return runs.reset_index(drop=True)


def download_artifacts(run_id: str, path: str, uri: str | None = None,
                       destination: Path | None = None) -> Path:
    mlflow_client, resolved = client(uri)
    try:
        run = mlflow_client.get_run(run_id)
    except Exception:  # noqa: BLE001
        raise TrackingError(f"no run {run_id!r} in {resolved}; list runs with "
                            "`slrbench runs` or pass --tracking-uri") from None
    destination = destination or Path(tempfile.mkdtemp(prefix="slrbench-"))
    try:
        return Path(mlflow_client.download_artifacts(run_id, path, str(destination)))
    except Exception as error:  # noqa: BLE001 - mlflow and the artifact stores raise many types
        try:
            missing = not mlflow_client.list_artifacts(run_id, path)
        except Exception:  # noqa: BLE001
            missing = False
        if missing and run.info.status == "RUNNING":
            # a run saves its model last: "failed before saving" would send the user to
            # train again a model that is still training
            from harness.util.process import GONE, state
            tags = run.data.tags
            if state(tags.get(TAG + "pid"), tags.get(TAG + "host"),
                     tags.get(TAG + "process_start")) == GONE:
                raise TrackingError(f"run {run_id} has no {path}/ artifacts in {resolved}: it "
                                    "shows RUNNING but its process is gone (killed before "
                                    "saving them); `slrbench runs --clean-stale` marks it "
                                    "FAILED; train the model again") from None
            raise TrackingError(f"run {run_id} is still running: its {path}/ artifacts are "
                                "saved when it finishes; wait for it (`slrbench runs` lists "
                                "it) and predict then") from None
        if missing:
            raise TrackingError(f"run {run_id} has no {path}/ artifacts in {resolved} (deleted, "
                                "or the run failed before saving them); train the model "
                                "again") from None
        unreadable = _unreadable_artifact(run.info.artifact_uri, path)
        if unreadable is not None:
            raise TrackingError(f"{unreadable}: permission denied reading run {run_id}'s "
                                f"{path}/ artifacts; make it readable for this user") from None
        raise TrackingError(f"cannot fetch {path}/ of run {run_id} from {resolved}: "
                            f"{describe_failure(error)}") from None


def _unreadable_artifact(artifact_uri: str, path: str) -> Path | None:
    """The first file or folder under a local artifact store's ``path`` that this user
    cannot read: MLflow says only "please ensure that the path is correct"."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file"):
        return None
    root = Path(unquote(parsed.path)) / path
    if not root.exists():
        return None
    for entry in (root, *sorted(root.rglob("*"))):
        if not os.access(entry, os.R_OK | (os.X_OK if entry.is_dir() else 0)):
            return entry
    return None


@contextlib.contextmanager
def opened_model(run_id: str, uri: str | None = None) -> Iterator["LoadedModel"]:
    """The run's model (as :func:`load_model`), its downloaded files removed after the block."""
    with tempfile.TemporaryDirectory(prefix="slrbench-model-") as folder:
        yield load_model_directory(download_artifacts(run_id, MODEL_ARTIFACT, uri,
                                                      Path(folder)), f"run {run_id}")


@dataclass
class LoadedModel:
    spec: Any
    model: Any
    info: dict

    @property
    def vocab(self) -> list[str]:
        return self.info["vocab"]


def load_model(run_id: str, uri: str | None = None) -> LoadedModel:
    """The model a run saved, rebuilt through its plugin, with its vocabulary."""
    return load_model_directory(download_artifacts(run_id, MODEL_ARTIFACT, uri), f"run {run_id}")


def load_model_directory(directory: Path, owner: str) -> LoadedModel:
    """A run's ``model/`` directory (``slrbench.json`` + ``weights/``), rebuilt through its
    plugin: what ``slrbench predict`` and the MLflow pyfunc flavour both load."""
    from harness import registry
    info_file = directory / MODEL_INFO
    if not info_file.exists():
        raise TrackingError(f"{owner} has no saved model ({MODEL_ARTIFACT}/{MODEL_INFO}); "
                            "it may have failed before saving")
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
        model_name = info["model"]
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError) as problem:
        raise TrackingError(f"{info_file}: {owner}'s model description is damaged "
                            f"({type(problem).__name__}: {problem}); train the model again"
                            ) from None
    spec = registry.model(model_name)
    config, dataset_info = saved_config(spec, info, info_file)
    from harness.run.saved_models import LOAD_FAILURES, load_failure
    try:
        model = spec.load(directory / "weights", config, dataset_info)
    except LOAD_FAILURES as error:
        raise load_failure(error, directory, owner) from None
    return LoadedModel(spec=spec, model=model, info=info)


def saved_config(spec, info: dict, where: Path):
    """The plugin config object and dataset info a run saved in ``model/slrbench.json``,
    given back to the plugin's ``load`` (older runs lack the dataset fields: defaults)."""
    from harness.data.clips import ClipSetInfo
    from harness.errors import SlrbenchError
    from harness.util.config import config_from_dict
    try:
        config = config_from_dict(spec.config, dict(info.get("config") or {}))
        vocab = tuple(str(g) for g in info["vocab"])
    except (SlrbenchError, KeyError, TypeError) as problem:
        raise TrackingError(f"{where}: the saved {spec.name!r} config does not fit this "
                            f"version of the plugin ({problem}); train the model again"
                            ) from None
    dataset_info = ClipSetInfo(name=str(info.get("clip_set") or info.get("dataset", "")),
                               num_classes=len(vocab), vocab=vocab,
                               has_landmarks=bool(info.get("has_landmarks", True)),
                               has_videos=bool(info.get("has_videos", False)),
                               lacks=tuple(info.get("lacks") or ()))
    return config, dataset_info
