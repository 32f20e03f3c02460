"""Loading a dataset for a run: adapter -> vocabulary slice -> complete train/val/test split."""
from __future__ import annotations

from pathlib import Path

from harness import registry
from harness.data.clips import SPLITS, ClipSet
from harness.errors import BadConfig, DatasetNotFound
from harness.util.paths import cache_dir
from harness.specs import DatasetRequest, DatasetSpec
from harness.data.splits import SplitManifest, carve_validation


def make_request(data_dir: Path | str | None = None, vocab: int | None = None,
                 split_seed: int = 0, inputs: str = "landmarks", verbose: bool = False,
                 options: dict | None = None) -> DatasetRequest:
    return DatasetRequest(data_dir=Path(data_dir) if data_dir else None, vocab=vocab,
                          split_seed=split_seed, cache_dir=cache_dir(), inputs=inputs,
                          verbose=verbose, options=dict(options or {}))


def check_vocab(vocab: int | None) -> None:
    if vocab is not None and vocab < 2:
        raise BadConfig(f"--vocab {vocab}: a classifier needs at least 2 signs; use --vocab 2 "
                        "or more")


def slice_vocabulary(clips: ClipSet, vocab: int) -> ClipSet:
    """Keep the first ``vocab`` classes (labels < vocab), as MS-ASL N does."""
    check_vocab(vocab)
    if vocab > len(clips.vocab):
        raise BadConfig(f"--vocab {vocab} is larger than {clips.name}'s vocabulary of "
                        f"{len(clips.vocab)} signs; use --vocab {len(clips.vocab)} or less")
    kept = clips.subset(clips.labels < vocab)
    kept.vocab = clips.vocab[:vocab]
    return kept


def check_data_options(spec: DatasetSpec, options: dict) -> None:
    """Options the dataset does not declare are refused before anything is loaded."""
    if not options:
        return
    if spec.options is None:
        raise BadConfig(f"--data-option {', '.join(sorted(options))}: dataset {spec.name!r} "
                        "takes no options")
    from harness.util.config import config_from_dict
    config_from_dict(spec.options, dict(options), option="--data-option",
                     owner=f"dataset {spec.name}")


def load_clipset(dataset: str, request: DatasetRequest) -> tuple[ClipSet, SplitManifest]:
    spec = registry.dataset(dataset)
    check_data_options(spec, request.options)
    # before the adapter: wlasl read --vocab 0 as its whole class list and a negative N as
    # a slice from the end; msasl looked for an MS-ASL0 store and advised fetching it
    check_vocab(request.vocab)
    clips = spec.load(request)
    # An adapter that resolved --vocab itself (e.g. dropping classes it has no data for)
    # says so; slicing again would refuse the smaller vocabulary it chose.
    if request.vocab is not None and not clips.notes.get("vocab_applied"):
        clips = slice_vocabulary(clips, request.vocab)
    split = clips.meta["split"].astype(str)
    if not (split == "val").any():
        clips.meta["split"] = carve_validation(clips.meta, request.split_seed).to_numpy()
        split = clips.meta["split"]
        protocol = clips.notes.get("protocol", "as given")
        if "carved" not in protocol:      # "official split (as given)" no longer says it all
            clips.notes["protocol"] = (f"{protocol}; val carved from train (split seed "
                                       f"{request.split_seed})")
    bad = sorted(set(split) - set(SPLITS))
    if bad:
        raise BadConfig(f"{dataset}: unknown split names {bad}; use train, val or test")
    for name in SPLITS:
        if not (split == name).any():
            raise DatasetNotFound(f"{dataset}: the {name} split is empty (vocabulary "
                                  f"{len(clips.vocab)}, {len(clips)} clips); use a larger "
                                  "--vocab or more data")
    check_train_classes(clips, dataset)
    # The clip set's own name (e.g. "asl8"), not the adapter's: the same clips read as
    # landmarks or as videos are the same split and must share its hash.
    manifest = SplitManifest.from_meta(clips.name, clips.vocab, clips.meta,
                                       clips.notes.get("protocol", "as given"))
    return clips, manifest



def check_train_classes(clips: ClipSet, dataset: str) -> None:
    """At least two signs to learn; a sign evaluated but never trained on is a warning the
    run records (``clips.notes["warnings"]``): its clips can only be counted wrong."""
    split = clips.meta["split"].astype(str).to_numpy()
    trained = set(clips.labels[split == "train"].tolist())
    if len(trained) < 2:
        raise BadConfig(f"{dataset}: the train split holds {len(trained)} sign(s); a "
                        "classifier needs at least 2 (use a larger --vocab or more data)")
    untrained = sorted(set(clips.labels[split != "train"].tolist()) - trained)
    if untrained:
        glosses = [clips.vocab[i] for i in untrained]
        shown = ", ".join(map(repr, glosses[:5])) + (" ..." if len(glosses) > 5 else "")
        clips.notes.setdefault("warnings", []).append(
            f"{len(glosses)} sign(s) of the val/test splits never appear in train ({shown}): "
            "no model can get their clips right")


def require_inputs(clips: ClipSet, inputs: str, dataset: str, needer: str) -> None:
    """Fail early when a dataset lacks what a model (or a sweep's models) reads."""
    if inputs == "landmarks" and not clips.has_landmarks:
        raise BadConfig(f"{needer} needs landmarks but dataset {dataset!r} has only videos; "
                        "run `slrbench data extract` first")
    if inputs == "video" and not clips.has_videos:
        raise BadConfig(f"{needer} needs videos but dataset {dataset!r} has only landmarks; "
                        "use a video dataset or the model's skeleton input")
