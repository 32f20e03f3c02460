"""Run and sweep files through the CLI: a logged run.toml repeats its run, the command line
overrides the file, and every bad file is one line naming the file and the key."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.run import run_file


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def run_id_of(output: str) -> str:
    return output.split("run ")[1].split()[0]


def mlflow_run(uri: str, run_id: str):
    from harness.run.tracking import client
    return client(uri)[0].get_run(run_id)


@pytest.mark.slow
def test_a_logged_run_file_repeats_the_run(tracking_uri, tmp_path, shared):
    first = invoke("run", "--model", "pooled_logreg", "--dataset", "asl-signs", "--seed", "3",
                   "--split-seed", "1", "--set", "C=0.5", "--tracking-uri", tracking_uri)
    assert first.exit_code == 0, first.output
    original = mlflow_run(tracking_uri, run_id_of(first.output))

    from harness.run.tracking import download_artifacts
    logged = download_artifacts(original.info.run_id, "run.toml", tracking_uri, tmp_path / "dl")
    text = logged.read_text()
    assert 'model = "pooled_logreg"' in text and "seed = 3" in text and "C = 0.5" in text
    assert "max_iter = " in text  # the whole resolved config, defaults too

    again = invoke("run", "--config", logged, "--tracking-uri", tracking_uri)
    assert again.exit_code == 0, again.output
    repeat = mlflow_run(tracking_uri, run_id_of(again.output))
    assert repeat.info.run_id != original.info.run_id
    for name in ("test_top1", "test_top5", "test_macro_f1", "val_top1", "test_mean_class_accuracy"):
        assert repeat.data.metrics[name] == original.data.metrics[name], name
    for key in ("seed", "split_seed", "split_hash", "config.C", "data.landmark_digest",
                "data.dataset_digest"):
        assert repeat.data.params[key] == original.data.params[key], key
    assert repeat.data.tags["slrbench.config_hash"] == original.data.tags["slrbench.config_hash"]

    # the command line still wins over the file
    other = invoke("run", "--config", logged, "--seed", "4", "--set", "C=2",
                   "--tracking-uri", tracking_uri)
    assert other.exit_code == 0, other.output
    params = mlflow_run(tracking_uri, run_id_of(other.output)).data.params
    assert (params["seed"], params["config.C"], params["split_seed"]) == ("4", "2.0", "1")


def test_a_sweep_file_plans_the_grid_and_flags_override_it(tracking_uri, tmp_path, shared):
    grid = tmp_path / "grid.toml"
    grid.write_text('models = ["pooled_logreg"]\ndataset = "asl-signs"\nseeds = [0, 4]\n'
                    f'tracking_uri = "{tracking_uri}"\n'
                    "[set.pooled_logreg]\nC = 0.25\n")
    planned = invoke("sweep", "--config", grid, "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert "2 to run" in planned.output

    one_seed = invoke("sweep", "--config", grid, "--seeds", "1", "--dry-run")
    assert one_seed.exit_code == 0, one_seed.output
    assert "1 to run" in one_seed.output

    grid.write_text(grid.read_text().replace("C = 0.25", "depth = 3"))
    refused = invoke("sweep", "--config", grid, "--dry-run")
    assert refused.exit_code == 2 and "key 'set.pooled_logreg.depth'" in refused.output
    assert str(grid) in refused.output


@pytest.mark.parametrize("text, words", [
    ('model = "pooled_logreg"\nsed = 3\n', ["unknown key 'sed'", "did you mean 'seed'"]),
    ('model = "pooled_logreg"\nseed = "3"\n', ["key 'seed' must be an integer, not a string"]),
    ('model = "pooled_logreg"\nvocab = 2.5\n', ["key 'vocab' must be an integer, not a number"]),
    ('model = 3\n', ["key 'model' must be a string, not an integer"]),
    ('model = "pooled_logreg"\nset = "C=1"\n', ["key 'set' must be a table"]),
    ('model = "pooled_logreg"\n[set]\nC = {a = 1}\n', ["key 'set.C' must be a string"]),
    ('model = "pooled_logreg"\n[set]\ndepth = 3\n', ["key 'set.depth': no model"]),
    ('model = "pooled_logreg"\n[set]\nC = "abc"\n', ["key 'set.C'", "'abc' is not a valid float"]),
    ('model = "pooled_logreg"\nseed = 1\nseed = 2\n', ["not valid TOML"]),
    ('model = "pooled_logreg"\nsplit-seed = 1\nsplit_seed = 2\n', ["'split-seed' is given twice"]),
    ('dataset = "signo"\n', ["--model is required", "'model' in"]),
    # values in range of their type but not of their option: checked later, by the option,
    # and said as if typed on the command line, without the file
    ('model = "pooled_logreg"\nseed = -1\n', ["run.toml: key 'seed': --seed -1: a seed"]),
    ('model = "pooled_logreg"\ndataset = "asl-signs"\nvocab = 0\n',
     ["run.toml: key 'vocab': --vocab 0"]),
    # a name no plugin has is the file's too
    ('model = "pooled_logrg"\n', ["run.toml: key 'model': unknown model 'pooled_logrg'"]),
    ('model = "pooled_logrg"\n[set]\nC = 1\n', ["run.toml: key 'model': unknown model"]),
    ('model = "pooled_logreg"\ndataset = "singo"\n',
     ["run.toml: key 'dataset': unknown dataset 'singo'"]),
])
def test_bad_run_files_are_one_line_naming_file_and_key(tmp_path, text, words):
    path = tmp_path / "run.toml"
    path.write_text(text)
    result = invoke("run", "--config", path)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert str(path) in result.output or "--model is required" in result.output
    for word in words:
        assert word in result.output


def test_bad_sweep_files_and_a_missing_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('models = "pooled_logreg"\nbackend = "slurm"\n')
    result = invoke("sweep", "--config", path)
    assert result.exit_code == 2 and "key 'backend' must be one of 'local', 'ray'" in result.output
    path.write_text('models = "pooled_logreg"\nseeds = [0, "1"]\n')
    result = invoke("sweep", "--config", path)
    assert result.exit_code == 2 and "key 'seeds' must be a count" in result.output
    path.write_text('models = []\n')
    result = invoke("sweep", "--config", path)
    assert result.exit_code == 2 and "key 'models' is an empty list; give at least" in \
        result.output
    path.write_text('models = "pooled_logreg"\nseeds = 0\n')
    result = invoke("sweep", "--config", path, "--dry-run")
    assert result.exit_code == 2 and "grid.toml: key 'seeds': --seeds '0'" in result.output
    # a value typed on the command line is the command line's, even with a file
    result = invoke("sweep", "--config", path, "--seeds", "0", "--dry-run")
    assert result.exit_code == 2 and result.output.startswith("error: --seeds '0'")
    path.write_text('models = ["pooled_logreg", "lstmm"]\ndataset = "signo"\n')
    for dry_run in ((), ("--dry-run",)):  # a sweep that would run names the file as well
        result = invoke("sweep", "--config", path, *dry_run)
        assert result.exit_code == 2 and "grid.toml: key 'models': unknown model 'lstmm'" \
            in result.output, result.output
    missing = invoke("run", "--config", tmp_path / "nope.toml")
    assert missing.exit_code == 2 and "nope.toml: no such run file" in missing.output
    assert invoke("run").exit_code == 2 and "--model is required" in invoke("run").output


def test_every_cli_option_has_its_key():
    """The file keys are the commands' long options (less --config), no more, no fewer."""
    for command, keys in (("run", run_file.RUN_KEYS), ("sweep", run_file.SWEEP_KEYS)):
        options = {opt[2:] for param in main.commands[command].params
                   for opt in param.opts if opt.startswith("--")} - {"config", "help"}
        assert options == {key.name for key in keys}, command
        params = {param.name for param in main.commands[command].params} - {"config_file"}
        assert params == {key.param for key in keys}, command


