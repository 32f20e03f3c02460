"""Download MS-ASL clips: fetch each source video once, cut every clip out of it with ffmpeg.

For every planned clip the output folder gets ``<clip_id>.mp4`` (trimmed to the annotated
start/end, optionally cropped to the annotated signer box), written atomically, or a row in
``fetch-failures.csv`` saying why not. Clips already there are skipped, so an interrupted
or partly failed fetch is resumed by running the same command again. Sources are fetched by
a small thread pool (the work is network- and ffmpeg-bound), each with retries and
exponential back-off for transient errors; a dead video is not retried.

The folder also gets ``index.csv`` (file, clip_id, gloss, label, signer, split, url, times)
and ``MSASL_classes.json``, so ``slrbench data extract --dataset msasl --videos OUT`` reads
it as it is.
"""
from __future__ import annotations

import concurrent.futures as futures
import csv
import errno
import hashlib
import io
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import pandas as pd

from harness.data import msasl_annotations as msasl
from harness.util.atomic import atomic_path, write_text
from harness.errors import BadAnnotations, BadVideo, ExtractionAborted, SlrbenchError
from harness.util.progress import bar
from harness.util.signals import sigterm_interrupts
from harness.extract.video_io import probe

FAILURES_FILE = "fetch-failures.csv"
SUMMARY_FILE = "fetch-summary.csv"
INDEX_FILE = "index.csv"
SOURCES_DIR = ".sources"
INDEX_COLUMNS = ["file", "clip_id", "gloss", "label", "signer", "split", "url", "start_time",
                 "end_time"]
FAILURE_COLUMNS = ["clip_id", "split", "gloss", "url", "reason"]
# Failures that no retry will fix: the video is gone or locked.
PERMANENT = re.compile(r"HTTP Error 40[0134]|HTTP Error 410|Video unavailable|Private video|"
                       r"has been removed|account .* terminated|not available|"
                       r"Unsupported URL|confirm your age|members-only", re.IGNORECASE)
DISK_FULL = re.compile(r"No space left on device|Disk quota exceeded", re.IGNORECASE)
# No network at all (a name that does not resolve, no route): retrying each of thousands of
# sources with back-off turned a run without a network into hours of silence.
NO_NETWORK = re.compile(r"Failed to resolve|Name or service not known|Temporary failure in "
                        r"name resolution|nodename nor servname|Network is unreachable|"
                        r"No route to host", re.IGNORECASE)
# Sources in a row that find no network, before any clip was fetched, after which the run
# stops: every other source would fail the same way, a second or more each.
OFFLINE_SOURCES = 5


class FetchInterrupted(Exception):
    """Raised in a worker whose back-off or ffmpeg the interrupted run cut short."""


@dataclass(frozen=True)
class FetchConfig:
    """Defaults of ``slrbench data fetch`` in one place."""

    workers: int = 4               # concurrent sources; downloads wait on the network
    retries: int = 3               # extra attempts for transient errors
    backoff: float = 2.0           # seconds before the first retry, doubled each time
    crop: bool = False             # crop to the annotated signer box [y0, x0, y1, x1]
    keep_sources: bool = False     # keep full source videos in OUT/.sources after cutting
    socket_timeout: float = 30.0
    max_height: int = 720          # no need for more to find hands
    crf: int = 18                  # x264 quality of the cut clips (lower = better)


class FetchFailed(Exception):
    """One source could not be downloaded; ``permanent`` means retrying is pointless."""

    def __init__(self, reason: str, permanent: bool):
        super().__init__(reason)
        self.permanent = permanent


class Downloader(Protocol):
    """Fetches ``url`` to ``<stem>.<ext>`` and returns that path (raises FetchFailed)."""

    def __call__(self, url: str, stem: Path) -> Path: ...


class _QuietLogger:
    # yt-dlp prints to the terminal unless given a logger; errors come back as exceptions.
    def debug(self, message: str) -> None:
        pass

    info = warning = error = debug


