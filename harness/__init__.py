"""slrbench: a benchmarking harness for isolated sign-language recognition.

The version is the distribution's (pyproject.toml), read with
``importlib.metadata.version("slrbench")``.
"""
