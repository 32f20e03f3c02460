"""A writer killed outright (SIGKILL: no handler, no unwinding) loses no store and leaves no
half-written copy behind once slrbench runs again. Each writer dies in its own process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data.landmark_files import read_landmark_file
from harness.data.store import LandmarkStore, is_store, write_store
from harness.util import atomic

# The child writes a store of the given clips over STORE and kills itself at the named point.
KILLED_WRITER = r"""
import os, signal, sys
import numpy as np
from harness.data import store
from harness.util import atomic

where, target, *files = sys.argv[1:]
replace = os.replace
renames = []

def killed_between_renames(source, destination):
    replace(source, destination)
    renames.append(destination)
    if len(renames) == 1:                      # the old store is aside, the new one not in
        os.kill(os.getpid(), signal.SIGKILL)

add = store.StoreWriter.add

def killed_while_adding(self, row, array):
    add(self, row, array)
    os.kill(os.getpid(), signal.SIGKILL)

if where == "between-renames":
    atomic.os.replace = killed_between_renames
else:
    store.StoreWriter.add = killed_while_adding
rows = [({"clip_id": f"new-{i}", "gloss": "hello", "label": 0, "split": "", "signer": "1",
          "fps": 30.0, "n_frames": 0, "source": f}, np.load(f)) for i, f in enumerate(files)]
store.write_store(target, rows, ["hello"], "killed")
"""


@pytest.fixture
def clips(shared, tmp_path) -> list[Path]:
    index = pd.read_csv(shared / "asl-signs-sample" / "train.csv").iloc[:2]
    files = []
    for i, row in enumerate(index.itertuples()):
        files.append(tmp_path / f"clip{i}.npy")
        np.save(files[-1], read_landmark_file(shared / "asl-signs-sample" / row.path))
    return files


def old_store(path: Path, clip: Path) -> LandmarkStore:
    row = {"clip_id": "old-0", "gloss": "hello", "label": 0, "split": "", "signer": "1",
           "fps": 30.0, "n_frames": 0, "source": str(clip)}
    return write_store(path, [(row, np.load(clip))], ["hello"], "old")


def killed(where: str, target: Path, clips: list[Path]) -> None:
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, where, str(target),
                           *map(str, clips)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr)


def test_a_store_killed_between_the_two_renames_is_put_back(clips, tmp_path):
    target = tmp_path / "work" / "store"
    before = old_store(target, clips[0]).clip(0)
    killed("between-renames", target, clips)
    left = sorted(p.name for p in target.parent.iterdir())
    assert "store" not in left and any(n.startswith(".store.old-") for n in left), left
    assert is_store(target)                        # what every reader asks first
    store = LandmarkStore.open(target)
    assert list(store.meta.clip_id) == ["old-0"]
    np.testing.assert_array_equal(store.clip(0), before)
    assert sorted(p.name for p in target.parent.iterdir()) == ["store"]   # no new half left


def test_opening_puts_it_back_too(clips, tmp_path):
    target = tmp_path / "store"
    old_store(target, clips[0])
    killed("between-renames", target, clips)
    assert list(LandmarkStore.open(target).meta.clip_id) == ["old-0"]


def test_the_next_writer_removes_a_killed_writers_half_written_copy(clips, tmp_path):
    target = tmp_path / "work" / "store"
    killed("while-adding", target, clips)
    left = list(target.parent.iterdir())
    assert [p.name.endswith(".tmp") and (p / "landmarks.f32").exists() for p in left] == [True]
    old_store(target, clips[1])
    assert sorted(p.name for p in target.parent.iterdir()) == ["store"]


def test_a_live_writers_copy_and_another_hosts_are_left_alone(tmp_path):
    target = tmp_path / "store"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = atomic._owner().partition("@")[2]
        live = tmp_path / f".store.{sleeper.pid}@{host}.abc.tmp"
        elsewhere = tmp_path / f".store.old-{sleeper.pid + 1}@not-{host}"
        mine = tmp_path / f".store.{os.getpid()}@{host}.def.tmp"
        older_release = tmp_path / ".store.ghi.tmp"       # no owner in the name: unknown
        for folder in (live, elsewhere, mine, older_release):
            folder.mkdir()
        assert atomic.recover(target) is False
        assert all(p.exists() for p in (live, elsewhere, mine, older_release))
        assert not target.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert atomic.recover(target) is False and not live.exists()   # its writer is gone now
