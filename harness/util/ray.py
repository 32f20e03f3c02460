"""Reaching Ray: one way for the sweep's Ray backend and Ray extraction to connect."""
from __future__ import annotations

import logging
import os

from harness.errors import BadConfig


def forwarded_environment() -> dict[str, str]:
    """slrbench's own settings (data roots, progress) for workers on other machines."""
    return {k: v for k, v in os.environ.items() if k.startswith("SLRBENCH_")}


def connect_ray(address: str | None, num_cpus: int | None, verbose: bool) -> bool:
    """Use the Ray instance this process is connected to, else connect to ``address``, else
    start a quiet local instance. True when this call started or connected it (so the
    caller shuts it down), False when it was already there."""
    import ray
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": verbose, "logging_level": logging.INFO if verbose else logging.ERROR}
    env = forwarded_environment()
    try:
        if address:
            ray.init(address=address, runtime_env={"env_vars": env} if env else None, **quiet)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     **quiet)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise BadConfig(f"cannot start or reach Ray at {address or 'a local Ray instance'}: "
                        f"{str(error).splitlines()[0]}; check --address (e.g. "
                        "ray://HOST:10001 or auto) or use --backend local") from None
    from harness.util.signals import reclaim_sigterm
    reclaim_sigterm()
    return True
