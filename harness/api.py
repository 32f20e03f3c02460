"""The public API for plugins: import from here, nothing else in ``harness``.

Model plugins need the specs, the clip containers, the landmark layout and the shared
normalisation; the rest of the harness (tracking, metrics, reports) is not theirs to use.
"""
from harness.data.clips import (FACE, LEFT_HAND, LEFT_SHOULDER, N_LANDMARKS, PARTS, POSE,
                           RIGHT_HAND, RIGHT_SHOULDER, ClipSet, ClipSetInfo, LabelAccessError,
                           Unlabelled)
from harness.util.config import config_from_dict, config_to_dict
from harness.hookspecs import hookimpl
from harness.data.normalise import mirror_landmarks, shoulder_frame, shoulder_normalise
from harness.data.augment import (affine, affine_matrix, apply_affine, clip_centre, compose,
                                  flip, mix_clips, mix_labels, resample, resample_to,
                                  sometimes, spatial_mask, temporal_mask)
from harness.specs import DatasetRequest, DatasetSpec, ModelSpec, ProgressBar, RunContext, SignModel
from harness.errors import BadConfig, BadLandmarks, BadSavedModel, SlrbenchError
from harness.util.quiet import silence_native_logs
from harness.util.atomic import atomic_path
from harness.util.compute import torch_compute
from harness.run.saved_models import read_model_meta, write_model_meta

__all__ = [
    "FACE", "LEFT_HAND", "LEFT_SHOULDER", "N_LANDMARKS", "PARTS", "POSE", "RIGHT_HAND",
    "RIGHT_SHOULDER", "ClipSet", "ClipSetInfo", "LabelAccessError", "Unlabelled",
    "config_from_dict", "config_to_dict", "hookimpl", "mirror_landmarks", "shoulder_frame",
    "shoulder_normalise", "DatasetRequest", "DatasetSpec", "ModelSpec", "ProgressBar",
    "RunContext", "SignModel", "BadConfig", "BadLandmarks", "BadSavedModel", "SlrbenchError",
    "silence_native_logs", "torch_compute", "atomic_path", "read_model_meta", "write_model_meta",
    # landmark augmentation (harness.data.augment)
    "affine", "affine_matrix", "apply_affine", "clip_centre", "compose", "flip", "mix_clips",
    "mix_labels", "resample", "resample_to", "sometimes", "spatial_mask", "temporal_mask",
]
