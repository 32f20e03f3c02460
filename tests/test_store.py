import numpy as np
import pandas as pd
import pytest

from harness.errors import BadLandmarks, BadStore
from harness.data.landmark_files import read_landmark_file
from harness.data.store import LandmarkStore, StoreWriter, write_store
from tests.conftest import make_clip


def rows(n=4):
    for i in range(n):
        yield ({"clip_id": f"c{i}", "gloss": "a" if i % 2 else "b", "label": i % 2,
                "split": "train", "signer": "s", "fps": 30.0, "source": "test"},
               make_clip(frames=3 + i, seed=i))


def test_round_trip_is_exact_and_memory_mapped(tmp_path):
    store = write_store(tmp_path / "store", rows(), ["b", "a"], "toy")
    assert isinstance(store.data, np.memmap)
    assert len(store) == 4 and store.vocab == ("b", "a")
    for i, (_, clip) in enumerate(rows()):
        np.testing.assert_array_equal(store.clip(i), clip)
    assert store.meta["n_frames"].tolist() == [3, 4, 5, 6]
    clips = store.clipset()
    assert clips.clip(3).shape == (6, 543, 3) and clips.labels.tolist() == [0, 1, 0, 1]


def test_truncated_data_file_is_reported_with_its_name(tmp_path):
    write_store(tmp_path / "store", rows(), ["b", "a"], "toy")
    data = tmp_path / "store" / "landmarks.f32"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(BadStore, match="landmarks.f32.*truncated"):
        LandmarkStore.open(tmp_path / "store")


def test_clips_are_read_as_copies_and_a_later_truncation_is_named(tmp_path):
    store = write_store(tmp_path / "store", rows(), ["b", "a"], "toy")
    clip = store.clip(2)
    assert not np.shares_memory(clip, store.data)     # read, not a slice of the map
    clip[:] = 0                                        # a private copy: the store is intact
    np.testing.assert_array_equal(store.clip(2), list(rows())[2][1])
    data = tmp_path / "store" / "landmarks.f32"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(BadStore, match="landmarks.f32: clip 3 .*truncated"):
        store.clip(3)


def test_missing_index_file_is_reported(tmp_path):
    write_store(tmp_path / "store", rows(), ["b", "a"], "toy")
    (tmp_path / "store" / "offsets.npy").unlink()
    with pytest.raises(BadStore, match="offsets.npy"):
        LandmarkStore.open(tmp_path / "store")


def test_failed_write_leaves_nothing_and_keeps_the_old_store(tmp_path):
    write_store(tmp_path / "store", rows(2), ["b", "a"], "toy")
    with pytest.raises(BadLandmarks, match="shape"):
        with StoreWriter(tmp_path / "store", ["b", "a"], "toy") as writer:
            writer.add({"clip_id": "ok"}, make_clip())
            writer.add({"clip_id": "bad"}, np.zeros((5, 542, 3), np.float32))
    assert len(LandmarkStore.open(tmp_path / "store")) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


@pytest.mark.parametrize("array, message", [
    (np.zeros((4, 543, 2), np.float32), "shape"),
    (np.zeros((4, 543, 3), bool), "dtype"),       # integers are coordinates: test_landmark_files
    (np.zeros((0, 543, 3), np.float32), "no frames"),
    (np.full((4, 543, 3), np.nan, np.float32), "every landmark"),
])
def test_bad_clips_are_refused_with_a_clear_reason(tmp_path, array, message):
    path = tmp_path / "clip.npy"
    np.save(path, array)
    with pytest.raises(BadLandmarks, match=message) as error:
        read_landmark_file(path)
    assert "clip.npy" in str(error.value)


def test_truncated_parquet_names_the_file(tmp_path, shared):
    source = next((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(BadLandmarks, match="broken.parquet.*truncated"):
        read_landmark_file(broken)


def test_parquet_is_reordered_into_the_pose_first_layout(shared):
    source = next((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))
    clip = read_landmark_file(source)
    raw = pd.read_parquet(source)
    first = raw[raw["frame"] == raw["frame"].min()]
    pose = first[first["type"] == "pose"].sort_values("landmark_index")
    np.testing.assert_allclose(clip[0, :33], pose[["x", "y", "z"]].to_numpy(), rtol=1e-6)
    right = first[first["type"] == "right_hand"].sort_values("landmark_index")
    np.testing.assert_allclose(clip[0, 522:], right[["x", "y", "z"]].to_numpy(), rtol=1e-6)


BUILD_ONCE = '''
import os, sys, time
from pathlib import Path
from harness.data.packing import cached_store
from harness.data.store import write_store
from tests.test_store import rows

def build(path):
    with open(sys.argv[2], "a") as log:
        log.write(f"{os.getpid()}\\n")
    time.sleep(1.5)                      # long enough for the other process to arrive
    write_store(path, rows(), ["b", "a"], "toy")

print(len(cached_store(Path(sys.argv[1]), build)))
'''


def test_two_processes_on_a_cold_cache_build_it_once(tmp_path):
    # the runs of a local sweep (or two test workers) finding no cache at once: one builds,
    # the other waits and opens it, and no lock file is left among the caches
    import subprocess
    import sys
    from pathlib import Path
    store, log = tmp_path / "cache" / "toy-1", tmp_path / "builds.log"
    root = Path(__file__).resolve().parents[1]
    both = [subprocess.Popen([sys.executable, "-c", BUILD_ONCE, str(store), str(log)],
                             cwd=root, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in both]
    assert [p.returncode for p in both] == [0, 0]
    assert [o.split()[-1] for o in outputs] == ["4", "4"]
    assert len(log.read_text().split()) == 1, log.read_text()
    assert sorted(p.name for p in store.parent.iterdir()) == ["toy-1"]
