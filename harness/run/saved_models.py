"""A plugin's saved-model metadata: one JSON file in the model directory (format, config,
vocabulary, ...), written atomically and read back with checks that name the file and the fix.

Every plugin's ``load`` meets the same failures (a wrong directory, a half-copied artifact, a
model of another plugin or version); checking them here gives one clear message for each.
"""
from __future__ import annotations

import json
from pathlib import Path

from harness.util.atomic import write_text
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
