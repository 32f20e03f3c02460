"""Videos (or JPEG frame folders) -> landmark store, with MediaPipe in a process pool.

The run is resumable at clip granularity: each finished clip is saved atomically as
``<STORE>.parts/<key>.npy`` and skipped when the command is run again; clips already in an
existing store at ``STORE`` are reused. A video that cannot be read (or in which nothing is
detected) is listed in ``<STORE>.errors.csv`` and the run goes on. A failure to *write*
(a full disk) stops the run with a message: the finished parts stay, and the same command
resumes. Only when every clip is accounted for are the parts packed into the store
(atomically) and removed.
"""
from __future__ import annotations

import concurrent.futures as futures
import contextlib
import csv
import hashlib
import io
import multiprocessing
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from harness.util.atomic import atomic_path, write_text
from harness.errors import BadAnnotations, BadStore, BadVideo, ExtractionAborted, SlrbenchError
from harness.util.paths import data_root
from harness.util.progress import bar
from harness.data.store import LandmarkStore, StoreWriter, is_store
from harness.extract.video_io import VIDEO_SUFFIXES, probe

INDEX_NAMES = ("labels.csv", "index.csv")
OPTIONAL_COLUMNS = ("clip_id", "signer", "split", "session", "label", "url", "start_time",
                    "end_time")
UNKNOWN_SIGNER = "unknown"
ERROR_COLUMNS = ["clip_id", "video", "error"]

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

    def worker_count(self, pending: int) -> int:
        wanted = self.workers if self.workers > 0 else (os.cpu_count() or 1)
        return max(1, min(wanted, pending))


def default_store(name: str) -> Path:
    return data_root() / "stores" / name


def store_name(videos: Path, dataset: str | None = None) -> str:
    """``gsl``/``msasl``, else the videos folder's name without a ``-videos`` suffix."""
    return dataset or Path(videos).resolve().name.removesuffix("-videos")


def parts_dir(store: Path) -> Path:
    return store.with_name(store.name + ".parts")


def errors_file(store: Path) -> Path:
    return store.with_name(store.name + ".errors.csv")


def part_key(clip_id: str) -> str:
    """A flat, collision-free file name for any clip id (ids may hold '/', '..', Greek)."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", clip_id).strip("_")[:80] or "clip"
    return f"{readable}-{hashlib.sha1(clip_id.encode('utf-8')).hexdigest()[:12]}"


# --- the index ----------------------------------------------------------------------------
def find_index(videos: Path) -> Path:
    for name in INDEX_NAMES:
        if (videos / name).exists():
            return videos / name
    raise BadAnnotations(f"{videos}: no {' or '.join(INDEX_NAMES)} here; write one with "
                         "columns file,gloss[,signer,split] (file relative to this folder) "
                         "or pass --index CSV")


def read_index(videos: Path, index_file: Path | None = None) -> pd.DataFrame:
    """The clips to extract: ``clip_id, file, video (absolute), gloss`` + optional columns."""
    videos = Path(videos)
    index_file = Path(index_file) if index_file else find_index(videos)
    if not index_file.exists():
        raise BadAnnotations(f"{index_file}: no such index file")
    try:
        index = pd.read_csv(index_file, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise BadAnnotations(f"{index_file}: not a readable CSV ({error}); it needs a header "
                             "row with file,gloss[,signer,split]") from None
    return normalise_index(index, videos, str(index_file))


def normalise_index(index: pd.DataFrame, videos: Path, where: str) -> pd.DataFrame:
    missing = [c for c in ("file", "gloss") if c not in index.columns]
    if missing:
        raise BadAnnotations(f"{where}: missing columns {missing}; the index needs file and "
                             "gloss (optional: clip_id, signer, split)")
    index = index.copy()
    for column in ("file", "gloss"):
        empty = index[column].astype(str).str.strip() == ""
        if empty.any():
            raise BadAnnotations(f"{where}: row {int(np.flatnonzero(empty)[0]) + 2} has an empty "
                                 f"{column!r}")
    index["file"] = index["file"].astype(str)
    index["gloss"] = index["gloss"].astype(str)
    # absolute, so that a store made from `--videos ../x` is recognised from anywhere
    videos = Path(os.path.abspath(videos))
    index["video"] = [os.path.abspath(p if p.is_absolute() else videos / p)
                      for p in map(Path, index["file"])]
    given = index["clip_id"].astype(str).str.strip() if "clip_id" in index else \
        pd.Series("", index=index.index)
    index["clip_id"] = [cid or default_clip_id(f, videos) for cid, f in zip(given, index["file"])]
    duplicated = index["clip_id"][index["clip_id"].duplicated()].tolist()
    if duplicated:
        raise BadAnnotations(f"{where}: duplicate clip ids {duplicated[:3]}; each row must "
                             "name a different clip (add a clip_id column)")
    if "signer" not in index:
        index["signer"] = UNKNOWN_SIGNER
    index["signer"] = index["signer"].astype(str).replace("", UNKNOWN_SIGNER)
    for column in ("start_time", "end_time"):
        if column in index:
            index[column] = pd.to_numeric(index[column], errors="coerce")
    if "split" not in index:
        index["split"] = ""
    index["split"] = index["split"].astype(str).str.strip().str.lower().replace("dev", "val")
    return index.reset_index(drop=True)


@dataclass
class ExtractionPlan:
    """What to extract and how to label it: the index, the vocabulary, the store's name."""

    index: pd.DataFrame
    vocab: list[str] | None
    dataset: str
    note: str = ""


