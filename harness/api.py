"""The public API for plugins: import from here, nothing else in ``harness``.

Model plugins need the specs and capability protocols, the clip containers, the landmark
layout, the shared normalisation, augmentation, length batching and padding, the
early-stopping rule, the weights' moving average and the helpers for saved models. Dataset
plugins also get the store writer, index and landmark-file readers and the split functions.
The rest of the harness (tracking, metrics, reports) is not theirs to use.
"""
from harness.data.clips import (FACE, FINGER_BASES, FINGER_JOINTS, FINGER_TIPS, HAND_WRIST,
                                INDEX_BASE, INDEX_TIP, LEFT_HAND, LEFT_SHOULDER, LEFT_WRIST,
                                N_LANDMARKS, PARTS, PINKY_BASE, POSE, RIGHT_HAND,
                                RIGHT_SHOULDER, RIGHT_WRIST, ClipSet, ClipSetInfo,
                                LabelAccessError, Unlabelled)
from harness.util.config import config_from_dict, config_to_dict
from harness.hookspecs import hookimpl
from harness.data.normalise import mirror_landmarks, shoulder_frame, shoulder_normalise
from harness.data.batching import length_batches, pad_rows
from harness.data.augment import (affine, affine_matrix, apply_affine, clip_centre, compose,
                                  finger_bend, flip, hand_affine, mix_clips, mix_labels,
                                  resample, resample_to, sometimes, spatial_mask,
                                  temporal_mask)
from harness.specs import (CountsParameters, DatasetRequest, DatasetSpec, DeclaresInputs,
                           Explains, Exports, ExtractionPlan, ExtractionRequest, ModelSpec,
                           OracleSelects, ProgressBar, RunContext, SignModel)
from harness.errors import (BadAnnotations, BadConfig, BadLandmarks, BadSavedModel, BadStore,
                            DatasetNotFound, SlrbenchError)
from harness.run.early_stopping import EarlyStopping, StoppingRule, keras_plateau, state_snapshot
from harness.run.weight_average import WeightAverage
from harness.run.padded_predict import predict_padded
from harness.data.clips import relabel
from harness.data.store import LandmarkStore, StoreWriter, write_store
from harness.data.splits import carve_validation, group_disjoint_split, stratified_split
from harness.data.landmark_files import read_landmark_file
from harness.data.index import read_index
from harness.data.packing import cache_key, cached_store, files_fingerprint, pack
from harness.util.quiet import silence_native_logs
from harness.util.atomic import atomic_path, atomic_paths
from harness.util.compute import torch_compute
from harness.run.resources import check_model_threads
from harness.run.saved_models import (load_state_dict, read_model_meta, save_state_dict,
                                      write_model_meta)

__all__ = [
    "FACE", "FINGER_BASES", "FINGER_JOINTS", "FINGER_TIPS", "HAND_WRIST", "INDEX_BASE",
    "INDEX_TIP", "LEFT_HAND", "LEFT_SHOULDER", "LEFT_WRIST", "N_LANDMARKS", "PARTS",
    "PINKY_BASE", "POSE", "RIGHT_HAND", "RIGHT_SHOULDER", "RIGHT_WRIST", "ClipSet",
    "ClipSetInfo", "LabelAccessError", "Unlabelled",
    "config_from_dict", "config_to_dict", "hookimpl", "mirror_landmarks", "shoulder_frame",
    "shoulder_normalise", "DatasetRequest", "DatasetSpec", "ModelSpec", "ProgressBar",
    "RunContext", "SignModel", "BadConfig", "BadLandmarks", "BadSavedModel", "SlrbenchError",
    "silence_native_logs", "torch_compute", "check_model_threads", "atomic_path",
    "atomic_paths", "read_model_meta",
    "write_model_meta",
    "save_state_dict", "load_state_dict",
    # optional model capabilities (harness.specs)
    "CountsParameters", "DeclaresInputs", "Explains", "Exports", "OracleSelects",
    # early stopping (harness.run.early_stopping)
    "EarlyStopping", "StoppingRule", "keras_plateau", "state_snapshot",
    # the moving average of a network's weights (harness.run.weight_average)
    "WeightAverage",
    # for dataset plugins
    "BadAnnotations", "BadStore", "DatasetNotFound", "ExtractionPlan", "ExtractionRequest",
    "LandmarkStore", "StoreWriter", "write_store", "relabel", "carve_validation",
    "group_disjoint_split", "stratified_split", "read_landmark_file", "read_index",
    "cache_key", "cached_store", "files_fingerprint", "pack",
    # landmark augmentation (harness.data.augment)
    "affine", "affine_matrix", "apply_affine", "clip_centre", "compose", "finger_bend", "flip",
    "hand_affine", "mix_clips", "mix_labels", "resample", "resample_to", "sometimes",
    "spatial_mask", "temporal_mask",
    # batching by length, padding to the batch's longest clip (harness.data.batching)
    "length_batches", "pad_rows",
    # class probabilities of a torch network, batch by batch (harness.run.padded_predict)
    "predict_padded",
]
