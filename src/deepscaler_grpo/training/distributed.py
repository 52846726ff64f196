"""The process group of a training run: one code path for N GPUs (NCCL) and N CPU processes (gloo).

Any launcher works (``accelerate launch``, ``torchrun``, the run script): it sets ``WORLD_SIZE``/``RANK``
and :func:`process_state` joins the group. Without CUDA, ``PartialState(cpu=True)`` forms a gloo group
(and ``use_cpu`` is passed on to TRL, see ``deepscaler_grpo.training.mapping``); with CUDA, accelerate's usual NCCL
group. Rank 0 is the only writer of everything shared (``metrics.jsonl``, console, ``config.yaml``,
checkpoints); every rank writes its own RNG state into a checkpoint before rank 0 publishes it.

Under torch elastic (``torchrun``, ``accelerate launch`` with several processes) the ranks run in sessions of
their own, so a ``kill -9`` of the launcher or of its process group would leave them training: each rank exits
when its launcher is gone (:func:`exit_with_launcher`).

    state = process_state(cuda=False)      # 2 processes under torchrun -> state.num_processes == 2
    check_same_resume(state, resume)       # all ranks must see the same checkpoint (shared run dir)
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from deepscaler_grpo.errors import UserError


class DistributedError(UserError):
    """Processes of one run that disagree (e.g. a run dir that is not shared between nodes)."""


def process_state(cuda: bool) -> Any:
    """accelerate's ``PartialState`` for this process: NCCL on GPUs, gloo on CPU (one process: no group)."""
    from accelerate import PartialState

    from deepscaler_grpo import compat

    exit_with_launcher()
    if not cuda:
        compat.accept_indexed_cpu_location()
    return PartialState(cpu=not cuda)


def exit_with_launcher(poll_s: float = 0.5) -> bool:
    """Under torch elastic (``$TORCHELASTIC_RUN_ID``), SIGKILL this process once its launcher (the parent) is gone;
    the reward's workers then exit with it. Returns whether the watch was started (not for a plain process)."""
    if "TORCHELASTIC_RUN_ID" not in os.environ:
        return False
    launcher = os.getppid()
    _kill_on_parent_death()  # at once, Linux only

    def watch() -> None:  # portable; also covers a launcher that died before the prctl
        while os.getppid() == launcher:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="exit-with-launcher", daemon=True).start()
    return True


def _kill_on_parent_death() -> None:
    """Linux: the kernel sends SIGKILL the moment the parent dies (prctl PR_SET_PDEATHSIG); a no-op elsewhere."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def leave_process_group() -> None:
    """End a finished run's process group on every rank together: a gloo group torn down at interpreter exit
    sometimes aborts one rank ("terminate called without an active exception") and fails a finished run."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def cpu_note(state: Any, cuda: bool) -> str | None:
    """The line that says a multi-process run is on CPU (None on GPUs or with one process)."""
    if cuda or state.num_processes < 2:
        return None
    return (
        f"no GPU found: training with {state.num_processes} CPU processes over gloo "
        "(the same code path as GPUs over NCCL; slow, meant for testing)"
    )


def check_same_resume(state: Any, resume: Path | None) -> None:
    """Every rank must resume from the same checkpoint; they differ when nodes do not share the run dir."""
    if state.num_processes < 2:
        return
    from accelerate.utils import gather_object

    seen = gather_object([str(resume) if resume else None])
    if len(set(seen)) > 1:
        raise DistributedError(
            f"the processes of this run found different checkpoints to resume from ({seen} by rank); "
            "put trainer.default_local_dir on a filesystem shared by every node, or start over with "
            "trainer.resume_mode=disable"
        )
