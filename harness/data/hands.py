"""MediaPipe Hands ``[T, 2, 21, 3]`` (two slots in detection order, ``-1`` = no hand) into
Holistic's left and right hand slots.

Here, not in the wlasl adapter that first needed it, because a Hands-layout ``.npy`` is
read the same way wherever it is read (the ``wlasl`` and ``landmarks`` datasets,
``slrbench predict``); two copies of the rule would place the same file's hands apart.

MediaPipe Hands reports hands in detection order, not as left and right. The rule
``side`` (default) places them frame by frame:

1. both hands seen: the one further right in the image (larger wrist x) is the signer's
   left hand (Holistic's ``left_hand``: WLASL's camera is not mirrored, so the signer's
   right hand, the dominant one of most signers, is seen on the image's left), the other
   the right hand;
2. one hand seen: by the image half its wrist is in (right half: the left hand).

``track`` keeps rule 1 and sends a lone hand to the slot whose wrist was last seen nearest
to it (x, y) in the clip, so a one-handed sign crossing the body keeps its slot; a slot not
seen yet counts as sitting ``SIDE_OFFSET`` image widths to its own side of the clip's
midline (the mean wrist x of the frames with both hands, else the image centre). A missing
hand is NaN, never ``-1``.
"""
from __future__ import annotations

import numpy as np

from harness.data.clips import LEFT_HAND, N_LANDMARKS, RIGHT_HAND
from harness.errors import BadConfig

HANDS_SHAPE = (2, 21, 3)     # MediaPipe Hands: two slots in detection order
MISSING = -1.0               # how the Hands layout marks a slot with no detection
WRIST = 0
SIDE_OFFSET = 0.1            # image widths: where a slot not seen yet is assumed to be
IMAGE_CENTRE = 0.5
DEFAULT_RULE = "side"
RULES = {
    "side": "side: two hands by image x (image-right = signer's left); a lone hand by the "
            "image half it is in",
    "track": "track: two hands by image x (image-right = signer's left); a lone hand to the "
             "slot whose wrist was last seen nearest",
}


def hand_seen(hands: np.ndarray) -> np.ndarray:
    """``[T, 2]``: True where a slot holds a detection (not all ``-1``, no NaN)."""
    return ~((hands == MISSING).all(axis=(2, 3)) | np.isnan(hands).any(axis=(2, 3)))


def place_hands(hands: np.ndarray, rule: str = DEFAULT_RULE) -> np.ndarray:
    """``[T, 2, 21, 3]`` in detection order -> ``[T, 2, 21, 3]`` as (left, right), NaN = none.

    See the module docstring for the rules.
    """
    if rule not in RULES:
        raise BadConfig(f"hand_slots={rule!r}: use one of {', '.join(RULES)}")
    hands = np.asarray(hands, dtype=np.float32)
    seen = hand_seen(hands)
    wrist = hands[:, :, WRIST, :2].astype(np.float64)
    both = seen.all(axis=1)
    midline = float(wrist[both, :, 0].mean()) if both.any() else 0.5
    out = np.full(hands.shape, np.nan, dtype=np.float32)
    last: list[np.ndarray | None] = [None, None]          # last wrist seen in slot left, right
    for t in np.flatnonzero(seen.any(axis=1)):
        if both[t]:
            left = 0 if wrist[t, 0, 0] >= wrist[t, 1, 0] else 1
            out[t, 0], out[t, 1] = hands[t, left], hands[t, 1 - left]
            last = [wrist[t, left], wrist[t, 1 - left]]
            continue
        hand = 0 if seen[t, 0] else 1
        point = wrist[t, hand]
        slot = 0 if point[0] >= (midline if rule == "track" else IMAGE_CENTRE) else 1
        if rule == "track":
            prior = (np.array([midline + SIDE_OFFSET, point[1]]),
                     np.array([midline - SIDE_OFFSET, point[1]]))
            distance = [np.linalg.norm(point - (last[s] if last[s] is not None else prior[s]))
                        for s in (0, 1)]
            if distance[0] != distance[1]:
                slot = int(np.argmin(distance))
        out[t, slot] = hands[t, hand]
        last[slot] = point
    return out


def hands_to_holistic(hands: np.ndarray, rule: str = DEFAULT_RULE) -> np.ndarray:
    """``[T, 2, 21, 3]`` in detection order -> Holistic ``[T, 543, 3]``, hands only."""
    placed = place_hands(hands, rule)
    out = np.full((len(placed), N_LANDMARKS, 3), np.nan, dtype=np.float32)
    out[:, LEFT_HAND], out[:, RIGHT_HAND] = placed[:, 0], placed[:, 1]
    return out