class YtDlpDownloader:
    """yt-dlp's Python API: YouTube pages and, through its generic extractor, plain files."""

    def __init__(self, config: FetchConfig = FetchConfig()):
        self.config = config

    def __call__(self, url: str, stem: Path) -> Path:
        from yt_dlp import YoutubeDL
        from yt_dlp.utils import DownloadError
        height = self.config.max_height
        options = {
            "outtmpl": f"{stem}.%(ext)s", "quiet": True, "no_warnings": True,
            "noprogress": True, "logger": _QuietLogger(), "retries": 0,
            "fragment_retries": 0, "socket_timeout": self.config.socket_timeout,
            "noplaylist": True, "overwrites": True, "cachedir": False,
            # video only: sign language needs no audio, and no merge step is needed
            "format": f"bv*[height<={height}][ext=mp4]/bv*[height<={height}]/"
                      f"b[height<={height}]/bv*/b",
        }
        try:
            with YoutubeDL(options) as ydl:
                info = ydl.extract_info(url, download=True)
                downloads = info.get("requested_downloads") or [{}]
                path = Path(downloads[0].get("filepath") or ydl.prepare_filename(info))
        except DownloadError as error:
            reason = _one_line(str(error)).removeprefix("ERROR: ")
            raise FetchFailed(reason, bool(PERMANENT.search(reason) or NO_NETWORK.search(reason))
                              ) from None
        if not path.exists():
            raise FetchFailed(f"yt-dlp reported success but wrote no file for {url}", False)
        return path


def _one_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:limit]


# --- cutting ------------------------------------------------------------------------------
def crop_filter(box: list[float]) -> str:
    """ffmpeg crop for MS-ASL's normalised ``[y0, x0, y1, x1]``, even sizes for x264."""
    y0, x0, y1, x1 = (min(max(float(v), 0.0), 1.0) for v in box)
    return (f"crop=trunc(iw*{x1 - x0:.6f}/2)*2:trunc(ih*{y1 - y0:.6f}/2)*2:"
            f"trunc(iw*{x0:.6f}):trunc(ih*{y0:.6f})")


