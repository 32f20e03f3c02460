"""Fetching MS-ASL clips, without the internet: real MS-ASL videos served on 127.0.0.1.

yt-dlp downloads them through its generic extractor, ffmpeg cuts the annotated windows;
the served folder also holds a truncated (corrupt) video, a URL that answers 404 and one
that fails once with 503 (retried), so every failure path runs for real.
"""
from __future__ import annotations

import errno
import functools
import http.server
import json
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.extract import fetch
from harness.cli import main
from harness.run.loading import load_clipset, make_request
from harness.errors import ExtractionAborted
from harness.extract.video_io import probe

SAMPLES = {"J7tP98oDxqE": 38, "CYx7qm62Zwo": 46, "iJuIO4n0-VU": 95}  # book, bored, france


HANG_SECONDS = 60


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []
    flaky_done: set[str] = set()

    def do_GET(self):
        self.requests.append(self.path)
        if self.path.startswith("/hang/"):            # a source that never finishes
            time.sleep(HANG_SECONDS)
            self.send_error(504, "too late")
            return
        if self.path.startswith("/flaky/") and self.path not in self.flaky_done:
            self.flaky_done.add(self.path)
            self.send_error(503, "try again")
            return
        self.path = self.path.replace("/flaky/", "/", 1)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, shared):
    root = tmp_path / "served"
    root.mkdir()
    for vid in SAMPLES:
        shutil.copy(shared / "msasl-sample-videos" / f"{vid}.mp4", root / f"{vid}.mp4")
    # a download cut short: the first 4 KB of a real video
    (root / "corrupt.mp4").write_bytes((root / "J7tP98oDxqE.mp4").read_bytes()[:4096])
    _Handler.requests, _Handler.flaky_done = [], set()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _rec(url, start, end, label, signer, box=(0.0, 0.0, 1.0, 1.0)):
    return {"url": url, "start_time": start, "end_time": end, "label": label,
            "signer_id": signer, "box": list(box), "text": "", "fps": 25.0}


@pytest.fixture
def annotations(tmp_path, shared, server):
    folder = tmp_path / "annotations"
    folder.mkdir()
    shutil.copy(shared / "msasl" / "MSASL_classes.json", folder / "MSASL_classes.json")
    book, bored, france = (f"{server}/{vid}.mp4" for vid in SAMPLES)
    splits = {
        "train": [_rec(book, 0.0, 0.8, 38, 1, box=(0.1, 0.2, 0.9, 0.7)),
                  _rec(book, 1.2, 2.0, 38, 1),                  # same source: one download
                  _rec(bored, 0.4, 1.2, 46, 2)],
        "val": [_rec(f"{server}/flaky/iJuIO4n0-VU.mp4", 0.5, 1.3, 95, 3),
                _rec(f"{server}/gone.mp4", 0.0, 1.0, 38, 3),        # dead link
                _rec(f"{server}/corrupt.mp4", 0.0, 1.0, 46, 3)],    # corrupt download
        "test": [_rec(france, 1.5, 2.3, 95, 4),
                 _rec(france, 20.0, 21.0, 95, 4),                   # past the video's end
                 _rec(f"{server}/bored.mp4", 0.0, 1.0, 500, 4)],    # not in MS-ASL100
    }
    for split, records in splits.items():
        (folder / f"MSASL_{split}.json").write_text(json.dumps(records))
    return folder


