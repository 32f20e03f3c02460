"""The stage networks: plain MLPs over k concatenated frames, initialised like Keras."""
from __future__ import annotations

import torch
from torch import nn


class StageMLP(nn.Module):
    """Dense-ReLU-Dropout blocks then a linear layer to class logits (softmax outside).

    Stage k reads k frames' features concatenated in temporal order: ``k * feature_dim``.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], num_classes: int, dropout: float):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
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
        return sum(w.square().sum() for w in self.hidden_kernels())