def plan_extraction(videos: Path, dataset: str | None = None, index_file: Path | None = None,
                    annotations: Path | None = None) -> ExtractionPlan:
    """The generic index, or a dataset's own layout and vocabulary (``gsl``, ``msasl``)."""
    videos = Path(videos)
    if not videos.exists():
        raise BadAnnotations(f"{videos}: no such folder of videos")
    if dataset in (None, "", "videos"):
        return ExtractionPlan(read_index(videos, index_file), None, store_name(videos))
    if dataset == "gsl":
        from harness.adapters import gsl
        index, vocab, absent = gsl.extraction_index(videos, annotations)
        index = normalise_index(index, videos, f"{videos} (GSL split files)")
        note = (f"{absent} clips listed in the GSL split files have no frame folder under "
                f"{videos}; extracting the {len(index)} present") if absent else ""
        return ExtractionPlan(index, vocab, "gsl", note)
    if dataset == "msasl":
        from harness.adapters import msasl as msasl_adapter
        index, vocab = msasl_adapter.extraction_index(videos, index_file, annotations)
        return ExtractionPlan(index, vocab, "msasl")
    raise BadAnnotations(f"--dataset {dataset!r}: extraction knows gsl and msasl layouts; "
                         "for anything else give a folder with an index CSV (no --dataset)")


