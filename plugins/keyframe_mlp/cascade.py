"""Stage inputs, per-clip selection and the cascade, vectorised over packed frames.

Stage k reads, for every frame t of a clip, the k-1 key frames chosen by the earlier
stages plus t, concatenated in temporal order. Inputs are index rows into the frame matrix
(``[F, k]``), never materialised copies; one forward pass covers all frames of many clips,
and per-clip maxima are scatter reductions (no Python loop over frames or clips).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from plugins.keyframe_mlp.nets import StageMLP

# Stage inputs are evaluated in chunks of about CHUNK_ELEMENTS probabilities (16 MiB per
# [rows, classes] tensor), so 1000 classes do not need GiBs of transient memory.
CHUNK_ELEMENTS = 2 ** 22
MIN_CHUNK_ROWS, MAX_CHUNK_ROWS = 1024, 65536


def chunk_rows(num_classes: int) -> int:
    return max(MIN_CHUNK_ROWS, min(MAX_CHUNK_ROWS, CHUNK_ELEMENTS // max(num_classes, 1)))


def stage_rows(keys: torch.Tensor, clip_of: torch.Tensor) -> torch.Tensor:
    """Rows of stage-k inputs ``[F, k]``: each clip's keys ``[N, k-1]`` plus every frame.

    Frames of a clip are consecutive rows in temporal order, so sorting the row numbers
    puts the frames in temporal order (a key frame goes first when it comes earlier).
    """
    rows = torch.arange(len(clip_of), dtype=torch.int64).unsqueeze(1)
    if keys.shape[1] == 0:
        return rows
    return torch.cat([keys[clip_of], rows], dim=1).sort(dim=1).values


def gather_inputs(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``[B, k]`` rows -> ``[B, k * D]`` concatenated features."""
    return x[rows.reshape(-1)].reshape(len(rows), -1)


def segment_best(score: torch.Tensor, clip_of: torch.Tensor, n_clips: int) -> torch.Tensor:
    """Row of each clip's highest-scoring frame (the first one on ties, like np.argmax).

    A NaN score (a diverged network) ranks lowest, so each clip still gets a row; NaN
    equals nothing, and a clip of NaN scores used to get the out-of-range row ``frames``."""
    score = torch.nan_to_num(score, nan=float("-inf"))
    frames = len(score)
    best = torch.full((n_clips,), float("-inf"), dtype=score.dtype)
    best = best.scatter_reduce(0, clip_of, score, reduce="amax", include_self=True)
    rows = torch.arange(frames, dtype=torch.int64)
    candidates = torch.where(score == best[clip_of], rows, torch.full_like(rows, frames))
    first = torch.full((n_clips,), frames, dtype=torch.int64)
    return first.scatter_reduce(0, clip_of, candidates, reduce="amin", include_self=True)


@dataclass
class StageOutput:
    """Per-frame summaries of one stage over all its input rows (frames)."""

    max_prob: torch.Tensor             # [F] highest class probability
    pred: torch.Tensor                 # [F] its class
    label_prob: torch.Tensor | None    # [F] probability of the clip's label (if given)
    label_logp: torch.Tensor | None    # [F] its log (for the validation loss)
    probs: torch.Tensor | None = None  # [F, C] all probabilities, kept when one chunk


@torch.no_grad()
def run_stage(net: StageMLP, x: torch.Tensor, rows: torch.Tensor,
              frame_labels: torch.Tensor | None = None) -> StageOutput:
    """Evaluate a stage (in eval mode: the caller's job) on all rows in chunks.

    Only per-frame summaries are kept, so memory stays about ``CHUNK_ELEMENTS`` floats.
    The summaries are allocated once, at full size: small tensors allocated chunk after
    chunk would land between the chunks' freed 16 MiB blocks and pin them on the heap,
    which grew the process by 4 GiB over an MS-ASL-1000-size training set.
    """
    count = len(rows)
    max_prob = torch.empty(count)
    pred = torch.empty(count, dtype=torch.int64)
    label_prob = torch.empty(count) if frame_labels is not None else None
    label_logp = torch.empty(count) if frame_labels is not None else None
    prob = None
    step = chunk_rows(net.num_classes)
    for start in range(0, count, step):
        stop = min(start + step, count)
        logits = net.forward_rows(x, rows[start:stop])
        prob = torch.softmax(logits, dim=1)
        torch.max(prob, dim=1, out=(max_prob[start:stop], pred[start:stop]))
        if frame_labels is not None:
            chosen = frame_labels[start:stop].unsqueeze(1)
            label_prob[start:stop] = prob.gather(1, chosen).squeeze(1)
            label_logp[start:stop] = torch.log_softmax(logits, dim=1).gather(1, chosen) \
                .squeeze(1)
    single_chunk = count <= step
    return StageOutput(max_prob, pred, label_prob, label_logp,
                       prob if single_chunk else None)


@torch.no_grad()
def probs_at(net: StageMLP, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    return torch.softmax(net.forward_rows(x, rows), dim=1)


@dataclass
class CascadeResult:
    frames: torch.Tensor     # [N, S] chosen frame (row within the packed table) per stage
    scores: torch.Tensor     # [N, S] the score that chose it (max prob, or label prob)
    top: torch.Tensor        # [N, S] highest class probability at the chosen frame
    chosen: torch.Tensor     # [N] winning stage (0-based)
    proba: torch.Tensor      # [N, C] class probabilities at the winning stage's frame


@torch.no_grad()
def run_cascade(nets: list[StageMLP], x: torch.Tensor, clip_of: torch.Tensor, n_clips: int,
                labels: torch.Tensor | None = None) -> CascadeResult:
    """All stages (in eval mode) on packed frames.

    Honest (``labels`` None): each stage keeps the frame with the highest probability over
    all classes; the answer is the class at the stage whose highest probability is largest.
    Oracle (``labels`` given, the original study's test protocol): frames and the winning
    stage are chosen by the probability of the clip's true label. Ties go to the earlier
    frame and the earlier stage, as in the original.
    """
    frame_labels = labels[clip_of] if labels is not None else None
    keys = torch.empty((n_clips, 0), dtype=torch.int64)
    frames, scores, tops, probas = [], [], [], []
    for net in nets:
        rows = stage_rows(keys, clip_of)
        out = run_stage(net, x, rows, frame_labels)
        score = out.max_prob if labels is None else out.label_prob
        best = segment_best(score, clip_of, n_clips)
        frames.append(best)
        scores.append(score[best])
        tops.append(out.max_prob[best])
        # a single chunk kept every row's probabilities; otherwise recompute the N rows
        probas.append(out.probs[best] if out.probs is not None
                      else probs_at(net, x, rows[best]))
        keys = torch.cat([keys, best.unsqueeze(1)], dim=1)
    score_table = torch.stack(scores, dim=1)
    chosen = score_table.argmax(dim=1)          # first maximum: the earlier stage on ties
    proba = torch.stack(probas, dim=0)[chosen, torch.arange(n_clips)]
    return CascadeResult(torch.stack(frames, dim=1), score_table, torch.stack(tops, dim=1),
                         chosen, proba)
