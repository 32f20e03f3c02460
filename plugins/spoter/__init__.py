"""SPOTER (Bohacek & Hruz, "Sign Pose-based Transformer for Word-level Sign Language
Recognition", WACV Workshops 2022) in PyTorch, plus the original study's variant.

Body joints normalised to a signing-space box, each hand to its own box; a transformer
encoder over frames with learned positional encodings and a single-class-query decoder;
the paper's rotation / shear / arm-joint augmentations. Variable-length clips, batched by
length with padding masks.
"""
from __future__ import annotations

from pathlib import Path

from harness.api import ModelSpec, hookimpl
from plugins.spoter.config import SpoterConfig


def _build(config, info):
    from plugins.spoter.model import build

    return build(config, info)


def _load(path: Path, config, info):
    from plugins.spoter.model import SpoterModel

    return SpoterModel.load(path, config, info)


SPEC = ModelSpec(
    name="spoter",
    summary="SPOTER pose transformer (Bohacek & Hruz 2022): normalised body + hands, "
            "class-query decoder, paper augmentations; variant=study for the study's angles",
    inputs="landmarks",
    config=SpoterConfig,
    build=_build,
    load=_load,
)


@hookimpl
def slrbench_models() -> list[ModelSpec]:
    return [SPEC]
