"""``slrbench list --model`` names every option's type the way ``--set`` reads it."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness import registry
from harness.cli import main
from harness.util.config import config_from_dict, describe

PYTHON_WORDS = ("typing", "Optional", "tuple", "[", "NoneType", "Union", "Literal")
MODELS = sorted(registry.models())
OPTION_CLASSES = ([(name, spec.config) for name, spec in registry.models().items()]
                  + [(name, spec.options) for name, spec in registry.datasets().items()
                     if spec.options is not None])


@pytest.mark.parametrize("model", MODELS)
def test_listed_types_are_what_a_user_types(model):
    result = CliRunner().invoke(main, ["list", "--model", model], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = result.output.split("options (--set key=value):")[1].strip().splitlines()
    assert rows, result.output
    for row in rows:
        name_and_type = row.rsplit(" default ", 1)[0]
        assert not any(word in name_and_type for word in PYTHON_WORDS), row


@pytest.mark.parametrize("owner,options", OPTION_CLASSES, ids=[n for n, _ in OPTION_CLASSES])
def test_listed_types_agree_with_the_set_parser(owner, options):
    # the listing is only useful if typing what it says gives the default back
    for name, kind, default in describe(options):
        assert not any(word in kind for word in PYTHON_WORDS), (owner, name, kind)
        if kind.endswith(", comma-separated"):
            typed = ",".join(str(item) for item in default)
            parsed = config_from_dict(options, {name: typed}, owner=owner)
            assert getattr(parsed, name) == default, (owner, name, typed)
        if kind.endswith(" or none"):
            parsed = config_from_dict(options, {name: "none"}, owner=owner)
            assert getattr(parsed, name) is None, (owner, name)


@pytest.mark.parametrize("model", MODELS)
def test_listed_defaults_typed_back_give_the_defaults(model):
    # printed as Python reprs they read (256, 128) and 'honest', which --set does not take
    result = CliRunner().invoke(main, ["list", "--model", model], catch_exceptions=False)
    rows = result.output.split("options (--set key=value):")[1].strip().splitlines()
    options = registry.model(model).config
    defaults = {name: default for name, _, default in describe(options)}
    for row in rows:
        name, typed = row.split()[0], row.rsplit(" default ", 1)[1]
        typed = "" if typed == '""' else typed         # what a shell makes of key=""
        parsed = config_from_dict(options, {name: typed}, owner=model)
        assert getattr(parsed, name) == defaults[name], (model, row)


DATASETS = sorted(registry.datasets())


@pytest.mark.parametrize("dataset", DATASETS)
def test_a_datasets_options_are_listed_and_typed_back_give_the_defaults(dataset):
    # --data-option keys were listed nowhere but in the README
    result = CliRunner().invoke(main, ["list", "--dataset", dataset], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    options = registry.dataset(dataset).options
    if options is None:
        assert "no options (--data-option is refused)" in result.output
        return
    rows = result.output.split("options (--data-option key=value):")[1].strip().splitlines()
    defaults = {name: default for name, _, default in describe(options)}
    assert [row.split()[0] for row in rows] == list(defaults)
    for row in rows:
        name, typed = row.split()[0], row.rsplit(" default ", 1)[1]
        typed = "" if typed == '""' else typed
        parsed = config_from_dict(options, {name: typed}, owner=dataset)
        assert getattr(parsed, name) == defaults[name], (dataset, row)


def test_an_unknown_dataset_to_list_is_one_line():
    result = CliRunner().invoke(main, ["list", "--dataset", "wlsal"])
    assert result.exit_code == 2 and "unknown dataset 'wlsal'" in result.output
