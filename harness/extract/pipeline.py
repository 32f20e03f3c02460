"""Videos (or JPEG frame folders) -> landmark store: planning what to extract, and the run.

What to extract comes from the folder's index (:mod:`harness.data.index`), or from a
registered dataset whose :class:`~harness.specs.DatasetSpec` offers ``plan_extraction``
(its layout, official vocabulary and frame windows). The clips are extracted by a process
pool here (:mod:`harness.extract.local_pool`) or on Ray (:mod:`harness.extract.ray_pool`).

The run is resumable at clip granularity: each finished clip is saved atomically as
``<STORE>.parts/<key>.npy`` and skipped when the command is run again; clips already in an
existing store at ``STORE`` are reused. A video that cannot be read (or in which nothing is
detected) is listed in ``<STORE>.errors.csv`` and the run goes on. A failure to *write*
(a full disk) stops the run with a message: the finished parts stay, and the same command
resumes. Only when every clip is accounted for are the parts packed into the store
(atomically) and removed.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import os
import re
import shutil
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from harness import registry
from harness.data.index import (TO_THE_END, WINDOW_COLUMNS, folder_name, normalise_index,
                                read_index, windows)
from harness.data.store import LandmarkStore, StoreWriter, check_replaceable, is_store
from harness.errors import BadAnnotations, BadConfig, BadStore, BadVideo, ExtractionAborted, \
    UnknownPlugin
from harness.extract import local_pool, ray_pool
from harness.extract.video_io import probe
from harness.extract.work import (ExtractConfig, ExtractSummary, Job, SaveFn, is_truncated,
                                  save_part)
from harness.specs import ExtractionPlan, ExtractionRequest
from harness.util.atomic import write_text
from harness.util.paths import data_root
from harness.util.signals import sigterm_interrupts

# index columns kept in the store's clip table beside the ones every store has
KEPT_COLUMNS = ("session", "url", "start_time", "end_time", "start_frame", "end_frame")
ERROR_COLUMNS = ["clip_id", "video", "error"]
POOLS = {"local": local_pool.run_pool, "ray": ray_pool.run_pool}


def default_store(name: str) -> Path:
    return data_root() / "stores" / name


def parts_dir(store: Path) -> Path:
    return store.with_name(store.name + ".parts")


def errors_file(store: Path) -> Path:
    return store.with_name(store.name + ".errors.csv")


def part_key(clip_id: str) -> str:
    """A flat, collision-free file name for any clip id (ids may hold '/', '..', Greek)."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", clip_id).strip("_")[:80] or "clip"
    return f"{readable}-{hashlib.sha1(clip_id.encode('utf-8')).hexdigest()[:12]}"


def part_file(parts: Path, clip_id: str, first: int = 0, stop: int | None = None,
              stamp: str = "") -> Path:
    """A clip's finished part: a changed frame window or a replaced video (another
    :func:`video_stamp`) is a different clip, whose part is never resumed for it."""
    name = clip_id if first == 0 and stop is None else f"{clip_id}#{first}:{stop}"
    return parts / f"{part_key(f'{name}@{stamp}')}.npy"


# --- what to extract ------------------------------------------------------------------------
def plan_extraction(videos: Path, dataset: str | None = None,
                    request: ExtractionRequest = ExtractionRequest()) -> ExtractionPlan:
    """The folder's own index, or the plan of the registered dataset named ``dataset``."""
    videos = Path(videos)
    if not videos.exists():
        raise BadAnnotations(f"{videos}: no such folder of videos")
    if not dataset:
        return ExtractionPlan(read_index(videos, request.index_file), None, folder_name(videos))
    plan = planner(dataset)(videos, request)
    where = f"{videos} (as planned by the {dataset} dataset)"
    return dataclasses.replace(plan, index=normalise_index(plan.index, videos, where))


def planner(dataset: str):
    """The registered dataset's ``plan_extraction``; refused, naming those that have one."""
    specs = registry.datasets()
    offer = sorted(name for name, spec in specs.items() if spec.plan_extraction is not None)
    hint = (f"datasets that plan their extraction: {', '.join(offer) or 'none'}; for any "
            "other folder leave out --dataset and give an index CSV")
    if dataset not in specs:
        raise UnknownPlugin(f"--dataset {dataset!r}: no such dataset is registered; {hint}")
    if specs[dataset].plan_extraction is None:
        raise BadConfig(f"--dataset {dataset!r}: this dataset does not plan extraction from "
                        f"videos; {hint}")
    return specs[dataset].plan_extraction


def _source(file: str, row: dict) -> tuple:
    """Where a clip's landmarks come from: the file and its frame window, a missing or empty
    bound read as the whole clip's, so adding or dropping window columns reuses the clips
    whose frames stay the same."""
    start, end = (row.get(column) for column in WINDOW_COLUMNS)
    return (str(file), int(start) if pd.notna(start) else 1,
            int(end) if pd.notna(end) else TO_THE_END)


