"""Registers the built-in dataset adapters through the same hook as third-party ones."""
from __future__ import annotations

from harness.adapters import asl_signs, gsl, landmarks, msasl, signo, synthetic, videos, wlasl
from harness.hookspecs import hookimpl


@hookimpl
def slrbench_datasets() -> list:
    return [
        asl_signs.SPEC,
        signo.SPEC,
        landmarks.SPEC,
        synthetic.SPEC,
        msasl.SPEC,
        gsl.SPEC,
        videos.SPEC,
        wlasl.SPEC,
    ]
