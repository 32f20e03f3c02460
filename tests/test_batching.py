"""harness.api.length_batches: every clip once, similar lengths together, fresh batches
each training epoch; pad_rows: a batch padded to its longest clip."""
from __future__ import annotations

import numpy as np

from harness.api import length_batches, pad_rows


def test_length_batches_group_similar_lengths_and_cover_everything():
    lengths = np.array([5, 50, 6, 48, 7, 52, 5, 49])
    batches = length_batches(lengths, 4)
    assert sorted(np.concatenate(batches).tolist()) == list(range(8))
    assert {tuple(sorted(lengths[b])) for b in batches} == {(5, 5, 6, 7), (48, 49, 50, 52)}
    rng = np.random.default_rng(0)
    trained = length_batches(lengths, 4, rng)
    assert sorted(np.concatenate(trained).tolist()) == list(range(8))
    assert max(lengths[b].max() - lengths[b].min() for b in trained) <= 4


def test_training_batches_change_between_epochs_and_pools_bound_the_sorting():
    lengths = np.random.default_rng(1).integers(5, 100, size=64)
    rng = np.random.default_rng(0)
    first, second = length_batches(lengths, 4, rng), length_batches(lengths, 4, rng)
    assert [b.tolist() for b in first] != [b.tolist() for b in second]
    # one batch per pool: each batch is a random draw, not a length-sorted one
    unsorted = length_batches(lengths, 4, np.random.default_rng(0), pool_batches=1)
    spread = np.mean([np.ptp(lengths[b]) for b in unsorted])
    pooled = np.mean([np.ptp(lengths[b]) for b in length_batches(lengths, 4,
                                                               np.random.default_rng(0))])
    assert pooled < spread / 4
    again = length_batches(lengths, 4, np.random.default_rng(0))
    assert [b.tolist() for b in again] == [b.tolist() for b in
                                           length_batches(lengths, 4, np.random.default_rng(0))]


def test_pad_rows_zero_fills_past_each_clip_and_flags_the_real_frames():
    rows = [np.full((3, 2), 7.0), np.arange(10.0).reshape(5, 2), np.full((1, 2), -1.0)]
    frames, valid = pad_rows(rows)
    assert frames.shape == (3, 5, 2) and frames.dtype == np.float32 and valid.dtype == bool
    assert valid.sum(axis=1).tolist() == [3, 5, 1]
    for row, padded, real in zip(rows, frames, valid):
        np.testing.assert_array_equal(padded[real], row)
        assert not padded[~real].any()
    assert valid[:, 0].all() and not valid[2, 1:].any()


def test_predict_padded_answers_each_clip_in_its_own_place_whatever_its_batch():
    import torch

    from harness.api import predict_padded

    class MaskedMean(torch.nn.Module):
        """Logits = the mean of a clip's real frames: blind to its padding and neighbours."""
        def forward(self, frames, valid):
            weights = valid.unsqueeze(-1).float()
            return (frames * weights).sum(1) / weights.sum(1)

    def pad(rows):
        frames, valid = pad_rows(rows)
        return torch.from_numpy(frames), torch.from_numpy(valid)

    rng = np.random.default_rng(0)
    rows = [rng.normal(size=(n, 3)).astype(np.float32) for n in (9, 2, 30, 2, 17)]
    alone = np.concatenate([predict_padded(MaskedMean(), [r], pad, 3) for r in rows])
    batched = predict_padded(MaskedMean(), rows, pad, 3, batch_size=2)
    np.testing.assert_allclose(batched, alone, atol=1e-6)
    expected = torch.softmax(torch.tensor(np.stack([r.mean(0) for r in rows])), 1).numpy()
    np.testing.assert_allclose(batched, expected, atol=1e-6)
