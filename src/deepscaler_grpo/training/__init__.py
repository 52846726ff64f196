"""Training: GRPO with LoRA on TRL's GRPOTrainer, configured with verl's keys.

    from deepscaler_grpo.training import run_training
    run_training(load_config(["trainer.total_training_steps=2"]))
    python -m deepscaler_grpo.training data.train_files=... trainer.total_training_steps=50

Modules, in the order a run meets them: ``run`` (entry point and the lifecycle setup -> train -> cleanup),
``inputs`` (data, model and context checks), ``state`` (where a run stands: fresh, resuming from step N in
stage S, finished), ``mapping`` (verl keys -> ``trl.GRPOConfig``, LoRA and rewards; what TRL can do),
``trainer`` (the one trainer class), ``schedule`` (length-schedule stages), ``dynamic_sampling``,
``vllm_sync`` (adapter-only vLLM sync), ``mismatch`` (rollout/trainer probability gap), ``metrics`` (verl
names, the progress line, ``metrics.jsonl``), ``validation``, ``checkpoints`` (the run directory),
``distributed`` (the process group). Third-party internals are reached only through ``deepscaler_grpo.compat``.
"""

from __future__ import annotations

from typing import Any


def run_training(*args: Any, **kwargs: Any) -> Any:
    """See :func:`deepscaler_grpo.training.run.run_training` (imported lazily: this package imports no torch)."""
    from deepscaler_grpo.training.run import run_training as run

    return run(*args, **kwargs)


__all__ = ["run_training"]