def video_stamp(path: str) -> str:
    """Size and modification time of a clip's video (of a frame folder: its frames' count,
    total size and latest time). A video replaced under the same name gets another stamp,
    so its old landmarks are neither reused from the store nor resumed from a part."""
    try:
        if Path(path).is_dir():
            stats = [entry.stat() for entry in os.scandir(path) if entry.is_file()]
            return (f"{len(stats)}:{sum(s.st_size for s in stats)}:"
                    f"{max((s.st_mtime_ns for s in stats), default=0)}")
        stat = os.stat(path)
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        return ""


def _unchanged(row: dict, stamp: str, written_ns: int) -> bool:
    """Whether a store's clip was extracted from the video as it is now. A store written
    before stamps were recorded is trusted for videos not modified since it was written."""
    recorded = row.get("video_stamp")
    if isinstance(recorded, str) and recorded:
        return recorded == stamp
    modified = stamp.rsplit(":", 1)[-1]
    return bool(stamp) and modified.isdigit() and int(modified) <= written_ns


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


def _kept(parts: Path) -> str:
    """What an interrupted extraction keeps for its resume (an empty folder goes)."""
    done = len(list(parts.glob("*.npy")))
    if done:
        return f"{done} finished clips are kept in {parts}"
    with contextlib.suppress(OSError):
        parts.rmdir()           # only when nothing at all is in it
    return "no clip had finished"


def extract_store(index: pd.DataFrame, out: Path | str, vocab: Sequence[str] | None = None,
                  dataset: str | None = None, config: ExtractConfig = ExtractConfig(),
                  save: SaveFn = save_part, lacks: Sequence[str] = ()) -> ExtractSummary:
    """Extract every clip of ``index`` (see :func:`read_index`) and pack them into ``out``."""
    out = Path(out)
    started = time.perf_counter()
    from_index = vocab is None
    vocab = tuple(vocab) if vocab is not None else tuple(sorted(index["gloss"].unique()))
    unknown = sorted(set(index["gloss"]) - set(vocab))
    if unknown:
        raise BadAnnotations(f"glosses {unknown[:5]} are not in the {dataset or 'index'} "
                             "vocabulary; fix the index or the class list")
    if config.backend not in POOLS:
        raise BadConfig(f"--backend {config.backend!r}: choose one of {', '.join(POOLS)}")
    check_replaceable(out)     # before minutes of work: --out must be a store, or nothing
    parts = parts_dir(out)
    old = _old_store(out)
    stamps = {row.clip_id: video_stamp(row.path) for row in index.itertuples(index=False)}
    # A clip already in the store is reused when it comes from the same, unchanged file and
    # the same frames.
    wanted = {row["clip_id"]: _source(row["path"], row) for row in index.to_dict("records")}
    written = (old.path / "landmarks.f32").stat().st_mtime_ns if old is not None else 0
    old_rows = {} if old is None or "video" not in old.meta else {
        cid: i for i, (cid, row) in enumerate(zip(old.meta["clip_id"].astype(str),
                                                  old.meta.to_dict("records")))
        if wanted.get(cid) == _source(row["video"], row)
        and _unchanged(row, stamps[cid], written)}
    summary = ExtractSummary(store=None, clips=len(index))
    errors: list[dict] = []
    fps: dict[str, float] = {}
    totals: dict[str, int] = {}
    part_of: dict[str, Path] = {}
    jobs: list[Job] = []
    for row, (first, stop) in zip(index.itertuples(index=False), windows(index)):
        if row.clip_id in old_rows:
            summary.reused += 1
            continue
        try:
            info = _quiet_probe(row.path, config.verbose)
        except BadVideo as error:
            errors.append({"clip_id": row.clip_id, "video": row.path, "error": str(error)})
            continue
        fps[row.clip_id] = info.fps
        part = part_of[row.clip_id] = part_file(parts, row.clip_id, first, stop,
                                                stamps[row.clip_id])
        if part.exists():
            summary.resumed += 1
            continue
        totals[row.clip_id] = max(0, min(info.n_frames, stop or info.n_frames) - first)
        jobs.append(Job(row.clip_id, row.path, str(part), first, stop,
                        expected=totals[row.clip_id]))

    if jobs:
        parts.mkdir(parents=True, exist_ok=True)
        try:
            with sigterm_interrupts():     # SIGTERM stops as Ctrl-C does: workers ended
                POOLS[config.backend](jobs, totals, config, save, summary, errors)
        except ExtractionAborted as error:
            _write_errors(errors_file(out), errors)
            raise ExtractionAborted(f"{error}; {_kept(parts)}: fix the cause (e.g. free disk "
                                    "space) and run the same command again to resume"
                                    ) from None
        except KeyboardInterrupt as stop:
            _write_errors(errors_file(out), errors)
            said = str(stop) or "interrupted"
            stop.args = (f"{said}: {_kept(parts)}; run the same command again to resume",)
            raise
    summary.failed = len(errors)
    summary.errors = errors
    _write_errors(errors_file(out), errors)
    summary.errors_csv = errors_file(out) if errors else None

    failed_ids = {e["clip_id"] for e in errors}
    keep = index[~index["clip_id"].isin(failed_ids)]
    if keep.empty:
        raise ExtractionAborted(f"no clip could be extracted; see {errors_file(out)}")
    if from_index:      # a sign without a clip would be a class no model can learn
        present = set(keep["gloss"])
        summary.signs_left_out = [gloss for gloss in vocab if gloss not in present]
        vocab = tuple(gloss for gloss in vocab if gloss in present)
    up_to_date = (old is not None and not jobs and summary.resumed == 0
                  and set(keep["clip_id"]) == set(old.meta["clip_id"].astype(str))
                  and tuple(old.vocab) == vocab)
    if not up_to_date:
        # SIGTERM while the store is written unwinds as Ctrl-C does: the temporary store is
        # removed and the old one kept (killed outright, a half-written copy stayed behind)
        with sigterm_interrupts():
            _pack(out, keep, vocab, dataset or out.name, fps, old, old_rows, part_of, parts,
                  lacks, stamps)
    if not config.keep_parts:
        shutil.rmtree(parts, ignore_errors=True)
    if config.write_pose:
        from harness.data.pose_files import pose_folder, write_store_poses
        summary.pose_dir = write_store_poses(
            LandmarkStore.open(out), pose_folder(out),
            lambda row: _frame_size(row["video"], config.verbose))
    summary.store = out
    summary.seconds = time.perf_counter() - started
    return summary


