"""Reaching Ray: one way for the sweep's Ray backend and Ray extraction to connect."""
from __future__ import annotations

import logging
import os
import socket

from harness.errors import BadConfig


def forwarded_environment() -> dict[str, str]:
    """slrbench's own settings (data roots, progress) for workers on other machines."""
    return {k: v for k, v in os.environ.items() if k.startswith("SLRBENCH_")}


PROBE_SECONDS = 5


def _require_answer(address: str) -> None:
    """A HOST:PORT (or ray://HOST:PORT) that takes no connection is said at once: Ray
    retried a head that was not there for minutes, logging every try, and never failed."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return                        # "auto", or a form Ray itself has words for
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)),
                                 PROBE_SECONDS).close()
    except (OSError, OverflowError) as error:     # OverflowError: a port past 65535
        raise BadConfig(f"cannot reach Ray at {address}: {error.strerror or error} (one try "
                        f"of {PROBE_SECONDS} s); start the cluster (`ray start --head`) or "
                        "check --address, e.g. ray://HOST:10001 or HOST:6379") from None


def connect_ray(address: str | None, num_cpus: int | None, verbose: bool) -> bool:
    """Use the Ray instance this process is connected to, else connect to ``address``, else
    start a quiet local instance. True when this call started or connected it (so the
    caller shuts it down), False when it was already there."""
    import ray
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": verbose, "logging_level": logging.INFO if verbose else logging.ERROR}
    env = forwarded_environment()
    if address:
        _require_answer(address)
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