class Cuts:
    """The ffmpeg processes one fetch is running, and whether the fetch was interrupted. An
    interrupted fetch ends them: SIGTERM sent to the command alone does not reach them, and
    one left running outlived the command, writing a clip nobody would rename into place."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self.stopped = threading.Event()     # also cuts the fetch's back-offs short

    def run(self, command: list[str]) -> subprocess.CompletedProcess:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        with self._lock:
            self._running.add(process)
            if self.stopped.is_set():
                process.kill()      # its output is a temporary, thrown away
        try:
            _, err = process.communicate()
        finally:
            with self._lock:
                self._running.discard(process)
        if self.stopped.is_set():
            raise FetchInterrupted
        return subprocess.CompletedProcess(command, process.returncode, "", err)

    def stop(self) -> None:
        with self._lock:
            self.stopped.set()
            for process in self._running:
                process.kill()      # its output is a temporary, thrown away


def cut_clip(source: Path, target: Path, start: float, end: float, box: list[float] | None,
             crf: int = FetchConfig.crf, cuts: Cuts | None = None) -> int:
    """Write ``source[start:end]`` (re-encoded, frame-accurate) to ``target`` atomically.

    Returns the clip's frame count; raises BadVideo when ffmpeg fails or the window holds
    no frame, and OSError when the disk is full.
    """
    filters = ([crop_filter(box)] if box is not None else []) + \
        ["scale=trunc(iw/2)*2:trunc(ih/2)*2"]
    with atomic_path(target, suffix=".mp4") as tmp:
        command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                   "-ss", f"{start:.3f}", "-i", str(source), "-t", f"{end - start:.3f}",
                   "-vf", ",".join(filters), "-an", "-c:v", "libx264", "-preset", "veryfast",
                   "-crf", str(crf), "-pix_fmt", "yuv420p", "-threads", "1",
                   "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        done = (cuts or Cuts()).run(command)
        if done.returncode != 0:
            message = _one_line(done.stderr) or f"ffmpeg exited with {done.returncode}"
            if DISK_FULL.search(done.stderr):
                raise OSError(errno.ENOSPC, message)
            raise BadVideo(f"{source.name}: cannot cut the clip ({message})")
        try:
            frames = probe(tmp).n_frames if tmp.exists() else 0
        except BadVideo:
            frames = 0
        if frames <= 0:
            raise BadVideo(f"{source.name}: the window {start:.2f}-{end:.2f} s holds no frame "
                           "(past the end of the source video?)")
    return frames


# --- planning and running -----------------------------------------------------------------
@dataclass
class Source:
    url: str
    video_id: str
    clips: list[dict]


@dataclass
class FetchSummary:
    out: Path
    planned: int = 0
    present: int = 0          # already there before this run
    fetched: int = 0
    failed: int = 0
    seconds: float = 0.0
    per_split: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures_csv: Path | None = None
    index_csv: Path | None = None
    missing_splits: list[str] = field(default_factory=list)


def clip_path(out: Path, clip_id: str) -> Path:
    msasl.check_clip_id(clip_id, "clip")
    path = out / f"{clip_id}.mp4"
    if path.resolve().parent != out.resolve():
        raise BadAnnotations(f"clip id {clip_id!r} would be written outside {out}")
    return path


def plan_sources(plan: pd.DataFrame, out: Path) -> tuple[list[Source], int]:
    """Group the missing clips by source URL (one download serves all its clips)."""
    sources: dict[str, Source] = {}
    present = 0
    for row in plan.to_dict("records"):
        if clip_path(out, row["clip_id"]).exists():
            present += 1
            continue
        vid = msasl.check_clip_id(msasl.video_id(row["url"]), f"url {row['url']!r}")
        sources.setdefault(row["url"], Source(row["url"], vid, [])).clips.append(row)
    return list(sources.values()), present


def fetch_source(source: Source, out: Path, config: FetchConfig, downloader: Downloader,
                 sleep: Callable[[float], None] = time.sleep,
                 cuts: Cuts | None = None) -> list[tuple[dict, str | None]]:
    """Download one source (retrying) and cut its clips: ``[(clip row, error or None)]``."""
    cache = out / SOURCES_DIR
    cache.mkdir(parents=True, exist_ok=True)
    # the URL's hash too: two direct links may share a file name
    name = f"{source.video_id}-{hashlib.sha1(source.url.encode()).hexdigest()[:8]}"
    stem = cache / name
    cached = [p for p in cache.glob(f"{name}.*")
              if p.suffix not in (".part", ".ytdl", ".tmp")]
    path = cached[0] if cached else None
    attempt = 0
    while path is None:
        try:
            path = downloader(source.url, stem)
        except FetchFailed as error:
            if error.permanent or attempt >= config.retries:
                if DISK_FULL.search(str(error)):
                    raise OSError(errno.ENOSPC, str(error)) from None
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                return [(clip, f"download failed{tries}: {error}") for clip in source.clips]
            sleep(config.backoff * (2 ** attempt))
            attempt += 1
    results = []
    for clip in source.clips:
        try:
            cut_clip(path, clip_path(out, clip["clip_id"]), clip["start_time"], clip["end_time"],
                     clip["box"] if config.crop else None, config.crf, cuts)
            results.append((clip, None))
        except SlrbenchError as error:
            results.append((clip, str(error)))
    if not config.keep_sources and all(error is None for _, error in results):
        path.unlink(missing_ok=True)
    elif any(error is not None for _, error in results):
        # a bad download must not be reused by the next run
        path.unlink(missing_ok=True)
    return results


def _csv_text(rows: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_outputs(plan: pd.DataFrame, out: Path, failures: list[dict],
                  classes_file: Path | None) -> tuple[pd.DataFrame, Path]:
    """index.csv of the clips on disk, the failure report, per-split/class counts."""
    present = plan[[clip_path(out, c).exists() for c in plan["clip_id"]]].copy()
    present["file"] = present["clip_id"] + ".mp4"
    index = out / INDEX_FILE
    write_text(index, _csv_text(present.to_dict("records"), INDEX_COLUMNS))
    failures_csv = out / FAILURES_FILE
    if failures:
        write_text(failures_csv, _csv_text(failures, FAILURE_COLUMNS))
    elif failures_csv.exists():
        failures_csv.unlink()
    counts = (plan.assign(obtained=plan["clip_id"].isin(present["clip_id"]))
              .groupby(["split", "label", "gloss"], sort=True)["obtained"]
              .agg(planned="size", obtained="sum").reset_index())
    write_text(out / SUMMARY_FILE, counts.to_csv(index=False))
    if classes_file is not None:
        shutil.copyfile(classes_file, out / msasl.CLASSES_FILE)
    per_split = counts.groupby("split", sort=False).agg(
        planned=("planned", "sum"), obtained=("obtained", "sum"),
        classes=("label", "size"), classes_obtained=("obtained", lambda s: int((s > 0).sum())))
    order = [s for s in msasl.SPLITS if s in per_split.index]
    return per_split.loc[order].reset_index(), index


def fetch_clips(plan: pd.DataFrame, out: Path | str, config: FetchConfig = FetchConfig(),
                downloader: Downloader | None = None, classes_file: Path | None = None,
                sleep: Callable[[float], None] = time.sleep) -> FetchSummary:
    """Fetch every clip of ``plan`` (rows of :func:`harness.data.msasl_annotations.records_frame`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    downloader = downloader or YtDlpDownloader(config)
    sources, present = plan_sources(plan, out)
    summary = FetchSummary(out=out, planned=len(plan), present=present)
    failures: list[dict] = []
    aborted = no_network = None
    offline = 0
    cuts = Cuts()

    def pause(seconds: float) -> None:
        """The back-off, cut short when the run is interrupted."""
        if sleep is not time.sleep:
            sleep(seconds)
        elif cuts.stopped.wait(seconds):
            raise FetchInterrupted

    pool = futures.ThreadPoolExecutor(max(1, config.workers))
    try:
        with bar(sum(len(s.clips) for s in sources), "fetching clips", unit="clips") as progress, \
                sigterm_interrupts():
            jobs = {pool.submit(fetch_source, s, out, config, downloader, pause, cuts): s
                    for s in sources}
            for job in futures.as_completed(jobs):
                if job.cancelled():      # dropped after a stop below: as_completed yields it
                    continue
                try:
                    results = job.result()
                except OSError as error:
                    aborted = aborted or f"cannot write into {out} ({error.strerror or error})"
                    for pending in jobs:
                        pending.cancel()
                    continue
                for clip, error in results:
                    if error is None:
                        summary.fetched += 1
                    else:
                        failures.append({**clip, "reason": error})
                    progress.advance()
                offline = offline + 1 if _offline(results) else 0
                if offline == OFFLINE_SOURCES and not summary.fetched and not aborted:
                    aborted = no_network = (f"no network: {offline} sources in a row could "
                                            f"not reach their host ({results[0][1]})")
                    for pending in jobs:
                        pending.cancel()
    except KeyboardInterrupt as stop:
        # queued sources are dropped and back-offs cut short, not worked through first;
        # clips are written atomically, so what is there is whole
        cuts.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        said = str(stop) or "interrupted"
        stop.args = (f"{said}: {summary.present + summary.fetched} clips are kept in {out}; "
                     "run the same command again to fetch the rest",)
        raise
    pool.shutdown(wait=True)
    summary.failed = len(failures)
    summary.per_split, summary.index_csv = write_outputs(plan, out, failures, classes_file)
    summary.failures_csv = out / FAILURES_FILE if failures else None
    summary.seconds = time.perf_counter() - started
    kept = summary.present + summary.fetched
    if no_network:
        raise ExtractionAborted(f"{aborted}; {kept} clips are in {out}: run the same command "
                                "again where a network is reachable")
    if aborted:
        raise ExtractionAborted(f"{aborted}; {kept} clips are kept in {out}: free disk space "
                                "and run the same command again to resume")
    if summary.planned and not kept:
        raise ExtractionAborted(f"no clip could be fetched: all {summary.failed} failed; the "
                                f"reasons are in {summary.failures_csv}")
    return summary


def _offline(results: list[tuple[dict, str | None]]) -> bool:
    """Whether every clip of one source failed for want of a network."""
    return bool(results) and all(error is not None and NO_NETWORK.search(error)
                                 for _, error in results)


def fetch_msasl(vocab: int, out: Path | str, splits: tuple[str, ...] = msasl.SPLITS,
                annotations: Path | str | None = None, config: FetchConfig = FetchConfig(),
                downloader: Downloader | None = None) -> FetchSummary:
    sliced = msasl.load_slice(vocab, annotations, splits)
    summary = fetch_clips(sliced.frame(), out, config, downloader,
                          classes_file=sliced.folder / msasl.CLASSES_FILE)
    summary.missing_splits = sliced.missing
    return summary
