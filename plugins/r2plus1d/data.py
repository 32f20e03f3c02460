"""The torch Dataset over a ClipSet (training) or an Unlabelled view (prediction)."""
from __future__ import annotations

import numpy as np
import torch

from harness.api import BadConfig

from plugins.r2plus1d.config import R2Plus1DConfig
from plugins.r2plus1d.frames import sample_indices, to_tensor_layout, video_clip
from plugins.r2plus1d.skeleton import render


def check_inputs(clips, config: R2Plus1DConfig) -> None:
    """Fail early, with the fix, when the dataset lacks what ``config.input`` needs."""
    if config.input == "video" and not clips.has_videos:
        raise BadConfig("r2plus1d: --set input=video needs a dataset with videos (e.g. "
                        "--dataset videos --data-dir FOLDER); this one has landmarks only: "
                        "use --set input=skeleton to draw them as skeleton videos")
    if config.input == "skeleton" and not clips.has_landmarks:
        raise BadConfig("r2plus1d: --set input=skeleton needs a dataset with landmarks; "
                        "this one has videos only: use --set input=video, or extract "
                        "landmarks first with `slrbench data extract`")


class ClipTensors(torch.utils.data.Dataset):
    """Item i: normalised float32 ``[3, T, S, S]`` (+ label when training).

    With ``train`` the randomness of item i in epoch e comes from a generator seeded with
    (seed, e, i): the same clips whatever the number of loader processes.
    """

    def __init__(self, clips, config: R2Plus1DConfig, train: bool = False, seed: int = 0,
                 labels: np.ndarray | None = None):
        check_inputs(clips, config)
        self.clips = clips
        self.config = config
        self.train = train
        self.seed = seed
        self.labels = labels
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.clips)

    def frames(self, i: int) -> np.ndarray:
        """uint8 ``[T, S, S, 3]``: what the network sees, before normalisation."""
        c = self.config
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        if c.input == "video":
            return video_clip(self.clips.video(i), c.frames, c.size, c.train_sampling,
                              c.crop_scale, c.flip, c.eval_crop, rng)
        landmarks = self.clips.clip(i)
        picked = np.asarray(landmarks[sample_indices(len(landmarks), c.frames,
                                                     c.train_sampling, rng)])
        mirror = rng is not None and rng.random() < c.flip
        return render(picked, c.size, c.line_width, rng, mirror)

    def __getitem__(self, i: int):
        x = torch.from_numpy(to_tensor_layout(self.frames(i)))
        if self.labels is None:
            return x
        return x, int(self.labels[i])
