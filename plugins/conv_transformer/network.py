"""The network: depthwise-separable temporal convolutions with efficient channel attention,
interleaved with transformer blocks over the frames (the design family that won Google's
Isolated Sign Language Recognition competition), written for variable-length batches.

Every module takes ``x [B, T, C]`` and ``valid [B, T]`` (True = a real frame) and keeps
padded frames at exactly zero, so a convolution sees the same zeros past a clip's end
whether the padding is its own or the batch's; statistics (batch norm, channel attention,
the final pooling) are taken over real frames only and attention never looks at padding.
A clip therefore gets the same answer alone as in any padded batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _masked(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return x * valid.unsqueeze(-1).to(x.dtype)


def _frame_mean(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over the real frames: ``[B, T, C] -> [B, C]``."""
    weight = valid.unsqueeze(-1).to(x.dtype)
    return (x * weight).sum(1) / weight.sum(1).clamp(min=1)


class MaskedBatchNorm(nn.Module):
    """Batch norm over channels whose training statistics count real frames only."""

    def __init__(self, channels: int, momentum: float = 0.05, eps: float = 1e-3):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        if self.training:
            weight = valid.reshape(-1, 1).float()
            flat = x.reshape(-1, x.shape[-1])
            count = weight.sum().clamp(min=1)
            mean = (flat * weight).sum(0) / count
            var = (((flat - mean) ** 2) * weight).sum(0) / count
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * count / (count - 1).clamp(min=1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        return _masked(out, valid).to(dtype)


class EfficientChannelAttention(nn.Module):
    """ECA (Wang et al., CVPR 2020): channel gates from a small 1-D convolution across the
    frame-averaged channels, no dimensionality reduction."""

    def __init__(self, kernel: int = 5):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        pooled = _frame_mean(x, valid).unsqueeze(1)                   # [B, 1, C]
        return x * torch.sigmoid(self.conv(pooled))                   # gates [B, 1, C]


class DropPath(nn.Module):
    """Stochastic depth: a whole residual branch dropped for some samples while training."""

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = torch.rand(x.shape[0], 1, 1, device=x.device) >= self.rate
        return x * keep.to(x.dtype) / (1.0 - self.rate)


class ConvBlock(nn.Module):
    """Expand, depthwise temporal convolution, batch norm, ECA, project; residual."""

    def __init__(self, dim: int, expand: int, kernel: int, dropout: float, drop_path: float):
        super().__init__()
        inner = dim * expand
        self.expand = nn.Linear(dim, inner)
        # A 1 x kernel 2-D convolution: the same depthwise filter over time, but torch's
        # CPU kernels for grouped 2-D convolutions run several times faster than 1-D ones.
        self.depthwise = nn.Conv2d(inner, inner, (1, kernel), padding=(0, kernel // 2),
                                   groups=inner, bias=False)
        self.norm = MaskedBatchNorm(inner)
        self.attention = EfficientChannelAttention()
        self.project = nn.Linear(inner, dim)
        self.dropout = nn.Dropout(dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        h = _masked(F.silu(self.expand(x)), valid)
        h = self.depthwise(h.transpose(1, 2).unsqueeze(2)).squeeze(2).transpose(1, 2)
        h = self.attention(self.norm(h, valid), valid)
        h = self.dropout(self.project(h))
        return _masked(x + self.drop_path(h), valid)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        batch, frames, dim = x.shape
        q, k, v = (self.qkv(x).reshape(batch, frames, 3, self.heads, dim // self.heads)
                   .permute(2, 0, 3, 1, 4))
        attend = valid[:, None, None, :]                              # keys that are frames
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=attend,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(h.transpose(1, 2).reshape(batch, frames, dim))


class TransformerBlock(nn.Module):
    """Pre-norm self-attention and feed-forward, each residual with stochastic depth."""

    def __init__(self, dim: int, heads: int, expand: int, dropout: float, drop_path: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = SelfAttention(dim, heads, dropout)
        self.feed = nn.Sequential(nn.Linear(dim, dim * expand), nn.SiLU(), nn.Dropout(dropout),
                                  nn.Linear(dim * expand, dim))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attention(self.norm1(x), valid))
        x = x + self.drop_path(self.feed(self.norm2(x)))
        return _masked(x, valid)


class LateDropout(nn.Module):
    """Dropout that does nothing until ``active`` is set (late in training): early epochs
    fit fast, late ones are regularised."""

    def __init__(self, rate: float):
        super().__init__()
        self.rate, self.active = rate, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.rate, self.training and self.active)


class ConvTransformerNet(nn.Module):
    def __init__(self, in_features: int, num_classes: int, dim: int = 192, stages: int = 2,
                 conv_blocks: int = 3, kernel: int = 17, expand: int = 2, heads: int = 4,
                 dropout: float = 0.1, drop_path: float = 0.1, late_dropout: float = 0.5):
        super().__init__()
        self.stem = nn.Linear(in_features, dim, bias=False)
        self.stem_norm = MaskedBatchNorm(dim)
        depth = stages * (conv_blocks + 1)
        rates = [drop_path * (i + 1) / depth for i in range(depth)]
        blocks: list[nn.Module] = []
        for _ in range(stages):
            for _ in range(conv_blocks):
                blocks.append(ConvBlock(dim, expand, kernel, dropout, rates[len(blocks)]))
            blocks.append(TransformerBlock(dim, heads, expand, dropout, rates[len(blocks)]))
        self.blocks = nn.ModuleList(blocks)
        self.top = nn.Linear(dim, 2 * dim)
        self.top_norm = MaskedBatchNorm(2 * dim)
        self.late_dropout = LateDropout(late_dropout)
        self.classify = nn.Linear(2 * dim, num_classes)

    def forward(self, frames: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``frames [B, T, F]``, ``valid [B, T]`` (True = a real frame) -> logits ``[B, C]``."""
        x = self.stem_norm(self.stem(frames), valid)
        for block in self.blocks:
            x = block(x, valid)
        x = self.top_norm(F.silu(self.top(x)), valid)
        return self.classify(self.late_dropout(_frame_mean(x, valid)))
