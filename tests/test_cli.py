"""The command line through click's CliRunner: happy paths and every user error."""
import os
import stat
import subprocess
import time

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.run.tracking import client


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_explains_every_run_option():
    result = invoke("run", "--help")
    assert result.exit_code == 0
    for option in ("--model", "--dataset", "--vocab", "--seed", "--epochs", "--set",
                   "--data-dir", "--tracking-uri"):
        assert option in result.output


@pytest.mark.parametrize("group", [(), ("data",)])
def test_command_listings_are_whole_sentences(group):
    # click cut the long first sentences of the docstrings into "...", at 80 columns
    result = CliRunner().invoke(main, [*group, "--help"], terminal_width=80)
    assert result.exit_code == 0
    listing = [line.rstrip() for line in result.output.split("Commands:")[1].splitlines()
               if line.strip()]
    assert len(listing) >= 3, result.output
    assert all(line.endswith(".") and not line.endswith("...") for line in listing), listing


def test_list_shows_models_and_datasets():
    result = invoke("list")
    assert result.exit_code == 0
    assert "pooled_logreg" in result.output and "asl-signs" in result.output
    assert "signo" in result.output and "synthetic" in result.output
    options = invoke("list", "--model", "pooled_logreg")
    assert "max_iter" in options.output
    # a choice option shows its choices, not the word "Literal"
    choices = invoke("list", "--model", "keyframe_mlp").output
    assert "honest|oracle" in choices and "Literal" not in choices
    blank = invoke("list", "--model", "")
    assert blank.exit_code == 2 and "unknown model ''" in blank.output, blank.output


