"""Options out of range are one clear line and exit 2, before any data is read or any
run is recorded (issue 14, "one clear line")."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli import main
from tests.faults import baseline_run, runs_in  # noqa: F401 - a shared fixture

RUN = ("run", "--model", "pooled_logreg", "--dataset", "signo")


def invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


def assert_refused(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and needle in errors[0], result.output


@pytest.mark.parametrize("extra, needle", [
    (("--seed", "-1"), "--seed -1"),
    (("--seed", 2**32), f"--seed {2**32}"),
    (("--split-seed", "-3"), "--split-seed -3"),
    (("--threads", "0"), "--threads 0"),
    (("--threads", "-2"), "--threads -2"),
    (("--threads", "100000"), "--threads 100000: this process may use"),
    (("--device", "gpu"), "--device 'gpu'"),
    (("--vocab", "1"), "--vocab 1"),
])
def test_run_options_out_of_range(tmp_path, extra, needle):
    db = tmp_path / "mlruns.db"
    result = invoke(*RUN, "--tracking-uri", f"sqlite:///{db}", *extra)
    assert_refused(result, needle)
    assert runs_in(db) == []                 # refused before a run was created


def test_epochs_below_one(tmp_path):
    result = invoke("run", "--model", "spoter", "--dataset", "signo", "--epochs", "0",
                    "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}")
    assert_refused(result, "--epochs 0")


def test_run_file_values_are_checked_too(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('model = "pooled_logreg"\ndataset = "signo"\nseed = -5\n')
    result = invoke("run", "--config", config, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")
    assert_refused(result, "seed -5")


def test_cuda_without_cuda_is_refused(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    db = tmp_path / "mlruns.db"
    result = invoke(*RUN, "--device", "cuda", "--tracking-uri", f"sqlite:///{db}")
    assert_refused(result, "CUDA")
    assert runs_in(db) == []                 # never trained on the CPU while recording cuda


@pytest.mark.parametrize("extra, needle", [
    (("--seeds", "-1,0"), "-1"),
    (("--device", "tpu"), "--device 'tpu'"),
])
def test_sweep_options_out_of_range(tmp_path, extra, needle):
    result = invoke("sweep", "--models", "pooled_logreg", "--dataset", "signo", "--dry-run",
                    "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}", *extra)
    assert_refused(result, needle)


@pytest.mark.parametrize("command", [
    ("data", "extract", "--videos", "{shared}/asl8-videos", "--out", "{tmp}/store"),
    ("data", "fetch", "--vocab", "10", "--out", "{tmp}/clips"),
])
@pytest.mark.parametrize("workers", ["0", "-1"])
def test_workers_below_one(tmp_path, shared, command, workers):
    # before the fix, --workers 0 silently meant "one per core" and the extraction (or the
    # downloads) started
    args = [part.format(shared=shared, tmp=tmp_path) for part in command]
    result = invoke(*args, "--workers", workers)
    assert result.exit_code == 2, result.output
    assert "--workers" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "store.parts").exists()


@pytest.mark.parametrize("top", ["0", "-1"])
def test_predict_top_below_one(baseline_run, shared, top):
    uri, run_id, _ = baseline_run
    clip = next((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))
    result = invoke("predict", "--run", run_id, "--tracking-uri", uri, "--top", top, clip)
    assert result.exit_code == 2, result.output
    assert "--top" in result.output and "Traceback" not in result.output