def default_clip_id(file: str, videos: Path) -> str:
    """The file's path under the videos folder without its video suffix (else its stem)."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(videos)
        except ValueError:
            return path.stem if path.suffix.lower() in VIDEO_SUFFIXES else path.name
    return (path.with_suffix("") if path.suffix.lower() in VIDEO_SUFFIXES else path).as_posix()


# --- work items and their outcome ---------------------------------------------------------
@dataclass(frozen=True)
class Job:
    clip_id: str
    video: str
    part: str


@dataclass
class Outcome:
    job: Job
    n_frames: int = 0
    error: str | None = None
    fatal: str | None = None


def save_part(path: Path, landmarks: np.ndarray) -> None:
    """Atomic ``np.save``: a crash leaves the old part or none, never half of one."""
    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(landmarks, dtype=np.float32),
                    allow_pickle=False)


def process_job(job: Job, extractor, save: SaveFn) -> Outcome:
    """Extract one clip; decoding problems become an error row, write problems are fatal."""
    from harness.extract.video_io import iter_frames
    try:
        landmarks = extractor(iter_frames(job.video))
    except SlrbenchError as error:
        return Outcome(job, error=str(error))
    except Exception as error:  # noqa: BLE001 - one clip's failure must not stop the run
        return Outcome(job, error=f"{job.video}: {type(error).__name__}: {error}")
    if np.isnan(landmarks).all():
        return Outcome(job, error=f"{job.video}: MediaPipe found no person in any of "
                                  f"{len(landmarks)} frames")
    try:
        save(Path(job.part), landmarks)
    except OSError as error:
        return Outcome(job, fatal=f"cannot write {job.part} ({error.strerror or error})")
    return Outcome(job, n_frames=int(landmarks.shape[0]))


# --- worker processes ---------------------------------------------------------------------
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


# --- the run ------------------------------------------------------------------------------
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

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def tally(outcome: Outcome, job: Job, summary: ExtractSummary, errors: list[dict]
          ) -> str | None:
    """Count one finished clip (local pool or Ray); returns the error that stops everything."""
    if outcome.fatal:
        return outcome.fatal
    if outcome.error:
        errors.append({"clip_id": job.clip_id, "video": job.video, "error": outcome.error})
    else:
        summary.extracted += 1
        summary.frames += outcome.n_frames
    return None


def _old_store(out: Path) -> LandmarkStore | None:
    if not is_store(out):
        return None
    try:
        return LandmarkStore.open(out)
    except BadStore:
        return None  # rebuilt from parts and videos


def _quiet_probe(video: str, verbose: bool):
    # FFmpeg inside OpenCV prints its complaints about a damaged file to fd 2; the error
    # report says it in one line instead.
    from harness.util.quiet import fd_stderr_silenced
    with (contextlib.nullcontext() if verbose else fd_stderr_silenced()):
        return probe(video)


def _write_errors(path: Path, errors: list[dict]) -> None:
    if not errors:
        if path.exists():
            path.unlink()
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ERROR_COLUMNS)
    writer.writeheader()
    writer.writerows(errors)
    write_text(path, buffer.getvalue())


def _run_pool(jobs: list[Job], totals: dict[str, int], config: ExtractConfig, save: SaveFn,
              summary: ExtractSummary, errors: list[dict]) -> None:
    workers = config.worker_count(len(jobs))
    summary.workers = workers
    context = multiprocessing.get_context("spawn")
    fatal = None
    with bar(sum(totals.values()), "extracting landmarks", unit="frames") as progress, \
            futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                        initargs=(config.extractor, config.verbose, save,
                                                  os.getpid())) as pool:
        pending = {pool.submit(_run_job, job): job for job in jobs}
        try:
            for future in futures.as_completed(pending):
                job = pending[future]
                try:
                    outcome = future.result()
                except futures.process.BrokenProcessPool as error:
                    fatal = f"a worker process died ({error}) while extracting {job.video}"
                    break
                except futures.CancelledError:
                    continue
                progress.advance(outcome.n_frames or totals.get(job.clip_id, 0))
                fatal = tally(outcome, job, summary, errors)
                if fatal is not None:
                    break
        finally:
            if fatal is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    if fatal is not None:
        raise ExtractionAborted(fatal)


def extract_store(index: pd.DataFrame, out: Path | str, vocab: Sequence[str] | None = None,
                  dataset: str | None = None, config: ExtractConfig = ExtractConfig(),
                  save: SaveFn = save_part, lacks: Sequence[str] = ()) -> ExtractSummary:
    """Extract every clip of ``index`` (see :func:`read_index`) and pack them into ``out``."""
    out = Path(out)
    started = time.perf_counter()
    vocab = tuple(vocab) if vocab is not None else tuple(sorted(index["gloss"].unique()))
    unknown = sorted(set(index["gloss"]) - set(vocab))
    if unknown:
        raise BadAnnotations(f"glosses {unknown[:5]} are not in the {dataset or 'index'} "
                             "vocabulary; fix the index or the class list")
    parts = parts_dir(out)
    parts.mkdir(parents=True, exist_ok=True)
    old = _old_store(out)
    # A clip already in the store is reused when it comes from the same file.
    wanted = dict(zip(index["clip_id"], index["video"]))
    old_rows = {} if old is None or "video" not in old.meta else {
        cid: i for i, (cid, video) in enumerate(zip(old.meta["clip_id"].astype(str),
                                                    old.meta["video"].astype(str)))
        if wanted.get(cid) == video}
    summary = ExtractSummary(store=None, clips=len(index))
    errors: list[dict] = []
    fps: dict[str, float] = {}
    totals: dict[str, int] = {}
    jobs: list[Job] = []
    for row in index.itertuples(index=False):
        if row.clip_id in old_rows:
            summary.reused += 1
            continue
        try:
            info = _quiet_probe(row.video, config.verbose)
        except BadVideo as error:
            errors.append({"clip_id": row.clip_id, "video": row.video, "error": str(error)})
            continue
        fps[row.clip_id] = info.fps
        part = parts / f"{part_key(row.clip_id)}.npy"
        if part.exists():
            summary.resumed += 1
            continue
        totals[row.clip_id] = info.n_frames
        jobs.append(Job(row.clip_id, row.video, str(part)))

    if jobs:
        try:
            if config.backend == "ray":
                from harness.sweep.backends import ray_extract_pool
                ray_extract_pool(jobs, totals, config, save, summary, errors, config.address)
            else:
                _run_pool(jobs, totals, config, save, summary, errors)
        except ExtractionAborted as error:
            _write_errors(errors_file(out), errors)
            done = len(list(parts.glob("*.npy")))
            raise ExtractionAborted(f"{error}; {done} finished clips are kept in {parts}: "
                                    "fix the cause (e.g. free disk space) and run the same "
                                    "command again to resume") from None
    summary.failed = len(errors)
    summary.errors = errors
    _write_errors(errors_file(out), errors)
    summary.errors_csv = errors_file(out) if errors else None

    failed_ids = {e["clip_id"] for e in errors}
    keep = index[~index["clip_id"].isin(failed_ids)]
    if keep.empty:
        raise ExtractionAborted(f"no clip could be extracted; see {errors_file(out)}")
    up_to_date = (old is not None and not jobs and summary.resumed == 0
                  and set(keep["clip_id"]) == set(old.meta["clip_id"].astype(str))
                  and tuple(old.vocab) == vocab)
    if not up_to_date:
        _pack(out, keep, vocab, dataset or out.name, fps, old, old_rows, parts, lacks)
    if not config.keep_parts:
        shutil.rmtree(parts, ignore_errors=True)
    summary.store = out
    summary.seconds = time.perf_counter() - started
    return summary


def _pack(out: Path, keep: pd.DataFrame, vocab: tuple[str, ...], dataset: str,
          fps: dict[str, float], old: LandmarkStore | None, old_rows: dict[str, int],
          parts: Path, lacks: Sequence[str]) -> None:
    label_of = {g: i for i, g in enumerate(vocab)}
    extra_columns = [c for c in OPTIONAL_COLUMNS if c in keep.columns
                     and c not in ("clip_id", "signer", "split", "label")]
    # Reused clips are copied out of the old store before it is replaced: read them into
    # memory only one at a time, through the memory map.
    try:
        with StoreWriter(out, vocab, dataset, lacks=lacks,
                         extra={"extractor": "mediapipe-holistic"}) as writer:
            for row in keep.to_dict("records"):
                cid = row["clip_id"]
                if cid in old_rows:
                    i = old_rows[cid]
                    landmarks = np.array(old.clip(i))
                    clip_fps = float(old.meta["fps"].iloc[i])
                else:
                    landmarks = np.load(parts / f"{part_key(cid)}.npy", allow_pickle=False)
                    clip_fps = fps[cid]
                meta = {"clip_id": cid, "gloss": row["gloss"], "label": label_of[row["gloss"]],
                        "split": row["split"], "signer": row["signer"], "fps": clip_fps,
                        "n_frames": int(landmarks.shape[0]), "source": row["file"],
                        "video": row["video"]}
                meta.update({c: row[c] for c in extra_columns})
                writer.add(meta, landmarks)
    except OSError as error:
        raise ExtractionAborted(f"cannot write the store {out} ({error.strerror or error}); "
                                f"the extracted clips are kept in {parts}: free disk space "
                                "and run the same command again") from None


# --- single videos (predict) --------------------------------------------------------------
def extract_videos(paths: Sequence[Path | str], verbose: bool = False) -> list[np.ndarray]:
    """Landmarks of a few videos or frame folders, in this process, one MediaPipe graph.

    For ``predict``: no pool to start, and no progress bar for fd 2 silencing to hide.
    Raises BadVideo for a clip that cannot be read or shows nobody.
    """
    from harness.extract.extractors import make_extractor
    from harness.util.quiet import fd_stderr_silenced, silence_native_logs
    from harness.extract.video_io import iter_frames
    if not verbose:
        silence_native_logs()
    quiet = fd_stderr_silenced if not verbose else contextlib.nullcontext
    results = []
    with quiet():
        extractor = make_extractor("holistic")
    try:
        for path in paths:
            with quiet():
                landmarks = extractor(iter_frames(path))
            if np.isnan(landmarks).all():
                raise BadVideo(f"{path}: MediaPipe found no person in any of "
                               f"{len(landmarks)} frames")
            results.append(landmarks)
    finally:
        with quiet():
            extractor.close()
    return results