def test_run_then_predict_then_runs(tracking_uri, shared):
    result = invoke("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                    "--tracking-uri", tracking_uri, "--set", "C=0.5")
    assert result.exit_code == 0, result.output
    assert "test top-1" in result.output
    run_id = result.output.split("run ")[1].split()[0]
    clip = next((shared / "asl-signs-sample" / "train_landmark_files").rglob("*.parquet"))
    predicted = invoke("predict", "--run", run_id, "--tracking-uri", tracking_uri, str(clip))
    assert predicted.exit_code == 0, predicted.output
    lines = predicted.output.strip().splitlines()
    assert lines[0].endswith(":") and {"hello", "thankyou"} <= {l.split()[-1] for l in lines[1:]}
    assert invoke("run", "--model", "pooled_logreg", "--dataset", "signo",
                  "--tracking-uri", tracking_uri).exit_code == 0
    listing = invoke("runs", "--tracking-uri", tracking_uri)
    assert run_id in listing.output
    # columns line up whatever the names' lengths (asl-signs-2 against signo-21)
    lines = listing.output.strip().splitlines()
    assert len(lines) == 2 and len({line.index(" seed ") for line in lines}) == 1, lines


@pytest.mark.parametrize("args, message", [
    (("run", "--model", "nope"), "unknown model 'nope'; known models: "),
    (("run", "--model", "pooled_logreg", "--dataset", "nope"), "unknown dataset 'nope'"),
    (("run", "--model", "pooled_logreg", "--dataset", "asl-signs", "--vocab", "5"),
     "--vocab 5 is larger than asl-signs"),
    (("run", "--model", "pooled_logreg", "--set", "C"), "expected key=value"),
    (("run", "--model", "pooled_logreg", "--set", "depth=3"),
     "pooled_logreg has no option depth"),
    (("run", "--model", "pooled_logreg", "--set", "C=abc"), "'abc' is not a valid float"),
    (("run", "--model", "pooled_logreg", "--epochs", "3"), "does not train by epochs"),
    (("run", "--model", "pooled_logreg", "--experiment", "  "), "--experiment '  ': give a name"),
    (("run", "--model", "pooled_logreg", "--dataset", "landmarks", "--data-dir", "/nonexistent"),
     "/nonexistent: no such folder"),
    (("run", "--model", "pooled_logreg", "--dataset", "wlasl", "--data-option", "foo=1"),
     "dataset wlasl has no option foo; options: drop_missing_classes"),
])
def test_user_errors_are_one_clear_line(args, message, tracking_uri):
    result = CliRunner().invoke(main, [*args, "--tracking-uri", tracking_uri])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unknown_run_is_named_with_the_store_it_is_not_in(tracking_uri):
    client(tracking_uri, writes=True)
    for args in (("predict", "--run", "0123456789abcdef", "x.npy"),
                 ("export", "--run", "0123456789abcdef", "--format", "onnx")):
        result = invoke(*args, "--tracking-uri", tracking_uri)
        assert result.exit_code == 2, result.output
        assert f"no run '0123456789abcdef' in {tracking_uri}" in result.output


def test_commands_that_only_read_leave_no_store_behind(tmp_path, monkeypatch):
    # e.g. `slrbench report` typed in the wrong folder: the error says where it looked, and
    # no empty mlruns.db is left there to be mistaken for the real one
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for args in (("predict", "--run", "0123456789abcdef", "x.npy"),
                 ("export", "--run", "0123456789abcdef", "--format", "onnx"),
                 ("report", "--out", "comparison.html"),
                 ("runs", "--experiment", "signo-21")):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert f"no MLflow store at {tmp_path / 'mlruns.db'}" in result.output
    listing = invoke("runs")
    assert listing.exit_code == 0
    assert listing.output.startswith(f"no runs yet in sqlite:///{tmp_path / 'mlruns.db'}")
    assert list(tmp_path.iterdir()) == []


def test_missing_tracking_directory(tmp_path):
    missing = invoke("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                     "--tracking-uri", f"sqlite:///{tmp_path / 'nowhere' / 'mlruns.db'}")
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_a_folder_as_the_store_names_the_fix(tmp_path):
    # MLflow's own notice about folder stores is longer than one line can carry: cut short,
    # it lost the part that says what to pass instead
    result = invoke("runs", "--tracking-uri", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "refuses a folder" in result.output and "sqlite:///mlflow.db" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_store_path_of_the_wrong_kind_is_refused_at_once(tmp_path):
    # a folder given as the sqlite file: MLflow retried for about 100 s, then one vague line
    (tmp_path / "folder").mkdir()
    database = tmp_path / "mlruns.db"
    database.write_bytes(b"")
    cases = {f"sqlite:///{tmp_path / 'folder'}": f"{tmp_path / 'folder'} is a folder, not a "
                                                  "database file; give one inside it, e.g. "
                                                  f"sqlite:///{tmp_path / 'folder' / 'mlruns.db'}",
             # a database given as a plain path was called a folder
             str(database): f"{database} is a file, but a plain path or file:// names a "
                            f"folder store; for a SQLite database write sqlite:///{database}",
             f"sqlite:///{database / 'x.db'}": f"{database} is a file, not a folder"}
    for uri, message in cases.items():
        started = time.monotonic()
        result = invoke("runs", "--tracking-uri", uri)
        assert result.exit_code == 2, result.output
        assert result.output.strip().startswith(f"error: --tracking-uri {uri}: {message}"), \
            result.output
        assert len(result.output.strip().splitlines()) == 1
        assert time.monotonic() - started < 10


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory nobody can write to: chmod for ordinary users, a read-only tmpfs for root
    (root ignores permission bits)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield locked
        locked.chmod(stat.S_IRWXU)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(locked)], check=True)
    try:
        yield locked
    finally:
        subprocess.run(["umount", str(locked)], check=True)


def test_read_only_tracking_directory(read_only_dir):
    result = invoke("run", "--model", "pooled_logreg", "--dataset", "asl-signs",
                    "--tracking-uri", f"sqlite:///{read_only_dir / 'mlruns.db'}")
    assert result.exit_code == 2 and "read-only" in result.output
