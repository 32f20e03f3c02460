"""Packing a dataset into a cached store: cache keys from the inputs' sizes and mtimes, the
build-once cache, opening the store `data extract --dataset X` built. For adapters and
dataset plugins alike (exported through harness.api)."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from harness.errors import BadStore, DatasetNotFound, SlrbenchError
from harness.data.clips import PARTS
from harness.util.progress import bar
from harness.data.store import LandmarkStore, StoreWriter, is_store


def cache_key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


def file_fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def files_fingerprint(paths: Iterable[Path | str]) -> str:
    """Size and modification time of every file a cache is built from: a replaced file
    makes another cache key (a missing one too; reading it then names it)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}:missing\n".encode())
    return digest.hexdigest()[:16]


def cached_store(path: Path, build: Callable[[Path], None]) -> LandmarkStore:
    """Open the store at ``path``, building it first if it is not there (or is broken).

    Two processes that find no store at once (the runs of a local sweep on a cold cache)
    build it once: the second waits for the first, then opens what it built.
    """
    store = _open_cached(path)
    if store is not None:
        return store
    with _building(path):
        store = _open_cached(path)
        if store is not None:
            return store
        if path.is_dir():
            shutil.rmtree(path)  # ours too (e.g. left half-written by an older slrbench)
        build(path)
    return LandmarkStore.open(path)


def _open_cached(path: Path) -> LandmarkStore | None:
    if is_store(path):
        try:
            return LandmarkStore.open(path)
        except SlrbenchError:
            pass  # a damaged cache is rebuilt rather than reported: it is ours, not the user's
    return None


@contextlib.contextmanager
def _building(path: Path):
    """An exclusive lock on building ``path``, held on a hidden file beside it and removed
    after. A process already waiting on the removed file still gets the lock and then finds
    the store built; one that races past a failed build builds too, as with no lock. Where
    no lock file can be made, the build goes on unlocked."""
    lock = path.parent / f".{path.name}.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()


def open_dataset_store(path: Path, dataset: str, label: str, splits: Iterable[str],
                       how_to_build: str) -> tuple[LandmarkStore, pd.DataFrame]:
    """A store that ``data extract --dataset <dataset>`` built, and a copy of its clip table.

    Refuses, naming ``path`` and ``how_to_build``: no store there, a store of another
    dataset (it lacks this dataset's vocabulary and split), clips outside ``splits``.
    """
    if not is_store(path):
        raise DatasetNotFound(f"{path}: no {label} landmark store. {how_to_build}")
    store = LandmarkStore.open(path)
    if store.manifest.get("dataset") != dataset:
        raise BadStore(f"{path}: this store was not built with `--dataset {dataset}` (it is "
                       f"{store.manifest.get('dataset')!r}), so it lacks {label}'s "
                       f"vocabulary and split. {how_to_build}")
    meta = store.meta.copy()
    bad = sorted(set(meta["split"].astype(str)) - set(splits))
    if bad:
        raise BadStore(f"{path}: clips with split {bad}; rebuild the store. {how_to_build}")
    return store, meta


def pack(path: Path, rows: list[dict], read: Callable[[dict], np.ndarray], vocab,
         dataset: str, lacks=(), description: str = "packing landmarks",
         lacks_unseen: bool = False) -> None:
    """Read every row's clip with ``read`` and write them into one store at ``path``.

    ``lacks_unseen``: the store lacks, besides ``lacks``, what :class:`PartsSeen` finds no
    clip held, for a dataset that knows its parts only once its files are read.
    """
    seen = PartsSeen()
    with StoreWriter(path, vocab, dataset, lacks) as writer, bar(len(rows), description) as progress:
        for row in rows:
            clip = read(row)
            writer.add(row, clip)
            if lacks_unseen:
                seen.add(clip)
            progress.advance()
        if lacks_unseen:
            writer.lacks += [name for name in seen.lacking() if name not in writer.lacks]


class PartsSeen:
    """Which Holistic parts any of a dataset's clips held; the others are what it lacks.

    The hands are a pair: a one-handed signer's other hand is only unused, and a model
    trained with the flip (which swaps them) reads a sign in either, so neither is lacking
    while one is held.
    """

    def __init__(self):
        self.seen = dict.fromkeys(PARTS, False)

    def add(self, clip: np.ndarray) -> None:
        for name, part in PARTS.items():
            self.seen[name] = self.seen[name] or bool(np.isfinite(clip[:, part]).any())

    def lacking(self) -> list[str]:
        hands = self.seen["left_hand"] or self.seen["right_hand"]
        return [name for name, found in self.seen.items()
                if not (found or (hands and name in ("left_hand", "right_hand")))]
