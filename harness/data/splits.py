"""Train/val/test splits: official where a dataset has one, else seeded and group-disjoint.

Every run logs its split manifest (clip ids per split + vocabulary) and the manifest's
sha256; the report only compares runs that share that hash. The split seed is separate
from the training seed so that several training seeds share one split.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.util.atomic import write_text
from harness.data.clips import SPLITS

DEFAULT_VAL_FRACTION = 0.15
DEFAULT_TEST_FRACTION = 0.2


def _rng(seed: int, salt: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def group_disjoint_split(meta: pd.DataFrame, group_column: str, seed: int,
                         val_fraction: float = DEFAULT_VAL_FRACTION,
                         test_fraction: float = DEFAULT_TEST_FRACTION) -> pd.Series:
    """Assign whole groups (signers, sessions) to test, val and train.

    Groups are shuffled with the seed and taken until each held-out split has about its
    fraction of the clips; every split gets at least one group when there are three or
    more. The result is a Series of split names aligned with ``meta``.
    """
    sizes = meta.groupby(group_column, sort=True).size()
    groups = sizes.index.to_numpy()
    order = _rng(seed, f"groups:{group_column}").permutation(len(groups))
    total = float(sizes.sum())
    assignment: dict = {}
    targets = [(name, fraction) for name, fraction in
               (("test", test_fraction), ("val", val_fraction)) if fraction > 0]
    position = 0
    for number, (name, fraction) in enumerate(targets):
        # a group is kept back for each held-out split still to come, train's aside: a
        # small group taken first could otherwise let test take all but train's last one
        later = min(len(targets) - number - 1, max(len(order) - 2, 0))
        taken = 0.0
        while position < len(order) - 1 - later and (
                taken == 0 or taken + sizes.iloc[order[position]] / 2 <= fraction * total):
            group = groups[order[position]]
            assignment[group] = name
            taken += sizes.loc[group]
            position += 1
    for index in order[position:]:
        assignment[groups[index]] = "train"
    return meta[group_column].map(assignment).astype(str)


def stratified_split(meta: pd.DataFrame, strata: list[str], seed: int,
                     val_fraction: float = DEFAULT_VAL_FRACTION,
                     test_fraction: float = DEFAULT_TEST_FRACTION) -> pd.Series:
    """Within every stratum (e.g. class x recording session) shuffle and cut by fraction.

    For data without signer ids: every class keeps clips of every session in each split,
    which is *not* signer-independent and is reported as such.
    """
    split = pd.Series("train", index=meta.index, dtype=object)
    for key, rows in meta.groupby(strata, sort=True):
        index = rows.index.to_numpy()
        index = index[_rng(seed, f"strata:{key}").permutation(len(index))]
        n_test = int(round(len(index) * test_fraction))
        n_val = int(round(len(index) * val_fraction))
        if len(index) >= 3:
            n_test, n_val = max(n_test, 1), max(n_val, 1)
        split.loc[index[:n_test]] = "test"
        split.loc[index[n_test:n_test + n_val]] = "val"
    return split.astype(str)


def carve_validation(meta: pd.DataFrame, seed: int,
                     fraction: float = DEFAULT_VAL_FRACTION) -> pd.Series:
    """Turn part of ``train`` into ``val`` when a dataset's official split has no val.

    Takes whole signers when train has several, else whole sessions, else a class-
    stratified random part, so validation is as independent of training as the data allow.
    """
    split = meta["split"].astype(str).copy()
    train = meta[split == "train"]
    for column in ("signer", "session"):
        if column in train.columns and train[column].nunique() >= 3:
            held = group_disjoint_split(train, column, seed, val_fraction=fraction,
                                        test_fraction=0.0)
            split.loc[held.index[held == "val"]] = "val"
            return split
    held = stratified_split(train, ["label"], seed, val_fraction=fraction, test_fraction=0.0)
    split.loc[held.index[held == "val"]] = "val"
    return split


@dataclass(frozen=True)
class SplitManifest:
    dataset: str
    vocab: tuple[str, ...]
    clip_ids: dict[str, tuple[str, ...]]
    protocol: str

    @classmethod
    def from_meta(cls, dataset: str, vocab, meta: pd.DataFrame, protocol: str) -> "SplitManifest":
        ids = {name: tuple(sorted(meta.loc[meta["split"] == name, "clip_id"].astype(str)))
               for name in SPLITS}
        return cls(dataset=dataset, vocab=tuple(vocab), clip_ids=ids, protocol=protocol)

    def to_dict(self) -> dict:
        # The protocol is a description, not part of the identity: two ways of arriving at
        # the same clips are the same split.
        return {"dataset": self.dataset, "vocab": list(self.vocab),
                "splits": {k: list(v) for k, v in self.clip_ids.items()}}

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.clip_ids.items()}

    def write(self, path: Path) -> None:
        payload = {**self.to_dict(), "protocol": self.protocol, "sha256": self.sha256}
        write_text(path, json.dumps(payload, ensure_ascii=False, indent=1))
