"""The plugin contract: the one early-stopping rule, Keras-like plateaus, reserved metric
names, optional capabilities found by isinstance, configs that survive their round trip,
and the code version that is part of every result's identity."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch

from harness import registry
from harness.api import (CountsParameters, DeclaresInputs, EarlyStopping, Explains, Exports,
                         ModelSpec, OracleSelects, StoppingRule, config_from_dict,
                         config_to_dict, hookimpl, keras_plateau, state_snapshot)
from harness.errors import BadConfig, BadPlugin
from harness.run.runner import (HARNESS_METRICS, RunConfig, checked_curve_name,
                                count_parameters, run_experiment)
from harness.sweep.plan import SweepConfig, plan_grid


# --- early stopping -------------------------------------------------------------------------

def run_rule(rule: StoppingRule, values: list[float]) -> EarlyStopping:
    stopping = EarlyStopping(rule)
    for epoch, value in enumerate(values, start=1):
        if not stopping.step(epoch, value, snapshot=lambda e=epoch: f"weights of epoch {e}"):
            break
    return stopping


def test_min_rule_stops_after_patience_epochs_without_an_improvement():
    stopping = run_rule(StoppingRule(patience=2), [3.0, 2.0, 2.5, 1.9, 2.0, 2.0, 0.1])
    assert (stopping.best, stopping.best_epoch, stopping.epochs_run) == (1.9, 4, 6)
    assert stopping.best_state == "weights of epoch 4" and stopping.stopped


def test_min_delta_decides_what_counts_as_an_improvement():
    values = [1.0, 0.9995, 0.999, 0.5]
    coarse = run_rule(StoppingRule(patience=2, min_delta=1e-2), values)
    assert (coarse.best_epoch, coarse.epochs_run) == (1, 3)     # stopped before 0.5 came
    assert run_rule(StoppingRule(patience=2, min_delta=0.0), values).best_epoch == 4
    # Equal is not better: the first of equals is kept.
    assert run_rule(StoppingRule(patience=5), [1.0, 1.0, 1.0]).best_epoch == 1


def test_max_rule_and_nan_values():
    stopping = run_rule(StoppingRule(mode="max", patience=2), [0.1, 0.5, math.nan, 0.4, 0.9])
    assert (stopping.best, stopping.best_epoch, stopping.epochs_run) == (0.5, 2, 4)


def test_without_restore_no_state_is_kept_and_rules_are_logged_as_params():
    rule = StoppingRule(monitor="val_top1_epoch", mode="max", patience=3, min_delta=0.01,
                        restore_best=False)
    assert run_rule(rule, [0.1, 0.2]).best_state is None
    assert rule.params() == {"early_stopping.monitor": "val_top1_epoch",
                             "early_stopping.mode": "max", "early_stopping.patience": "3",
                             "early_stopping.min_delta": "0.01",
                             "early_stopping.restore_best": "False"}
    with pytest.raises(BadConfig, match="patience"):
        StoppingRule(patience=0)
    with pytest.raises(BadConfig, match="mode"):
        StoppingRule(mode="up")


def test_state_snapshot_is_a_copy_taken_when_called():
    net = torch.nn.Linear(2, 1)
    snapshot = state_snapshot(net)()
    with torch.no_grad():
        net.weight.add_(1.0)
    assert not torch.equal(snapshot["weight"], net.weight)


def keras_reference(values: list[float], patience: int, factor: float, lr: float,
                    min_delta: float = 1e-4) -> list[float]:
    """Keras' ReduceLROnPlateau as documented: wait counts bad epochs; at ``patience`` the
    rate is multiplied by ``factor`` and wait restarts."""
    best, wait, rates = math.inf, 0, []
    for value in values:
        if value < best - min_delta:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                lr, wait = lr * factor, 0
        rates.append(lr)
    return rates


def test_keras_plateau_reduces_the_rate_exactly_where_keras_does():
    rng = np.random.default_rng(0)
    values = list(np.cumsum(rng.normal(0, 1, 60)))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    plateau = keras_plateau(optimizer, patience=3, factor=0.5)
    rates = []
    for value in values:
        plateau.step(value)
        rates.append(optimizer.param_groups[0]["lr"])
    expected = keras_reference(values, patience=3, factor=0.5, lr=0.1)
    assert rates == pytest.approx(expected)
    assert len(set(expected)) > 3        # the case does reduce, several times


# --- metric names -------------------------------------------------------------------------

def test_reserved_metric_names_are_refused_and_others_pass_unchanged():
    assert checked_curve_name("m", "epoch_val_top1") == "epoch_val_top1"
    assert checked_curve_name("m", "train_loss") == "train_loss"
    for name in ("val_top1", "test_top1", "parameters"):
        assert name in HARNESS_METRICS
        with pytest.raises(BadPlugin, match=f"'m' logged a metric named '{name}'"):
            checked_curve_name("m", name)


# --- a plugin in the process: capabilities, reserved names, versions ---------------------

@dataclass(frozen=True)
class ProbeConfig:
    log_as: str = "train_loss"
    widths: tuple[int, ...] = (4, 2)

    def required_inputs(self) -> str:
        return "landmarks"


class Probe:
    """Predicts the training prior; declares no optional capability."""

    def __init__(self, config, info):
        self.config, self.num_classes = config, info.num_classes

    def fit(self, train, val, ctx):
        ctx.log_metric(self.config.log_as, 1.0, 1)
        ctx.log_params(StoppingRule(patience=4).params())
        self.prior = np.bincount(train.labels, minlength=self.num_classes) / len(train)

    def predict_proba(self, clips):
        return np.tile(self.prior, (len(clips), 1))

    def save(self, path: Path):
        np.save(Path(path) / "prior.npy", self.prior)


class CountingProbe(Probe):
    def num_parameters(self) -> int:
        return self.num_classes


class ProbePlugin:
    version = "1"

    @hookimpl
    def slrbench_models(self):
        return [ModelSpec(name="probe", inputs="landmarks", config=ProbeConfig, build=Probe,
                          load=lambda path, config, info: None, summary="prior",
                          version=self.version),
                ModelSpec(name="counting_probe", inputs="landmarks", config=ProbeConfig,
                          build=CountingProbe, load=lambda path, config, info: None,
                          summary="prior, counted")]


@pytest.fixture
def probe():
    plugin = ProbePlugin()
    registry.plugin_manager().register(plugin, name="probe-plugin")
    yield plugin
    registry.plugin_manager().unregister(name="probe-plugin")


def test_capabilities_are_declared_protocols(probe):
    info = type("Info", (), {"num_classes": 3})()
    plain, counting = Probe(ProbeConfig(), info), CountingProbe(ProbeConfig(), info)
    assert not isinstance(plain, CountsParameters) and isinstance(counting, CountsParameters)
    assert not isinstance(plain, (Explains, OracleSelects, Exports))
    assert isinstance(ProbeConfig(), DeclaresInputs)
    assert math.isnan(count_parameters(plain)) and count_parameters(counting) == 3


def test_a_plugin_logging_a_reserved_name_fails_its_run_with_the_fix(probe, tracking_uri):
    with pytest.raises(BadPlugin, match="'probe' logged a metric named 'val_top1'.*epoch_val_top1"):
        run_experiment(RunConfig(model="probe", dataset="signo", tracking_uri=tracking_uri,
                                 overrides={"log_as": "val_top1"}, latency_clips=0))
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=["signo-21"], output_format="list")
    assert [r.info.status for r in runs] == ["FAILED"]


def test_a_run_records_the_code_version_and_the_plugins_params(probe, tracking_uri):
    result = run_experiment(RunConfig(model="counting_probe", dataset="signo",
                                      tracking_uri=tracking_uri, latency_clips=0))
    run = mlflow.MlflowClient(tracking_uri).get_run(result.run_id)
    assert run.data.tags["slrbench.model_version"] == "1@unregistered==0"
    assert run.data.params["plugin.version"] == "1"
    assert run.data.params["early_stopping.patience"] == "4"
    assert run.data.metrics["parameters"] == 21
    assert [m.step for m in mlflow.MlflowClient(tracking_uri).get_metric_history(
        result.run_id, "train_loss")] == [1]


def test_a_new_plugin_version_is_not_skipped_by_the_sweep(probe, tracking_uri):
    # The run the sweep would make (its workers are other processes, which do not see a
    # plugin registered in this one): the runner writes every tag of the resume key.
    run_experiment(RunConfig(model="probe", dataset="signo", tracking_uri=tracking_uri,
                             latency_clips=0))
    config = SweepConfig(models=("probe",), datasets=("signo",), seeds=(0,),
                         tracking_uri=tracking_uri, max_parallel=1, latency_clips=0)
    assert [p.status for p in plan_grid(config).points] == ["skipped"]
    probe.version = "2"             # the plugin's code changed its results
    assert [p.status for p in plan_grid(config).points] == ["pending"]


# --- configs --------------------------------------------------------------------------------

def test_tuples_survive_a_config_round_trip_through_json():
    import json
    config = ProbeConfig(widths=(8, 4, 2))
    values = json.loads(json.dumps(config_to_dict(config)))
    assert values["widths"] == [8, 4, 2]
    again = config_from_dict(ProbeConfig, values)
    assert again == config and isinstance(again.widths, tuple)
    assert config_from_dict(ProbeConfig, {"widths": "3,1"}).widths == (3, 1)