@pytest.mark.slow
def test_fetch_cuts_clips_reports_failures_and_resumes(annotations, tmp_path):
    out = tmp_path / "clips"
    args = ["data", "fetch", "--dataset", "msasl", "--vocab", "100", "--out", str(out),
            "--workers", "3", "--annotations", str(annotations), "--retries", "2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "5 fetched now, 0 already there, 3 failed" in result.output
    assert "train      3/3 clips      2/2 classes" in result.output
    assert "val        1/3 clips" in result.output and "test       1/2 clips" in result.output

    # trimmed to the annotated window (J7tP98oDxqE is 25 fps: 0.8 s = 20 frames)
    first = probe(out / "J7tP98oDxqE_0000000_0000800.mp4")
    assert abs(first.n_frames - 20) <= 1 and first.fps == pytest.approx(25.0, abs=0.1)
    second = probe(out / "J7tP98oDxqE_0001200_0002000.mp4")
    assert abs(second.n_frames - 20) <= 1 and (second.width, second.height) == (480, 360)
    assert not list((out / fetch.SOURCES_DIR).iterdir())          # sources removed when done

    failures = pd.read_csv(out / fetch.FAILURES_FILE).set_index("clip_id")
    assert set(failures.columns) >= {"url", "reason", "split"}
    assert "HTTP Error 404" in failures.loc["gone_0000000_0001000", "reason"]
    assert "cannot cut the clip" in failures.loc["corrupt_0000000_0001000", "reason"]
    assert "holds no frame" in failures.loc["iJuIO4n0-VU_0020000_0021000", "reason"]
    assert _Handler.requests.count("/gone.mp4") == 1               # a dead link is not retried
    assert _Handler.requests.count("/flaky/iJuIO4n0-VU.mp4") >= 2  # a 503 is retried

    index = pd.read_csv(out / fetch.INDEX_FILE)
    assert len(index) == 5 and set(index["split"]) == {"train", "val", "test"}
    assert all((out / f).exists() for f in index["file"])
    assert set(index["gloss"]) == {"book", "bored", "france"}
    summary = pd.read_csv(out / fetch.SUMMARY_FILE)
    assert summary.set_index(["split", "gloss"]).loc[("train", "book"), "obtained"] == 2

    # rerun: finished clips are skipped (their sources are not even requested again)
    before = len(_Handler.requests)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "0 fetched now, 5 already there, 3 failed" in again.output
    assert not any("J7tP98oDxqE" in path for path in _Handler.requests[before:])


def test_crop_uses_the_annotated_box(annotations, tmp_path, shared):
    source = shared / "msasl-sample-videos" / "J7tP98oDxqE.mp4"          # 480x360
    target = tmp_path / "cropped.mp4"
    frames = fetch.cut_clip(source, target, 0.0, 0.8, [0.1, 0.2, 0.9, 0.7])
    info = probe(target)
    assert abs(frames - 20) <= 1
    assert (info.width, info.height) == (240, 288)   # 0.5 x 480, 0.8 x 360, even sizes


def test_an_interrupted_fetch_ends_the_ffmpeg_it_is_running(tmp_path):
    # SIGTERM sent to the command alone never reached its ffmpeg, which went on (here: for
    # ever, reading a source that never comes) after the command had ended
    import os
    source = tmp_path / "never.mp4"
    os.mkfifo(source)                       # nobody writes it: ffmpeg waits on it for good
    out = tmp_path / "clips"
    cuts = fetch.Cuts()
    ended: list[BaseException] = []

    def cut():
        try:
            fetch.cut_clip(source, out / "clip.mp4", 0.0, 0.8, None, cuts=cuts)
        except BaseException as error:      # noqa: BLE001 - the test looks at which
            ended.append(error)

    worker = threading.Thread(target=cut, daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while not cuts._running and time.monotonic() < deadline:
        time.sleep(0.05)
    (ffmpeg,) = cuts._running
    time.sleep(0.5)
    assert ffmpeg.poll() is None                          # still waiting for its source
    cuts.stop()
    worker.join(10)
    assert not worker.is_alive() and ffmpeg.poll() is not None
    assert [type(error) for error in ended] == [fetch.FetchInterrupted]
    assert list(out.iterdir()) == []                      # its temporary clip went too


def test_full_disk_stops_with_a_message_and_keeps_finished_clips(annotations, tmp_path):
    out = tmp_path / "clips"
    real = fetch.YtDlpDownloader()

    def disk_full_on_france(url, stem):
        if "iJuIO4n0-VU" in url and "flaky" not in url:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(url, stem)

    config = fetch.FetchConfig(workers=1, retries=1, backoff=0.01)
    with pytest.raises(ExtractionAborted, match="No space left on device.*run the same command"):
        fetch.fetch_msasl(100, out, annotations=annotations, config=config,
                          downloader=disk_full_on_france)
    kept = sorted(p.name for p in out.glob("*.mp4"))
    assert "J7tP98oDxqE_0000000_0000800.mp4" in kept               # finished work stays
    resumed = fetch.fetch_msasl(100, out, annotations=annotations, config=config)
    assert resumed.present == len(kept)
    assert resumed.present + resumed.fetched == 5


@pytest.mark.slow
def test_fetched_folder_extracts_into_an_msasl_store(annotations, tmp_path):
    out = tmp_path / "clips"
    fetch.fetch_msasl(100, out, annotations=annotations,
                      config=fetch.FetchConfig(retries=1, backoff=0.01))
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["data", "extract", "--dataset", "msasl", "--videos",
                                       str(out), "--out", str(store), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "5 clips: 5 extracted now" in result.output
    clips, manifest = load_clipset("msasl", make_request(data_dir=store, vocab=100))
    assert clips.vocab[:3] == ("hello", "nice", "teacher") and len(clips.vocab) == 100
    by_id = clips.meta.set_index("clip_id")
    assert by_id.loc["CYx7qm62Zwo_0000400_0001200", "label"] == 46
    assert by_id.loc["CYx7qm62Zwo_0000400_0001200", "gloss"] == "bored"
    assert set(by_id["split"]) == {"train", "val", "test"}
    assert by_id.loc["iJuIO4n0-VU_0001500_0002300", "signer"] == "4"
    assert manifest is not None
    for i in range(len(clips)):
        assert clips.clip(i).shape[1:] == (543, 3)


def _offline_annotations(tmp_path: Path, shared: Path, sources: int) -> Path:
    folder = tmp_path / "annotations"
    folder.mkdir()
    shutil.copy(shared / "msasl" / "MSASL_classes.json", folder / "MSASL_classes.json")
    records = [_rec(f"http://no-such-host.invalid/book{i}.mp4", 0.0, 0.8, 38, 1)
               for i in range(sources)]
    for split in ("train", "val", "test"):
        (folder / f"MSASL_{split}.json").write_text(json.dumps(records if split == "test"
                                                               else []))
    return folder


@pytest.mark.slow
def test_a_source_without_a_network_is_not_retried(tmp_path, shared):
    # no name resolves without a network: retrying each of thousands of sources with
    # back-off made a run without one hours of silence
    out = tmp_path / "clips"
    result = CliRunner().invoke(main, ["data", "fetch", "--vocab", "100", "--split", "test",
                                       "--out", str(out), "--annotations",
                                       str(_offline_annotations(tmp_path, shared, 1)),
                                       "--retries", "3"])
    # nothing fetched is a failure, as in extract (it exited 0 and pointed at extract)
    assert result.exit_code == 2, result.output
    assert f"no clip could be fetched: all 1 failed; the reasons are in {out}" in result.output
    reason = pd.read_csv(out / fetch.FAILURES_FILE)["reason"].iloc[0]
    assert fetch.NO_NETWORK.search(reason) and "attempts" not in reason, reason


@pytest.mark.slow
def test_a_fetch_without_a_network_stops_after_a_few_sources(tmp_path, shared):
    # it tried every source in turn, a second or more each, then exited 0
    sources = fetch.OFFLINE_SOURCES + 4
    out = tmp_path / "clips"
    result = CliRunner().invoke(main, ["data", "fetch", "--vocab", "100", "--split", "test",
                                       "--out", str(out), "--annotations",
                                       str(_offline_annotations(tmp_path, shared, sources)),
                                       "--workers", "1"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith(f"error: no network: {fetch.OFFLINE_SOURCES} sources in a row "
                                "could not reach their host ("), result.output
    assert lines[-1].endswith(f"0 clips are in {out}: run the same command again where a "
                              "network is reachable")
    tried = pd.read_csv(out / fetch.FAILURES_FILE)
    assert fetch.OFFLINE_SOURCES <= len(tried) < sources


@pytest.mark.slow
def test_ctrl_c_stops_a_fetch_without_working_through_its_queue(tmp_path, shared, server):
    # the pool's exit ran every queued source first: a Ctrl-C took minutes to take effect
    import signal
    import subprocess
    import sys

    from tests.faults import interruptible
    folder = tmp_path / "annotations"
    folder.mkdir()
    shutil.copy(shared / "msasl" / "MSASL_classes.json", folder / "MSASL_classes.json")
    records = [_rec(f"{server}/hang/{i}.mp4", 0.0, 0.8, 38, 1) for i in range(6)]
    for split in ("train", "val", "test"):
        (folder / f"MSASL_{split}.json").write_text(json.dumps(records if split == "test"
                                                               else []))
    out = tmp_path / "clips"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("slrbench")), "data", "fetch", "--vocab", "100",
         "--split", "test", "--out", str(out), "--annotations", str(folder), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    try:
        deadline = time.monotonic() + 60
        while not _Handler.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _Handler.requests, "the fetch never reached the server"
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=HANG_SECONDS)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert time.monotonic() - started < HANG_SECONDS / 2      # not after the queue
    assert "clips are kept" in err and "Traceback" not in err
    assert len(_Handler.requests) == 1                         # no queued source was started
