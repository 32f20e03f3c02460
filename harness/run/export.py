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
# Format name -> how a message names one export of it ("an ONNX export").
PROSE = {"tflite": "a TFLite", "onnx": "an ONNX"}


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
                            f"{PROSE[fmt]} export needs {_exporters_hint(fmt)}")
        offered = tuple(loaded.model.export_formats)
        if fmt not in offered:
            raise BadConfig(f"run {run_id} holds a {name!r} model, which exports to "
                            f"{', '.join(offered) or 'no format'}, not {fmt}; "
                            f"{PROSE[fmt]} export needs {_exporters_hint(fmt)}")
        exporter = loaded.model.export
        target = Path(out) if out is not None else default_output(name, run_id, fmt)
        if target.is_dir():
            target = target / default_output(name, run_id, fmt).name
        elif target.suffix.lower() != FORMATS[fmt]:
            raise BadConfig(f"--out {target}: {PROSE[fmt]} export is a {FORMATS[fmt]} file; "
                            f"give --out a name ending in {FORMATS[fmt]}, or a folder")
        if verbose:
            return Path(exporter(target, fmt))
        from harness.util.quiet import fd_stderr_silenced

        with fd_stderr_silenced():     # TFLite's converter logs from C++, past every env var
            return Path(exporter(target, fmt))


def _exporters_hint(fmt: str) -> str:
    names = models_exporting(fmt)
    if not names:
        return "a model that offers it, and no registered model does"
    return (f"a run of a model that offers it ({', '.join(names)}), e.g. `slrbench run "
            f"--model {names[0]}`")


def models_exporting(fmt: str) -> list[str]:
    """The registered models that export ``fmt``. What a model exports is a capability of
    the model object (the ``Exports`` protocol), not of its spec, so each is built once,
    untrained, with its default config for a two-class stand-in (about a second for all
    of them, paid only on this error path). One that cannot be built so is left out: a
    broken plugin must not turn a hint into a traceback."""
    from harness import registry
    from harness.data.clips import ClipSetInfo

    info = ClipSetInfo(name="export-check", num_classes=2, vocab=("a", "b"))
    found = []
    for name, spec in registry.models().items():
        try:
            model = spec.build(spec.config(), info)
        except Exception:  # noqa: BLE001 - see the docstring
            continue
        if isinstance(model, Exports) and fmt in tuple(model.export_formats):
            found.append(name)
    return found
