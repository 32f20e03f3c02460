"""Out-of-range ``--set`` values are refused by the plugin configs themselves: one
BadConfig naming the field, before any data is read or any network is built."""
from __future__ import annotations

import dataclasses
import math
import re

import pytest
from click.testing import CliRunner

from harness.api import BadConfig
from harness.cli import main
from harness.util.config import config_from_dict, config_to_dict, parse_set_options
from plugins.baseline import PooledLogRegConfig
from plugins.lstm.config import LSTMConfig
from plugins.spoter.config import SpoterConfig

BAD_POOLED = [
    ("C", -1.0), ("C", 0.0), ("C", math.nan), ("C", "1"),
    ("max_iter", -5), ("max_iter", 0), ("max_iter", 2.5),
    ("origin", "nope"), ("origin", ""),
    ("parts", ()), ("parts", ("foo",)), ("parts", ("pose", "tail")), ("parts", ("pose", "pose")),
    ("parts", "pose"),
]

BAD_SPOTER = [
    ("variant", "other"), ("optimizer", "rmsprop"), ("wrists_from_hands", "yes"),
    ("augment", 2),
    ("d_model", 0), ("heads", 0), ("heads", -3), ("heads", 5),    # 108 % 5
    ("encoder_layers", 0), ("decoder_layers", 0), ("feedforward", 0), ("max_frames", 0),
    ("epochs", 0), ("batch_size", 0), ("patience", 0),
    ("dropout", -0.1), ("dropout", 1.0), ("dropout", math.nan),
    ("learning_rate", -1.0), ("learning_rate", 0.0), ("learning_rate", math.nan),
    ("learning_rate", math.inf),
    ("weight_decay", -1e-4), ("weight_decay", math.nan),
    ("augment_prob", 1.5), ("arm_rotate_prob", -0.1), ("mirror_prob", math.nan),
    ("rotate_deg", -1.0), ("rotate_deg", 400.0), ("arm_rotate_deg", math.nan),
    ("study_rotate_deg", -15.0),
    ("perspective_ratio", 0.5), ("perspective_ratio", -0.1), ("squeeze_ratio", 0.6),
    ("threads", -1),
]

BAD_LSTM = [
    ("normalise", "bogus"), ("coords", "xyzw"), ("monitor", "train_loss"),
    ("presence_flags", "no"), ("standardise", 3), ("shift", None), ("scale", "x"),
    ("noise", 2), ("balance", "on"),
    ("frames", 1), ("frames", 0),
    ("lstm_units", ()), ("lstm_units", (64, 0)), ("lstm_units", (-1,)),
    ("dense_units", 0), ("epochs", 0), ("batch_size", 0), ("patience", 0),
    ("dropout", 1.0), ("dropout", -0.5),
    ("learning_rate", -1.0), ("learning_rate", 0.0), ("learning_rate", math.nan),
    ("lr_patience", -1),
    ("shift_max", -0.05), ("shift_max", math.inf), ("noise_std", -1.0), ("noise_std", math.nan),
    ("scale_max", 1.0), ("scale_max", -0.1),
    ("augment_prob", 1.01), ("augment_prob", math.nan),
    ("per_class", -1), ("threads", -2),
]


def _ids(cases):
    return [f"{name}={value!r}" for name, value in cases]


def _refused(config_cls, name, value):
    with pytest.raises(BadConfig) as caught:
        config_cls(**{name: value})
    message = str(caught.value)
    assert re.search(rf"\b{name}\b", message), message
    assert "\n" not in message


@pytest.mark.parametrize("name, value", BAD_POOLED, ids=_ids(BAD_POOLED))
def test_pooled_logreg_refuses(name, value):
    _refused(PooledLogRegConfig, name, value)


@pytest.mark.parametrize("name, value", BAD_SPOTER, ids=_ids(BAD_SPOTER))
def test_spoter_refuses(name, value):
    _refused(SpoterConfig, name, value)


@pytest.mark.parametrize("name, value", BAD_LSTM, ids=_ids(BAD_LSTM))
def test_lstm_refuses(name, value):
    _refused(LSTMConfig, name, value)


