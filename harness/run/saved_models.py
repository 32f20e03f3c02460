"""A plugin's saved-model metadata: one JSON file in the model directory (format, config,
vocabulary, ...), written atomically and read back with checks that name the file and the fix.

Every plugin's ``load`` meets the same failures (a wrong directory, a half-copied artifact, a
model of another plugin or version); checking them here gives one clear message for each.
"""
from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np

from harness.util.atomic import atomic_path, write_text
from harness.errors import BadSavedModel

META_FILE = "slrbench.json"
RETRAIN = "train and save it again with `slrbench run`"


def write_model_meta(directory: Path | str, meta: dict, name: str = META_FILE) -> None:
    """Write ``meta`` as ``directory/name``; a reader sees the old file or the new one.

    Write it after the weights: its presence then marks a complete directory.
    """
    text = json.dumps(meta, indent=1, ensure_ascii=False)
    write_text(Path(directory) / name, text)


def read_model_meta(directory: Path | str, plugin: str, fmt: str, needs: tuple[str, ...] = (),
                    name: str = META_FILE, version: int | None = None,
                    default_format: str | None = None,
                    error: type[BadSavedModel] = BadSavedModel) -> dict:
    """The metadata a plugin saved in ``directory``, checked.

    ``needs`` are the other files the model cannot load without; ``fmt`` (and ``version``
    when given) must match what was saved; ``default_format`` is taken for a file that
    records none (saved before its plugin recorded one). Every failure raises ``error``
    (``BadSavedModel`` or a subclass) in one line naming the file and the fix.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise error(f"{directory}: no such directory, so no saved {plugin} model; point at "
                    "a run's model/weights directory")
    missing = [file for file in (name, *needs) if not (directory / file).is_file()]
    if missing:
        raise error(f"{directory}: not a saved {plugin} model (no {', '.join(missing)} in "
                    f"it); point at a run's model/weights directory or {RETRAIN}")
    meta_file = directory / name
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as problem:
        raise error(f"{meta_file}: not valid JSON ({problem}); the saved {plugin} model is "
                    f"damaged: fetch the run's artifact again or {RETRAIN}") from None
    if not isinstance(meta, dict):
        raise error(f"{meta_file}: holds a JSON {type(meta).__name__}, not an object; the "
                    f"saved {plugin} model is damaged: fetch it again or {RETRAIN}")
    found = meta.get("format", default_format)
    if found != fmt:
        raise error(f"{meta_file}: format {found!r}, expected {fmt!r}; not a saved {plugin} "
                    f"model: point at one, or {RETRAIN}")
    if version is not None and meta.get("version") != version:
        raise error(f"{meta_file}: {fmt} version {meta.get('version')!r}, this slrbench "
                    f"reads version {version}; {RETRAIN}")
    return meta


def save_state_dict(file: Path | str, module) -> None:
    """A torch module's weights as one ``.npz`` of plain arrays (nothing pickled, so loading
    runs no code), written atomically: a failed save leaves the old file."""
    arrays = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    with atomic_path(Path(file)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_state_dict(file: Path | str, module) -> None:
    """Weights that :func:`save_state_dict` wrote, into ``module`` (every key must match)."""
    import torch
    with np.load(Path(file), allow_pickle=False) as arrays:
        state = {k: torch.from_numpy(arrays[k]) for k in arrays.files}
    module.load_state_dict(state)


# What reading damaged, truncated or refused weight files raises (numpy, zipfile, torch,
# pickle); anything else from a plugin's load is a bug and keeps its traceback.
LOAD_FAILURES = (OSError, EOFError, ValueError, RuntimeError, KeyError, zipfile.BadZipFile,
                 pickle.UnpicklingError)


def load_failure(error: BaseException, directory: Path, owner: str) -> BadSavedModel:
    """One line for a saved model whose files could not be read: the file being read (when
    the traceback names one inside ``directory``, shown relative to it: a run's model is
    read from a temporary download) and the real cause."""
    directory = Path(directory)
    file = _file_being_read(error, directory)
    what = f"{owner}: {(file.relative_to(directory.parent) if file else directory.name)}"
    text = str(error).strip().splitlines()[0].split(". ")[0][:160] if str(error).strip() else ""
    if isinstance(error, PermissionError):
        return BadSavedModel(f"{what}: permission denied reading the saved model; make it "
                             "readable")
    if isinstance(error, pickle.UnpicklingError) and "weights only" in text.lower():
        return BadSavedModel(f"{what}: the weights file holds pickled Python objects, not "
                             "only tensors; refused as unsafe (loading it could run code): "
                             f"{RETRAIN}")
    if isinstance(error, (EOFError, zipfile.BadZipFile, pickle.UnpicklingError)) or any(
            word in text for word in ("zip archive", "central directory", "truncated",
                                      "EOF", "not a zip", "cannot reshape")):
        cause = "truncated or damaged"
    else:
        cause = "damaged, or from another version of the model"
    return BadSavedModel(f"{what}: the saved model is {cause} ({type(error).__name__}: "
                         f"{text}); fetch the run's artifacts again or {RETRAIN}")


def _file_being_read(error: BaseException, directory: Path) -> Path | None:
    import traceback
    found = None
    # from the frame below the one that caught the error: the catcher's own locals (the
    # model's slrbench.json) are no file the plugin was reading, and named it when a
    # weights archive lacked an array
    tb = error.__traceback__
    for frame, _ in traceback.walk_tb(tb.tb_next if tb is not None else None):
        for value in frame.f_locals.values():
            if isinstance(value, (str, Path)) and len(str(value)) < 4096:
                path = Path(value)
                if path.is_file() and directory in path.parents:
                    found = path              # the deepest frame's file: the one it read
    return found
