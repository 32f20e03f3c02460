"""harness.api.WeightAverage: the moving average of a network's weights."""
from __future__ import annotations

import pytest
import torch

from harness.api import BadConfig, WeightAverage


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))


def test_the_average_spans_the_stated_fraction_of_the_steps_so_far():
    net = _net()
    average = WeightAverage(net, window=0.1)
    start = net[0].weight.detach().clone()
    # under ten steps the window is under one step: the average is the weights themselves
    assert [average.decay()] == [0.0]
    with torch.no_grad():
        net[0].weight.add_(1.0)
    average.update()
    torch.testing.assert_close(average.average["0.weight"], net[0].weight.detach())
    for _ in range(99):
        average.update()
    assert average.decay() == pytest.approx(1 - 1 / (0.1 * 101))
    # weights that jump after 100 steps are half taken up after about 0.7 windows
    with torch.no_grad():
        net[0].weight.add_(1.0)
    for _ in range(7):
        average.update()
    taken = (average.average["0.weight"] - start - 1.0).mean().item()
    assert 0.4 < taken < 0.6
    assert not torch.allclose(average.average["0.weight"], net[0].weight.detach())


def test_weights_that_never_change_average_to_themselves_and_counters_are_copied():
    net = _net()
    average = WeightAverage(net, window=0.5)
    net.train()
    net(torch.randn(8, 3))          # the BatchNorm counts a batch
    for _ in range(5):
        average.update()
    torch.testing.assert_close(average.average["0.bias"], net[0].bias.detach())
    assert int(average.average["1.num_batches_tracked"]) == 1


def test_applied_evaluates_with_the_average_and_puts_the_trained_weights_back():
    net = _net()
    average = WeightAverage(net, window=0.5)
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    trained = net[0].weight.detach().clone()
    with average.applied():
        torch.testing.assert_close(net[0].weight.detach(), average.average["0.weight"])
        assert not torch.equal(net[0].weight, trained)
    torch.testing.assert_close(net[0].weight.detach(), trained)
    snapshot = average.state()
    average.update()
    assert not torch.equal(snapshot["0.weight"], average.average["0.weight"])
    average.load_into()
    torch.testing.assert_close(net[0].weight.detach(), average.average["0.weight"])


@pytest.mark.parametrize("window", [0.0, -0.1, 1.5])
def test_a_window_outside_zero_to_one_is_a_config_error(window):
    with pytest.raises(BadConfig, match="weight average window"):
        WeightAverage(_net(), window)
