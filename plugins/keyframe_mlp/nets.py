"""The stage networks: plain MLPs over k concatenated frames, initialised like Keras."""
from __future__ import annotations

import torch
from torch import nn

MASK_LEVELS = 2 ** 16


class MaskDropout(nn.Module):
    """Inverted dropout whose keep mask is drawn as 16-bit integers, four per 64-bit draw.

    torch's CPU dropout draws one Bernoulli sample per element at about 5 ns each, which
    made it 16 % of an MLP2 training step; this mask costs a quarter of the draws. The
    rate is rounded to a multiple of 1/65536 (0.3 becomes 0.300003). Randomness comes from
    torch's global generator, which the plugin seeds from the run's seed.
    """

    def __init__(self, rate: float):
        super().__init__()
        self.drop_levels = round(rate * MASK_LEVELS)    # of the 65536 16-bit values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_levels == 0:
            return x
        words = (x.numel() + 3) // 4
        draws = torch.randint(-2 ** 63, 2 ** 63 - 1, (words,), dtype=torch.int64)
        values = draws.view(torch.int16)[:x.numel()].view(x.shape)     # uniform in int16
        keep = values >= self.drop_levels - MASK_LEVELS // 2
        return x * (keep.to(x.dtype) * (MASK_LEVELS / (MASK_LEVELS - self.drop_levels)))

    def extra_repr(self) -> str:
        return f"rate={self.drop_levels / MASK_LEVELS:.6f}"


class StageMLP(nn.Module):
    """Dense-ReLU-Dropout blocks then a linear layer to class logits (softmax outside).

    Stage k reads k frames' features concatenated in temporal order: ``k * feature_dim``.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], num_classes: int, dropout: float):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), MaskDropout(dropout)]
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)
        self.num_classes = num_classes
        for module in self.layers:
            if isinstance(module, nn.Linear):
                # Keras Dense defaults (glorot_uniform kernel, zero bias), as in the original.
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def forward_rows(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Logits for inputs given as frame rows ``[B, k]`` of ``x``, without copying them.

        The first layer is split into one block per input position: a key frame recurs in
        every input of its clip, so each distinct (row, position) is multiplied once. For
        stage 2 this halves the first layer's cost, for stage 3 it cuts it to a third.
        Same function as ``forward`` on the concatenated frames, up to float rounding.
        """
        if rows.shape[1] == 1:
            return self.layers(x[rows[:, 0]])
        first = self.layers[0]
        width = x.shape[1]
        hidden = first.bias.expand(len(rows), -1)
        for position in range(rows.shape[1]):
            unique, inverse = torch.unique(rows[:, position], return_inverse=True)
            block = first.weight[:, position * width:(position + 1) * width]
            hidden = hidden + (x[unique] @ block.T)[inverse]
        return self.layers[1:](hidden)

    def hidden_kernels(self) -> list[torch.Tensor]:
        """Weights that carry the original's L2 penalty (not the output layer's)."""
        linears = [m for m in self.layers if isinstance(m, nn.Linear)]
        return [m.weight for m in linears[:-1]]

    def l2_penalty(self) -> torch.Tensor:
        return sum(torch.dot(w.reshape(-1), w.reshape(-1)) for w in self.hidden_kernels())
