"""deepscaler_grpo.distributed: pieces of the process-group path that run without launching processes."""

from __future__ import annotations

import io

import torch

from deepscaler_grpo.distributed import accept_indexed_cpu_location


def test_indexed_cpu_map_location_loads() -> None:
    """transformers < 5.18 resumes optimizer state with map_location=args.device, "cpu:0" in a CPU group."""
    buffer = io.BytesIO()
    torch.save({"exp_avg": torch.arange(3.0)}, buffer)
    accept_indexed_cpu_location()
    accept_indexed_cpu_location()  # idempotent
    buffer.seek(0)
    loaded = torch.load(buffer, map_location=torch.device("cpu:0"))
    assert torch.equal(loaded["exp_avg"], torch.arange(3.0))