def test_dump_reads_back_through_the_same_parser(tmp_path):
    values = {"dataset": "gsl", "seed": 1, "data-dir": str(tmp_path / "a b"),
              "device": "cpu", "system-metrics": False,
              "set": {"stages": 3, "lr": 0.0005, "dims": ("x", "y"), "weights": None,
                      "mirror": True, "name": 'quote " and \\ slash'}}
    path = tmp_path / "run.toml"
    path.write_text(run_file.dump(values, comments=["a comment"]))
    read = run_file.read(path, "run")
    assert read["dataset"] == "gsl" and read["data_dir"] == Path(tmp_path / "a b")
    assert set(read["sets"]) == {"stages=3", "lr=0.0005", "dims=x,y", "weights=none",
                                 "mirror=true", 'name=quote " and \\ slash'}


def test_a_typed_set_overrides_the_files_scoped_one(tmp_path):
    """`--set C=2` is for every model, so it replaces the file's [set.pooled_logreg] C too;
    it was kept beside it, and the file's value won as the more specific."""
    from harness.sweep.plan import SweepConfig, model_plans
    from harness.util.config import parse_set_options
    grid = tmp_path / "grid.toml"
    grid.write_text('models = ["pooled_logreg", "keyframe_mlp"]\n'
                    "[set.pooled_logreg]\nC = 0.25\nmax_iter = 50\n")
    file_values = run_file.read(grid, "sweep")

    def plans(*typed: str):
        merged = run_file.merge("sweep", file_values, {"sets": typed}, ["sets"], str(grid))
        return model_plans(SweepConfig(models=merged["models"],
                                       overrides=parse_set_options(merged["sets"])))

    assert plans("C=2")["pooled_logreg"].overrides == {"C": "2", "max_iter": "50"}
    assert plans("pooled_logreg.C=3")["pooled_logreg"].overrides["C"] == "3"
    assert plans("keyframe_mlp.stages=2")["pooled_logreg"].overrides["C"] == "0.25"


@pytest.mark.slow   # a real sweep
def test_a_files_switches_are_turned_off_from_the_command_line(tracking_uri, tmp_path):
    # dry-run = true and system-metrics = true in a file could not be undone when typed
    grid = tmp_path / "grid.toml"
    grid.write_text('models = ["pooled_logreg"]\ndataset = "signo"\nvocab = 3\nseeds = [0]\n'
                    f'tracking_uri = "{tracking_uri}"\ndry-run = true\nsystem-metrics = true\n')
    assert "1 to run" in invoke("sweep", "--config", grid).output
    done = invoke("sweep", "--config", grid, "--no-dry-run", "--no-system-metrics")
    assert done.exit_code == 0, done.output
    from harness.run.tracking import load_runs
    [run_id] = load_runs(tracking_uri)["run_id"]
    assert not [m for m in mlflow_run(tracking_uri, run_id).data.metrics if "system/" in m]
    from harness.run.tracking import download_artifacts
    logged = download_artifacts(run_id, "run.toml", tracking_uri, tmp_path / "dl").read_text()
    assert "system-metrics = false" in logged, logged
