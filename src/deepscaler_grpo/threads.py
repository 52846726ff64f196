"""CPU threads for a single-process run on CPU: how many torch uses.

torch starts one thread per core and its OpenMP threads spin while they wait: on a machine where other work
takes cores, a run that uses them all gets several times slower than one that leaves them alone (measured in
``benchmarks/cpu_threads.py``: the README's table). The default (``auto``) counts the cores this process may use
and leaves out those the last minute's load average says are busy; ``trainer.cpu_threads`` / ``--threads`` (or
``OMP_NUM_THREADS``) set it outright. Several processes (torchrun, the run script) get one thread each from the
launcher and are left alone.

    from deepscaler_grpo.threads import apply_cpu_threads
    apply_cpu_threads(None)   # -> 1 on a busy 2-core machine, 2 on an idle one
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), or the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def idle_cores(cores: int, load: float | None = None) -> int:
    """``cores`` minus those the 1-minute load average says are busy, at least 1."""
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, min(cores, round(cores - load)))


def choose_cpu_threads(requested: int | None, environ: dict[str, str] | None = None) -> int:
    """``requested`` when given, else ``$OMP_NUM_THREADS``, else the idle usable cores."""
    if requested is not None:
        return requested
    env = os.environ if environ is None else environ
    value = env.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return idle_cores(usable_cores())


def apply_cpu_threads(requested: int | None) -> int:
    """Set torch's intra-op threads for this process (CPU only); returns the number set."""
    import torch

    threads = choose_cpu_threads(requested)
    torch.set_num_threads(threads)
    return threads
