"""R(2+1)D-18 video CNN (Tran et al., "A Closer Look at Spatiotemporal Convolutions for
Action Recognition", CVPR 2018), trained from scratch or from a local checkpoint.

It reads RGB video (``--set input=video``, the default: the dataset must provide videos)
or draws a landmark dataset's clips as skeleton videos (``--set input=skeleton``), so the
same network is compared with the landmark models on exactly their clips and split.
``ModelSpec.inputs`` is the default input's need; ``R2Plus1DConfig.required_inputs()``
says what a given configuration needs (the runner asks it).
"""
from __future__ import annotations

from pathlib import Path

from harness.api import ModelSpec, hookimpl

from plugins.r2plus1d.config import R2Plus1DConfig


# The model module imports torch: only a run of this model pays for it, not `slrbench list`.
def _build(config, info):
    from plugins.r2plus1d.model import build
    return build(config, info)


def _load(path: Path, config, info):
    from plugins.r2plus1d.model import R2Plus1DModel
    return R2Plus1DModel.load(path, config, info)


SPEC = ModelSpec(
    name="r2plus1d",
    summary="R(2+1)D-18 video CNN (Tran et al. 2018) on RGB video, or on landmarks drawn "
            "as skeleton videos (--set input=skeleton)",
    inputs=R2Plus1DConfig().required_inputs(),
    config=R2Plus1DConfig,
    build=_build,
    load=_load,
    # 2: stops by the harness's rule (best validation top-1, first of equals kept).
    version="2",
)


@hookimpl
def slrbench_models() -> list[ModelSpec]:
    return [SPEC]