def _mediapipe_version() -> str:
    """Recorded in the store: runs log it as the data's provenance."""
    from importlib import metadata
    try:
        return metadata.version("mediapipe")
    except metadata.PackageNotFoundError:
        return ""


def _frame_size(video: str, verbose: bool) -> tuple[int, int]:
    info = _quiet_probe(video, verbose)
    return info.width, info.height


def _pack(out: Path, keep: pd.DataFrame, vocab: tuple[str, ...], dataset: str,
          fps: dict[str, float], old: LandmarkStore | None, old_rows: dict[str, int],
          part_of: dict[str, Path], parts: Path, lacks: Sequence[str],
          stamps: dict[str, str]) -> None:
    label_of = {g: i for i, g in enumerate(vocab)}
    extra_columns = [c for c in KEPT_COLUMNS if c in keep.columns]
    # Reused clips are copied out of the old store before it is replaced: read them into
    # memory only one at a time, through the memory map.
    try:
        with StoreWriter(out, vocab, dataset, lacks=lacks,
                         extra={"extractor": "mediapipe-holistic",
                                "mediapipe_version": _mediapipe_version()}) as writer:
            for row in keep.to_dict("records"):
                cid = row["clip_id"]
                if cid in old_rows:
                    i = old_rows[cid]
                    landmarks = np.array(old.clip(i))
                    clip_fps = float(old.meta["fps"].iloc[i])
                else:
                    landmarks = np.load(part_of[cid], allow_pickle=False)
                    clip_fps = fps[cid]
                meta = {"clip_id": cid, "gloss": row["gloss"], "label": label_of[row["gloss"]],
                        "split": row["split"], "signer": row["signer"], "fps": clip_fps,
                        "n_frames": int(landmarks.shape[0]), "source": row["file"],
                        "video": row["path"], "video_stamp": stamps[cid]}
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
    from harness.extract.video_io import iter_frames
    from harness.util.quiet import fd_stderr_silenced, silence_native_logs
    if not verbose:
        silence_native_logs()
    quiet = fd_stderr_silenced if not verbose else contextlib.nullcontext
    results = []
    with quiet():
        extractor = make_extractor("holistic")
    try:
        for path in paths:
            listed = _quiet_probe(str(path), verbose).n_frames
            with quiet():
                landmarks = extractor(iter_frames(path))
            if np.isnan(landmarks).all():
                raise BadVideo(f"{path}: MediaPipe found no person in any of "
                               f"{len(landmarks)} frames")
            # as data extract judges it: a prediction from half a sign is not one to print
            if is_truncated(len(landmarks), listed):
                raise BadVideo(f"{path}: only {len(landmarks)} of the {listed} frames its "
                               "container lists could be decoded; the file is truncated or "
                               "damaged: download or copy it again")
            results.append(landmarks)
    finally:
        with quiet():
            extractor.close()
    return results
