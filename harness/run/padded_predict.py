"""Class probabilities from a torch network over clips of any length, in batches of similar
length: the prediction loop every sequence plugin shares."""
from __future__ import annotations

from typing import Callable

import numpy as np

from harness.data.batching import length_batches


def predict_padded(net, rows: list[np.ndarray], pad: Callable, num_classes: int,
                   device="cpu", batch_size: int = 64) -> np.ndarray:
    """Softmax of ``net(frames, mask)`` for every clip's ``[T_i, F]`` rows, in their order.

    ``pad`` turns a batch of rows into the two tensors the network takes (frames and
    whichever mask it reads: real frames or padded ones). Sorting by length keeps a batch's
    padding short; a clip's answer does not depend on its neighbours only if the network
    masks its padding, which is the plugin's to hold.
    """
    import torch
    net.eval()
    out = np.zeros((len(rows), num_classes), dtype=np.float32)
    with torch.no_grad():
        for batch in length_batches(np.array([len(r) for r in rows]), batch_size):
            frames, mask = pad([rows[i] for i in batch])
            logits = net(frames.to(device), mask.to(device))
            out[batch] = torch.softmax(logits.float(), dim=1).cpu().numpy()
    return out