# Every default, and the --set values benchmarks/, tests/ and README.md use, still pass.
ACCEPTED = [
    (PooledLogRegConfig, {}), (PooledLogRegConfig, {"C": "0.5"}),
    (PooledLogRegConfig, {"C": "0.25"}), (PooledLogRegConfig, {"C": "2"}),
    (PooledLogRegConfig, {"C": "inf"}), (PooledLogRegConfig, {"max_iter": "50"}),
    (PooledLogRegConfig, {"origin": "left_shoulder", "parts": "face,left_hand"}),
    (SpoterConfig, {}),
    (SpoterConfig, {"d_model": "54", "heads": "6", "encoder_layers": "1",
                    "decoder_layers": "1", "feedforward": "128", "learning_rate": "5e-4",
                    "patience": "8", "max_frames": "64"}),
    (SpoterConfig, {"d_model": "54", "heads": "6", "variant": "study"}),
    (SpoterConfig, {"encoder_layers": "2", "decoder_layers": "2", "feedforward": "512",
                    "epochs": "60", "patience": "15"}),
    (SpoterConfig, {"epochs": "500", "patience": "500"}),
    (SpoterConfig, {"d_model": "6", "heads": "1", "encoder_layers": "1",
                    "decoder_layers": "1", "feedforward": "8", "max_frames": "16"}),
    (SpoterConfig, {"d_model": "18", "heads": "3", "feedforward": "32", "epochs": "2",
                    "max_frames": "32"}),
    (SpoterConfig, {"optimizer": "sgd", "learning_rate": "0.001", "batch_size": "1",
                    "augment": "false", "weight_decay": "0", "threads": "0"}),
    (LSTMConfig, {}),
    (LSTMConfig, {"frames": "90", "normalise": "none", "coords": "xy",
                  "lstm_units": "64,64"}),
    (LSTMConfig, {"frames": "30", "lstm_units": "128", "dense_units": "128", "patience": "8",
                  "coords": "xyz", "normalise": "none"}),
    (LSTMConfig, {"frames": "30", "lstm_units": "64", "dense_units": "64", "patience": "8",
                  "shift": "true", "scale": "true", "noise": "true", "balance": "true"}),
    (LSTMConfig, {"frames": "32", "lstm_units": "24,16", "dense_units": "16", "epochs": "6"}),
    (LSTMConfig, {"frames": "6", "lstm_units": "4", "dense_units": "4", "epochs": "1",
                  "batch_size": "16"}),
    (LSTMConfig, {"lr_patience": "0", "per_class": "8", "monitor": "val_loss",
                  "threads": "0", "dropout": "0"}),
]


@pytest.mark.parametrize("config_cls, values", ACCEPTED,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(ACCEPTED)])
def test_defaults_and_used_values_are_accepted(config_cls, values):
    config = config_from_dict(config_cls, values)
    # and the config survives its own JSON round trip (saved models are reloaded so)
    assert config_from_dict(config_cls, config_to_dict(config)) == config


def test_set_strings_reach_the_checks_as_one_bad_config():
    for config_cls, values, field in (
            (PooledLogRegConfig, {"C": "-1"}, "C"), (PooledLogRegConfig, {"parts": ""}, "parts"),
            (PooledLogRegConfig, {"parts": "foo"}, "parts"),
            (SpoterConfig, {"heads": "0"}, "heads"),
            (SpoterConfig, {"learning_rate": "-1"}, "learning_rate"),
            (LSTMConfig, {"dense_units": "0"}, "dense_units"),
            (LSTMConfig, {"learning_rate": "-1"}, "learning_rate")):
        with pytest.raises(BadConfig, match=rf"\b{field}="):
            config_from_dict(config_cls, values)


def test_arithmetic_errors_in_a_config_check_become_bad_config():
    @dataclasses.dataclass(frozen=True)
    class Divides:
        width: int = 8
        groups: int = 2

        def __post_init__(self):
            if self.width % self.groups:
                raise ValueError("width must be divisible by groups")

    with pytest.raises(BadConfig, match="Divides: .*modulo by zero"):
        config_from_dict(Divides, {"groups": "0"})


def test_parse_set_options_names_the_option():
    assert parse_set_options(["a=1", " b = 2 "]) == {"a": "1", "b": "2"}
    with pytest.raises(BadConfig, match=r"^--set 'foo': expected key=value, e\.g\. --set "):
        parse_set_options(["foo"])
    with pytest.raises(BadConfig) as caught:
        parse_set_options(["foo"], option="--data-option")
    assert str(caught.value) == "--data-option 'foo': expected key=value"
    with pytest.raises(BadConfig, match="^--data-option clips_per_class: 'x' is not a valid"):
        from harness.adapters.synthetic import SyntheticOptions
        config_from_dict(SyntheticOptions, {"clips_per_class": "x"}, option="--data-option")


def test_cli_refuses_a_negative_c_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["run", "--model", "pooled_logreg", "--dataset", "signo",
                                       "--threads", "1", "--set", "C=-1", "--tracking-uri",
                                       f"sqlite:///{tmp_path}/m.db"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "C=-1" in lines[0] and "pooled_logreg" in lines[0]
    assert "Traceback" not in result.output


def test_cli_names_data_option_for_a_data_option_without_a_value(tmp_path):
    result = CliRunner().invoke(main, ["run", "--model", "pooled_logreg", "--dataset", "signo",
                                       "--data-option", "foo", "--tracking-uri",
                                       f"sqlite:///{tmp_path}/m.db"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: --data-option 'foo': expected key=value"


def test_a_data_option_the_dataset_does_not_declare_is_refused(tmp_path):
    # signo takes no options: one that nobody reads would be logged as if it applied
    result = CliRunner().invoke(main, ["run", "--model", "pooled_logreg", "--dataset", "signo",
                                       "--data-option", "clips_per_class=5", "--tracking-uri",
                                       f"sqlite:///{tmp_path}/m.db"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ("error: --data-option clips_per_class: dataset 'signo' "
                                     "takes no options")
