"""R(2+1)D-18 (Tran et al., CVPR 2018) in plain PyTorch.

A full 3D convolution t x d x d from N_{i-1} to N_i channels is factorised into a spatial
1 x d x d convolution to M_i channels, batch norm and ReLU, then a temporal t x 1 x 1
convolution to N_i channels, with

    M_i = floor(t d^2 N_{i-1} N_i / (d^2 N_{i-1} + t N_i))

so that the pair has about as many parameters as the 3D convolution it replaces (paper,
section 3.5). As in the authors' reference code (VMZ) and torchvision's ``r2plus1d_18``,
M_i is computed once per residual block from the block's input and output widths and
used for both of its convolutions, and the stem's spatial convolution has 45 channels;
module and parameter names follow torchvision's, so a torchvision ``r2plus1d_18`` state
dict loads into ``R2Plus1D(width=1.0)`` unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

STAGE_WIDTHS = (64, 128, 256, 512)
STAGE_BLOCKS = (2, 2, 2, 2)         # R18 layout
STAGE_STRIDES = (1, 2, 2, 2)
STEM_MID = 45                       # the reference stem's spatial width (not the formula)
STEM_WIDTH = STAGE_WIDTHS[0]
KERNEL_T, KERNEL_D = 3, 3


def mid_channels(n_in: int, n_out: int, t: int = KERNEL_T, d: int = KERNEL_D) -> int:
    """The paper's M_i = floor(t d^2 N_{i-1} N_i / (d^2 N_{i-1} + t N_i))."""
    return (t * d * d * n_in * n_out) // (d * d * n_in + t * n_out)


def scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class Conv2Plus1D(nn.Sequential):
    """Spatial 1 x 3 x 3 conv, BN, ReLU, temporal 3 x 1 x 1 conv (no BN: the block adds it)."""

    def __init__(self, n_in: int, n_out: int, n_mid: int, stride: int = 1):
        super().__init__(
            nn.Conv3d(n_in, n_mid, kernel_size=(1, KERNEL_D, KERNEL_D),
                      stride=(1, stride, stride), padding=(0, 1, 1), bias=False),
            nn.BatchNorm3d(n_mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(n_mid, n_out, kernel_size=(KERNEL_T, 1, 1), stride=(stride, 1, 1),
                      padding=(1, 0, 0), bias=False),
        )


class BasicBlock(nn.Module):
    """Two (2+1)D convolutions with a residual connection (1x1x1 conv when shapes change)."""

    def __init__(self, n_in: int, n_out: int, stride: int = 1):
        super().__init__()
        n_mid = mid_channels(n_in, n_out)
        self.conv1 = nn.Sequential(Conv2Plus1D(n_in, n_out, n_mid, stride),
                                   nn.BatchNorm3d(n_out), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(Conv2Plus1D(n_out, n_out, n_mid), nn.BatchNorm3d(n_out))
        self.downsample = None
        if stride != 1 or n_in != n_out:
            # The reference downsamples time as well as space in the shortcut.
            self.downsample = nn.Sequential(
                nn.Conv3d(n_in, n_out, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm3d(n_out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + shortcut)


def stem(width: float) -> nn.Sequential:
    """1x7x7 spatial conv (stride 2 in space) to 45 channels, then 3x1x1 temporal to 64."""
    mid, out = scaled(STEM_MID, width), scaled(STEM_WIDTH, width)
    return nn.Sequential(
        nn.Conv3d(3, mid, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3),
                  bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, out, kernel_size=(3, 1, 1), stride=1, padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(out),
        nn.ReLU(inplace=True),
    )


class R2Plus1D(nn.Module):
    """R(2+1)D-18: stem, four stages of two blocks, global average pool, linear head.

    Input ``[B, 3, T, H, W]``; output logits ``[B, num_classes]``. ``width`` scales every
    channel count (1.0 is the paper's network; small values make test-sized models).
    Space is downsampled 16x (stem 2, stages 2-4 2 each) and time 8x (stages 2-4).
    """

    def __init__(self, num_classes: int, width: float = 1.0, dropout: float = 0.0):
        super().__init__()
        widths = [scaled(w, width) for w in STAGE_WIDTHS]
        self.stem = stem(width)
        n_in = scaled(STEM_WIDTH, width)
        for index, (n_out, blocks, stride) in enumerate(
                zip(widths, STAGE_BLOCKS, STAGE_STRIDES), start=1):
            layer = [BasicBlock(n_in, n_out, stride)]
            layer += [BasicBlock(n_out, n_out) for _ in range(blocks - 1)]
            setattr(self, f"layer{index}", nn.Sequential(*layer))
            n_in = n_out
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(n_in, num_classes)
        self.feature_dim = n_in
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialisation for its video ResNets.
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))
