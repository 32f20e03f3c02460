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
        for module in self.layers:
            if isinstance(module, nn.Linear):
                # Keras Dense defaults (glorot_uniform kernel, zero bias), as in the original.
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def hidden_kernels(self) -> list[torch.Tensor]:
        """Weights that carry the original's L2 penalty (not the output layer's)."""
        linears = [m for m in self.layers if isinstance(m, nn.Linear)]
        return [m.weight for m in linears[:-1]]

    def l2_penalty(self) -> torch.Tensor:
        return sum(w.square().sum() for w in self.hidden_kernels())
