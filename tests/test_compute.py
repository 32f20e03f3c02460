"""harness.util.compute.torch_compute: threads and subnormal flushing, restored on every exit."""
import pytest
import torch

from harness.api import torch_compute


def _subnormals_survive() -> bool:
    return float(torch.tensor([1e-39]) * 1.0) != 0.0      # 1e-39 is below float32's 1.18e-38


def test_threads_and_flushing_hold_inside_and_are_restored_after():
    before = torch.get_num_threads()
    assert _subnormals_survive()
    with torch_compute(1):
        assert torch.get_num_threads() == 1
        assert not _subnormals_survive()
    assert torch.get_num_threads() == before and _subnormals_survive()


def test_zero_threads_keeps_the_setting_and_an_error_still_restores():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"):
        with torch_compute(0):
            assert torch.get_num_threads() == before
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before and _subnormals_survive()
