"""``slrbench data extract`` and the landmark caches never destroy or silently keep the wrong
data, and Ctrl-C stops them in seconds (issue 14, items 1, 2, 3, 4, 6, 8 and the index.csv
errors): real videos from the shipped sets, a real tmpfs, a real SIGINT."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data.landmark_files import read_landmark_file
from harness.data.store import LandmarkStore, write_store
from tests.conftest import make_clip
from tests.faults import (ESCAPES, SLRBENCH, assert_cli_error, assert_one_error, cli,
                          environment, fill, interruptible, point_outside, runs_in, slrbench, tmpfs,
                          wait_for)

# short real clips of asl8 (9 to 18 frames): extraction of a few takes seconds
SHORT = {"No/No03.mp4": "NO", "GoodBye/goodbye06.mp4": "GOODBYE",
         "GoodBye/goodbye10.mp4": "GOODBYE"}


@pytest.fixture(autouse=True)
def own_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SLRBENCH_DATA_ROOT", str(tmp_path / "data-root"))


def video_folder(root: Path, shared: Path, clips: dict[str, str] = SHORT) -> Path:
    """Real videos copied from asl8 with a labels.csv, as a user would have them."""
    rows = []
    for name, gloss in clips.items():
        target = root / "clips" / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared / "asl8-videos" / "clips" / name, target)
        rows.append({"file": f"clips/{target.name}", "gloss": gloss, "signer": "S1"})
    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    return root


def extract(videos: Path, out: Path, *extra, cwd: Path | None = None):
    return slrbench("data", "extract", "--videos", videos, "--out", out, "--workers", "1",
                    *extra, cwd=cwd, env=environment(SLRBENCH_DATA_ROOT=str(out.parent / "dr")))


def extract_here(videos: Path, out: Path, *extra):
    """For the cases refused before any clip is extracted: the CLI in this process."""
    return cli("data", "extract", "--videos", videos, "--out", out, "--workers", "1", *extra)


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared) -> tuple[Path, Path]:
    """A real 3-clip store extracted once: (videos, store)."""
    root = tmp_path_factory.mktemp("built")
    videos = video_folder(root / "videos", shared)
    store = root / "store"
    result = extract(videos, store)
    assert result.returncode == 0, result.stderr
    return videos, store


# --- item 1: --out that is not a store ------------------------------------------------------
def test_out_holding_documents_is_refused(tmp_path, shared):
    videos = video_folder(tmp_path / "videos", shared)
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("years of work")
    assert_cli_error(extract_here(videos, documents), str(documents), "not a landmark store")
    assert (documents / "thesis.txt").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents", "videos"]


def test_a_store_holding_a_users_file_is_not_replaced(tmp_path, shared):
    # a store is replaced as a whole folder: a file someone kept in it went with it
    clip = read_landmark_file(shared / "asl-signs-sample" / pd.read_csv(
        shared / "asl-signs-sample" / "train.csv").path[0])
    store = tmp_path / "store"
    write_store(store, [({"clip_id": "a", "gloss": "hello", "label": 0, "split": "",
                          "signer": "1", "fps": 30.0, "n_frames": 0, "source": "a"}, clip)],
                ["hello"], "mine")
    (store / "my-notes.txt").write_text("which clips I checked")
    videos = video_folder(tmp_path / "videos", shared)
    assert_cli_error(extract_here(videos, store), str(store), "my-notes.txt", "move them out")
    assert (store / "my-notes.txt").read_text() == "which clips I checked"
    assert list(LandmarkStore.open(store).meta.clip_id) == ["a"]


def test_out_equal_to_the_videos_is_refused(tmp_path, shared):
    videos = video_folder(tmp_path / "videos", shared)
    before = sorted(p.relative_to(videos) for p in videos.rglob("*"))
    assert_cli_error(extract_here(videos, videos), str(videos))
    assert sorted(p.relative_to(videos) for p in videos.rglob("*")) == before


def test_out_dot_is_refused(tmp_path, shared, monkeypatch):
    videos = video_folder(tmp_path / "videos", shared)
    (tmp_path / "notes.md").write_text("mine")
    monkeypatch.chdir(tmp_path)
    assert_cli_error(extract_here(videos, Path(".")), "not a landmark store")
    assert (tmp_path / "notes.md").read_text() == "mine"


def test_out_that_is_a_file_is_refused(tmp_path, shared):
    videos = video_folder(tmp_path / "videos", shared)
    (tmp_path / "store").write_text("a file")
    assert_cli_error(extract_here(videos, tmp_path / "store"), str(tmp_path / "store"))
    assert (tmp_path / "store").read_text() == "a file"


# --- item 2: a failed write leaves the old store --------------------------------------------
@pytest.mark.slow
def test_a_full_disk_while_repacking_keeps_the_old_store(tmp_path, built):
    videos, source = built
    with tmpfs(tmp_path / "disk", size="8m") as disk:
        store = disk / "store"
        shutil.copytree(source, store)
        old = LandmarkStore.open(store)
        # the new index drops one clip: a re-pack of the two others, straight from the store
        index = pd.read_csv(videos / "labels.csv").iloc[1:]
        index.to_csv(videos / "fewer.csv", index=False)
        frames = int(old.offsets[-1] - old.offsets[1])
        pages = -(-frames * 543 * 3 * 4 // 4096)
        fill(disk, leave=(pages + 1) * 4096)   # landmarks.f32 fits, the rest does not
        result = extract(videos, store, "--index", videos / "fewer.csv")
        assert_one_error(result, "space")
        kept = LandmarkStore.open(store)
        assert list(kept.meta["clip_id"]) == list(old.meta["clip_id"])
        assert np.array_equal(kept.data, old.data, equal_nan=True)
        assert not [p.name for p in disk.iterdir() if p.name.startswith(".")]


def test_a_header_only_index_leaves_no_store(tmp_path):
    folder = tmp_path / "lm"
    folder.mkdir()
    (folder / "index.csv").write_text("file,gloss,signer\n")
    result = cli("run", "--model", "pooled_logreg", "--dataset", "landmarks",
                 "--data-dir", folder, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")
    assert_cli_error(result, "index.csv")
    cache = tmp_path / "data-root" / "cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]


# --- item 3: caches keyed by what they were built from --------------------------------------
def landmark_folder(root: Path, seed: int) -> Path:
    (root / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(24):
        clip = make_clip(frames=6, seed=seed * 100 + i)
        clip[:, 501:, 0] += 0.05 * (i % 3) * (1 + seed)     # class-dependent, and per seed
        np.save(root / "clips" / f"c{i:02d}.npy", clip)
        rows.append({"file": f"clips/c{i:02d}.npy", "gloss": "abc"[i % 3],
                     "signer": "pqrs"[i % 4], "split": "test" if i % 4 == 3 else "train"})
    if not (root / "index.csv").exists():
        pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


def test_replaced_landmark_files_are_not_read_from_the_old_cache(tmp_path):
    folder = landmark_folder(tmp_path / "lm", seed=1)
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    args = ("run", "--model", "pooled_logreg", "--dataset", "landmarks", "--data-dir", folder,
            "--tracking-uri", uri)
    assert cli(*args).exit_code == 0
    index_stamp = (folder / "index.csv").stat().st_mtime_ns
    time.sleep(0.01)
    landmark_folder(folder, seed=2)                  # every file replaced, index unchanged
    assert (folder / "index.csv").stat().st_mtime_ns == index_stamp
    assert cli(*args).exit_code == 0
    first, second = runs_in(tmp_path / "m.db")
    assert second["status"] == "FINISHED"
    digest = "data.landmark_digest"
    assert first["params"][digest] != second["params"][digest]
    assert first["params"]["split_hash"] == second["params"]["split_hash"]


@pytest.mark.slow
def test_a_replaced_video_is_extracted_again(tmp_path, shared):
    folder = video_folder(tmp_path / "videos", shared)
    store = tmp_path / "store"
    assert extract(folder, store).returncode == 0
    # same file name, another recording: its landmarks must not be kept
    shutil.copy(shared / "asl8-videos" / "clips" / "No" / "No09.mp4", folder / "clips" / "No03.mp4")
    result = extract(folder, store)
    assert result.returncode == 0, result.stderr
    assert "1 extracted now" in result.stdout and "2 already in the store" in result.stdout
    frames = dict(zip(LandmarkStore.open(store).meta["clip_id"],
                      LandmarkStore.open(store).meta["n_frames"]))
    assert frames["clips/No03"] == 18               # No09's 18 frames, not No03's 9


@pytest.mark.slow
def test_window_columns_added_or_dropped_redo_only_the_clips_whose_frames_change(tmp_path,
                                                                                  shared):
    # an empty bound is the clip's own, but it was compared as absent against the store's
    # 1 / -1: adding the columns for one clip re-extracted every clip
    folder = video_folder(tmp_path / "videos", shared)
    store = tmp_path / "store"
    assert extract(folder, store).returncode == 0
    index = pd.read_csv(folder / "labels.csv")
    plain = index.copy()
    index["start_frame"] = [2, None, None]
    index["end_frame"] = [None, None, None]
    index.to_csv(folder / "labels.csv", index=False)
    result = extract(folder, store)
    assert result.returncode == 0, result.stderr
    assert "1 extracted now" in result.stdout and "2 already in the store" in result.stdout
    plain.to_csv(folder / "labels.csv", index=False)
    result = extract(folder, store)
    assert "1 extracted now" in result.stdout and "2 already in the store" in result.stdout


# --- item 4 and the index.csv errors --------------------------------------------------------
INDEX_CASES = {
    "empty": b"",
    "ragged": b"file,gloss\nclips/a.npy,yes\nclips/b.npy,no,extra,cells\n",
    "not utf-8": "file,gloss\nclips/a.npy,n\u00e4in\n".encode("latin-1"),
    "empty gloss": b"file,gloss\nclips/a.npy,yes\nclips/b.npy,\n",
    "split typo": b"file,gloss,split\nclips/a.npy,yes,train\nclips/b.npy,no,testing\n",
    "header only": b"file,gloss,split\n",
}
INDEX_NEEDLES = {"split typo": ("row 3", "'testing'", "train", "val", "test")}


@pytest.mark.parametrize("case", INDEX_CASES)
def test_index_errors_are_one_line(tmp_path, case):
    folder = tmp_path / "lm"
    (folder / "clips").mkdir(parents=True)
    for name in ("a", "b"):
        np.save(folder / "clips" / f"{name}.npy", make_clip(frames=5))
    (folder / "index.csv").write_bytes(INDEX_CASES[case])
    result = cli("run", "--model", "pooled_logreg", "--dataset", "landmarks",
                 "--data-dir", folder, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")
    assert_cli_error(result, "index.csv", *INDEX_NEEDLES.get(case, ()))


def test_a_split_typo_is_refused_by_extract_too(tmp_path, shared):
    videos = video_folder(tmp_path / "videos", shared)
    index = pd.read_csv(videos / "labels.csv")
    index["split"] = ["train", "testing", "test"]
    index.to_csv(videos / "labels.csv", index=False)
    assert_cli_error(extract_here(videos, tmp_path / "store"), "labels.csv", "'testing'")


@pytest.mark.parametrize("how", ESCAPES)
def test_extract_index_paths_outside_the_folder(tmp_path, shared, how):
    videos = video_folder(tmp_path / "videos", shared)
    shutil.copy(videos / "clips" / "No03.mp4", tmp_path / "outside.mp4")
    point_outside(videos / "labels.csv", "file", 0, tmp_path / "outside.mp4", how)
    assert_cli_error(extract_here(videos, tmp_path / "store"), "labels.csv", "outside")
    videos_run = cli("run", "--model", "r2plus1d", "--dataset", "videos", "--data-dir",
                     videos, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")
    assert_cli_error(videos_run, "labels.csv", "outside")


# --- item 6 and unreadable inputs: listed, the extraction goes on ---------------------------
@pytest.mark.slow
def test_truncated_and_unreadable_videos_are_listed(tmp_path, shared):
    videos = video_folder(tmp_path / "videos", shared)
    clip = videos / "clips" / "goodbye10.mp4"
    data = clip.read_bytes()
    clip.write_bytes(data[:len(data) * 3 // 10])        # real bytes cut off the end
    (videos / "clips" / "garbage.mp4").write_bytes(os.urandom(4096))
    frames = videos / "clips" / "frames"
    frames.mkdir()
    (frames / "0001.jpg").write_bytes(b"not a jpeg")
    index = pd.read_csv(videos / "labels.csv")
    index = pd.concat([index, pd.DataFrame([
        {"file": "clips/garbage.mp4", "gloss": "ZZZ", "signer": "S1"},
        {"file": "clips/frames", "gloss": "NO", "signer": "S1"}])])
    index.to_csv(videos / "labels.csv", index=False)
    store = tmp_path / "store"
    result = extract(videos, store)
    assert result.returncode == 0, result.stderr
    errors = pd.read_csv(tmp_path / "store.errors.csv")
    reasons = dict(zip(errors["clip_id"], errors["error"]))
    assert set(reasons) == {"clips/goodbye10", "clips/garbage", "clips/frames"}
    assert "truncated" in reasons["clips/goodbye10"]
    assert list(LandmarkStore.open(store).meta["clip_id"]) == ["clips/No03", "clips/goodbye06"]
    # ZZZ's one clip failed: a class no model could learn was kept ("4 signs", trained on 3)
    assert LandmarkStore.open(store).vocab == ("GOODBYE", "NO")
    assert "left out of the vocabulary: ZZZ" in result.stderr


# --- item 8: Ctrl-C ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])   # Ctrl-C, closed terminal
def test_ctrl_c_stops_extraction_in_seconds_and_keeps_finished_clips(tmp_path, shared,
                                                                     signum):
    source = shared / "msasl-sample-videos"
    videos = tmp_path / "videos"
    shutil.copytree(source, videos)
    listed = pd.read_csv(source / "labels.csv")    # its gloss is in the label column
    pd.DataFrame({"file": listed["file"], "gloss": listed["label"]}).to_csv(
        videos / "labels.csv", index=False)
    store = tmp_path / "store"
    parts = tmp_path / "store.parts"
    # its own session, as a terminal's foreground job: Ctrl-C reaches the whole group
    process = subprocess.Popen([SLRBENCH, "data", "extract", "--videos", videos, "--out", store,
                                "--workers", "2", "--keep-parts"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=interruptible,
                               env=environment(SLRBENCH_DATA_ROOT=str(tmp_path / "dr")))
    try:
        wait_for(lambda: list(parts.glob("*.npy")), 300, "a first finished clip")
        started = time.monotonic()
        os.killpg(process.pid, signum)
        _, err = process.communicate(timeout=60)
        seconds = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and "resume" in err and "leaked" not in err, err
    kept = list(parts.glob("*.npy"))
    assert kept and all(np.load(p).shape[1:] == (543, 3) for p in kept)
    assert not store.exists()
    wait_for(lambda: group_gone(process.pid), 15, "the workers to exit")


def group_gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False
