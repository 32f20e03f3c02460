"""SPOTER's transformer (Bohacek & Hruz 2022) in PyTorch.

Frames (one row of pose features each) plus learned positional encodings go through a
standard transformer encoder; a decoder with a single learned class query attends to the
encoded frames and a linear layer reads the class off it. As in the paper, the decoder
layers have no self-attention: with one query it would only mix the query with itself.

Clips of different lengths share a batch with ``src_key_padding_mask``: padded frames are
masked out of the encoder's self-attention and the decoder's cross-attention.
"""
from __future__ import annotations

import torch
from torch import nn


class ClassQueryDecoderLayer(nn.Module):
    """Cross-attention of the class query to the frames, then a feed-forward block
    (post-norm, as in ``nn.TransformerDecoderLayer``, minus its self-attention)."""

    def __init__(self, d_model: int, heads: int, feedforward: int, dropout: float):
        super().__init__()
        self.cross = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.feed = nn.Sequential(nn.Linear(d_model, feedforward), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(feedforward, d_model))
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, memory: torch.Tensor,
                padding: torch.Tensor | None) -> torch.Tensor:
        attended = self.cross(query, memory, memory, key_padding_mask=padding,
                              need_weights=False)[0]
        query = self.norm1(query + self.drop1(attended))
        return self.norm2(query + self.drop2(self.feed(query)))


class SpoterNet(nn.Module):
    def __init__(self, in_features: int, num_classes: int, d_model: int, heads: int,
                 encoder_layers: int, decoder_layers: int, feedforward: int, dropout: float,
                 max_frames: int):
        super().__init__()
        # The paper feeds the 108 coordinates as they are (d_model = 108); other feature
        # sizes get a linear embedding.
        self.embed = (nn.Identity() if in_features == d_model
                      else nn.Linear(in_features, d_model))
        self.position = nn.Parameter(torch.rand(max_frames, d_model))
        layer = nn.TransformerEncoderLayer(d_model, heads, feedforward, dropout,
                                           batch_first=True)
        # No nested-tensor fast path: it changes results with the padding of the batch.
        self.encoder = nn.TransformerEncoder(layer, encoder_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.decoder = nn.ModuleList(ClassQueryDecoderLayer(d_model, heads, feedforward, dropout)
                                     for _ in range(decoder_layers))
        self.decoder_norm = nn.LayerNorm(d_model)
        self.class_query = nn.Parameter(torch.rand(1, 1, d_model))
        self.classify = nn.Linear(d_model, num_classes)

    def forward(self, frames: torch.Tensor, padding: torch.Tensor | None = None) -> torch.Tensor:
        """``frames [B, T, F]``, ``padding [B, T]`` (True = padded) -> logits ``[B, C]``."""
        h = self.embed(frames) + self.position[: frames.shape[1]]
        memory = self.encoder(h, src_key_padding_mask=padding)
        query = self.class_query.expand(frames.shape[0], -1, -1)
        for layer in self.decoder:
            query = layer(query, memory, padding)
        return self.classify(self.decoder_norm(query)[:, 0])
