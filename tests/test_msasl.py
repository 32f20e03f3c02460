"""MS-ASL annotations: slicing MS-ASL N on Microsoft's real files, bad input, the adapter."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.data import msasl_annotations as msasl
from harness.cli import main
from harness.errors import BadAnnotations, BadConfig, DatasetNotFound
from harness.run.runner import RunConfig, run_experiment

# From the MS-ASL paper / PROVENANCE.md: clips per split for MS-ASL100/200/500/1000.
EXPECTED = {"val": {100: 1190, 200: 2041, 500: 3702, 1000: 5287},
            "test": {100: 757, 200: 1359, 500: 2720, 1000: 4172}}


@pytest.fixture(scope="module")
def annotations(shared) -> Path:
    return shared / "msasl"


@pytest.mark.parametrize("vocab", [100, 200, 500, 1000])
def test_slice_counts_match_the_published_subsets(annotations, vocab):
    sliced = msasl.load_slice(vocab, annotations)
    counts = sliced.counts().set_index("split")
    assert counts.loc["val", "clips"] == EXPECTED["val"][vocab]
    assert counts.loc["test", "clips"] == EXPECTED["test"][vocab]
    assert counts.loc["val", "classes"] == vocab and counts.loc["test", "classes"] == vocab
    assert sliced.missing == ["train"]          # not in the shared copy: skipped, not fatal
    frame = sliced.frame()
    assert frame["label"].max() == vocab - 1
    assert frame["clip_id"].is_unique
    # the gloss is the class name, not the caption text (synonyms share one class)
    classes = json.loads((annotations / "MSASL_classes.json").read_text())
    assert (frame["gloss"] == [classes[i] for i in frame["label"]]).all()


def test_slice_command_writes_json_and_prints_counts(annotations, tmp_path):
    result = CliRunner().invoke(main, ["data", "slice", "--dataset", "msasl", "--vocab", "100",
                                       "--annotations", str(annotations), "--out",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1,190 clips" in result.output and "757 clips" in result.output
    assert "33 signers" in result.output and "20 signers" in result.output
    assert "train skipped" in result.output
    val = json.loads((tmp_path / "MSASL100_val.json").read_text())
    assert len(val) == 1190 and all(r["label"] < 100 for r in val)
    assert set(val[0]) >= {"url", "start_time", "end_time", "box", "signer_id"}  # same schema
    assert len(json.loads((tmp_path / "MSASL100_classes.json").read_text())) == 100
    only_test = CliRunner().invoke(main, ["data", "slice", "--vocab", "200", "--split", "test",
                                          "--annotations", str(annotations), "--out",
                                          str(tmp_path)])
    assert "1,359 clips" in only_test.output and "val" not in only_test.output


def test_train_file_is_read_when_present(annotations, tmp_path):
    for name in ("MSASL_classes.json", "MSASL_val.json"):
        shutil.copy(annotations / name, tmp_path / name)
    records = json.loads((annotations / "MSASL_test.json").read_text())[:50]
    (tmp_path / "MSASL_train.json").write_text(json.dumps(records))
    sliced = msasl.load_slice(1000, tmp_path, ("train", "val"))
    assert sliced.missing == [] and len(sliced.records["train"]) == 50


def test_asking_for_an_absent_split_only_is_an_error(annotations):
    with pytest.raises(DatasetNotFound, match="MSASL_train.json"):
        msasl.load_slice(100, annotations, ("train",))


def _annotation_dir(annotations: Path, tmp_path: Path, records) -> Path:
    shutil.copy(annotations / "MSASL_classes.json", tmp_path / "MSASL_classes.json")
    text = records if isinstance(records, str) else json.dumps(records)
    (tmp_path / "MSASL_val.json").write_text(text)
    return tmp_path


def _record(**changes) -> dict:
    record = {"url": "https://www.youtube.com/watch?v=ri3NrdgfAtE", "start_time": 0.0,
              "end_time": 1.277, "label": 8, "signer_id": 114, "text": "deaf",
              "box": [0.2, 0.0, 1.0, 1.0], "fps": 29.97}
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


def test_malformed_json_names_file_and_line(annotations, tmp_path):
    folder = _annotation_dir(annotations, tmp_path, '[{"url": "x",\n  "label": }]')
    with pytest.raises(BadAnnotations, match=r"MSASL_val.json: not valid JSON \(line 2"):
        msasl.load_slice(100, folder)


@pytest.mark.parametrize("change, message", [
    ({"end_time": None}, "lacks the field 'end_time'"),
    ({"label": "eight"}, "field 'label' is 'eight', expected an integer"),
    ({"label": 1000}, "field 'label' is 1000, outside the 1000 classes"),
    ({"box": [0.1, 0.2]}, "field 'box'"),
    ({"start_time": 2.0}, "'start_time'/'end_time'"),
    # fetching took it with float(): a ValueError / TypeError traceback
    ({"fps": "thirty"}, "field 'fps' is 'thirty', expected a number"),
    ({"fps": [30]}, "field 'fps' is [30], expected a number"),
    ({"fps": -25}, "field 'fps' is -25, expected a number"),
])
def test_bad_record_names_the_record_and_field(annotations, tmp_path, change, message):
    folder = _annotation_dir(annotations, tmp_path, [_record(), _record(**change)])
    with pytest.raises(BadAnnotations, match="record 1") as error:
        msasl.load_slice(100, folder)
    assert message in str(error.value)


def test_a_url_that_would_escape_the_output_folder_is_refused(annotations, tmp_path):
    folder = _annotation_dir(annotations, tmp_path,
                             [_record(url="www.youtube.com/watch?v=../../etc/evil")])
    with pytest.raises(BadAnnotations, match="record 0: clip id '../../etc/evil_.*not a safe"):
        msasl.load_slice(100, folder).frame()
    # a direct file link only ever contributes its file name, whatever its path says
    record = _record(url="http://127.0.0.1:9/..%2F..%2Fetc%2Fevil.mp4")
    assert msasl.clip_id(record) == "evil_0000000_0001277"


@pytest.mark.parametrize("command", ["slice", "fetch"])
def test_a_slice_with_no_clip_is_refused_by_name(annotations, tmp_path, command):
    # fetch failed on the empty table with a KeyError; slice wrote empty files, exit 0
    folder = _annotation_dir(annotations, tmp_path, [_record(label=500)])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["data", command, "--vocab", "100", "--annotations",
                                       str(folder), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{folder}: no clip with a label below 100 in MSASL_val.json" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_vocab_beyond_a_cut_class_list_names_the_file(annotations, tmp_path):
    classes = json.loads((annotations / "MSASL_classes.json").read_text())[:50]
    (tmp_path / "MSASL_classes.json").write_text(json.dumps(classes))
    (tmp_path / "MSASL_val.json").write_text(json.dumps([_record()]))
    with pytest.raises(BadAnnotations) as error:
        msasl.load_slice(100, tmp_path)
    assert str(error.value) == (f"--vocab 100: {tmp_path / 'MSASL_classes.json'} lists 50 "
                                "classes; use any 1-50")
    with pytest.raises(BadAnnotations, match="lists 1000 classes; use one of 100, 200, 500, "
                                             "1000 or any 1-1000"):
        msasl.load_slice(0, annotations)


def test_cli_reports_bad_annotations_in_one_line(annotations, tmp_path):
    folder = _annotation_dir(annotations, tmp_path, [_record(signer_id=None)])
    result = CliRunner().invoke(main, ["data", "slice", "--vocab", "100", "--annotations",
                                       str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "signer_id" in result.output and "Traceback" not in result.output


def test_an_out_name_too_long_for_the_file_system_is_one_line(annotations, tmp_path):
    result = CliRunner().invoke(main, ["data", "slice", "--vocab", "100", "--annotations",
                                       str(annotations), "--out", str(tmp_path / ("x" * 300))])
    assert result.exit_code == 2, result.output      # it was an OSError traceback
    assert result.output.startswith("error: File name too long") and "shorter name" in \
        result.output


def test_msasl_run_without_landmarks_says_how_to_get_them(tmp_path):
    with pytest.raises(DatasetNotFound) as error:
        run_experiment(RunConfig(model="pooled_logreg", dataset="msasl", vocab=100,
                                 data_dir=tmp_path / "no-store",
                                 tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}"))
    message = str(error.value)
    assert "slrbench data fetch --dataset msasl" in message
    assert "slrbench data extract --dataset msasl" in message


@pytest.mark.parametrize("vocab", [0, -2])
def test_a_vocab_below_two_is_refused_before_the_store_is_looked_for(tmp_path, vocab):
    # it was "no clip of MS-ASL-2 in this store", with the advice to fetch --vocab -2
    with pytest.raises(BadConfig, match=f"--vocab {vocab}: a classifier needs at least 2"):
        run_experiment(RunConfig(model="pooled_logreg", dataset="msasl", vocab=vocab,
                                 data_dir=tmp_path / "no-store",
                                 tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}"))


@pytest.mark.parametrize("name", ["MSASL_classes.json", "MSASL_val.json"])
def test_an_annotation_file_that_is_a_folder_is_named(annotations, tmp_path, name):
    # the generic "a file or folder is in the way there; choose another path" was meant
    # for outputs
    folder = _annotation_dir(annotations, tmp_path, [_record()])
    (folder / name).unlink()
    (folder / name).mkdir()
    with pytest.raises(BadAnnotations, match="a folder, not a file of JSON") as error:
        msasl.load_slice(100, folder)
    assert str(folder / name) in str(error.value)
