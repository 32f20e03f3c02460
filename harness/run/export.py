"""``slrbench export``: a tracked run's model written in a deployment format.

The conversion is the model's own business (its optional ``export(path, fmt) -> Path``
method, e.g. the lstm plugin's TFLite export, conv_transformer's ONNX and TFLite); this
module finds the run, checks the request and keeps the converters' native log lines off
the terminal.
"""
from __future__ import annotations

from pathlib import Path

from harness.errors import BadConfig
from harness.specs import Exports

# Format name -> file suffix of the exported model.
FORMATS = {"tflite": ".tflite", "onnx": ".onnx"}


def default_output(model_name: str, run_id: str, fmt: str) -> Path:
    return Path(f"{model_name}-{run_id[:12]}{FORMATS[fmt]}")


def export_run(run_id: str, fmt: str, out: Path | None = None,
               tracking_uri: str | None = None, verbose: bool = False) -> Path:
    """Load run ``run_id``'s model from MLflow and export it; returns the written file."""
    if fmt not in FORMATS:
        raise BadConfig(f"--format {fmt!r}: unknown export format; choose from "
                        f"{', '.join(FORMATS)}")
    from harness.run.tracking import opened_model

    with opened_model(run_id, tracking_uri) as loaded:
        name = loaded.spec.name
        if not isinstance(loaded.model, Exports):
            raise BadConfig(f"run {run_id} holds a {name!r} model, which has no export; "
                            f"--format {fmt} needs a model that implements export (e.g. lstm)")
        offered = tuple(loaded.model.export_formats)
        if fmt not in offered:
            raise BadConfig(f"run {run_id} holds a {name!r} model, which exports to "
                            f"{', '.join(offered) or 'no format'}, not {fmt}")
        exporter = loaded.model.export
        target = Path(out) if out is not None else default_output(name, run_id, fmt)
        if target.is_dir():
            target = target / default_output(name, run_id, fmt).name
        elif target.suffix.lower() != FORMATS[fmt]:
            raise BadConfig(f"--out {target}: a {fmt} export is a {FORMATS[fmt]} file; give "
                            f"--out a name ending in {FORMATS[fmt]}, or a folder")
        if verbose:
            return Path(exporter(target, fmt))
        from harness.util.quiet import fd_stderr_silenced

        with fd_stderr_silenced():     # TFLite's converter logs from C++, past every env var
            return Path(exporter(target, fmt))
