"""Validation during training: ``val/accuracy`` = pass@1 of :func:`deepscaler_grpo.evaluation.evaluate` on
``data.val_files``, sharded over processes and gathered, with the training RNG stream left untouched.

    validate = make_validator(trainer, tokenizer, problems, cfg)
    validate()   # -> 0.42 on every rank
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from deepscaler_grpo.config import Config
from deepscaler_grpo.problems import Problem


def val_sampling(cfg: Config) -> Any:
    """The :class:`Sampling` of ``actor_rollout_ref.rollout.val_kwargs`` (greedy unless do_sample)."""
    from deepscaler_grpo.evaluation.generation import Sampling

    vk = cfg.actor_rollout_ref.rollout.val_kwargs
    return Sampling(n=vk.n, temperature=vk.temperature if vk.do_sample else 0.0, top_p=vk.top_p,
                    max_tokens=cfg.data.max_response_length, seed=cfg.trainer.seed)


def make_validator(trainer: Any, tokenizer: Any, problems: Sequence[Problem], cfg: Config) -> Callable[[], float]:
    """A no-argument function returning val/accuracy over all processes (the same value on each)."""

    def validate() -> float:
        from accelerate.utils import gather_object

        acc = trainer.accelerator
        shard = list(problems[acc.process_index :: acc.num_processes])
        model = acc.unwrap_model(trainer.model)
        mine = [(_shard_accuracy(model, tokenizer, shard, cfg, acc.is_main_process), len(shard))]
        parts = gather_object(mine) if acc.num_processes > 1 else mine
        total = sum(count for _, count in parts)
        return sum(score * count for score, count in parts) / total if total else float("nan")

    return validate


def _shard_accuracy(model: Any, tokenizer: Any, shard: list[Problem], cfg: Config, progress: bool) -> float:
    import torch

    from deepscaler_grpo.console import interactive
    from deepscaler_grpo.evaluation import HFBackend, evaluate

    if not shard:
        return 0.0
    was_training = model.training
    model.eval()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    backend = HFBackend(model, tokenizer, batch_size=cfg.data.val_batch_size, progress=progress and interactive())
    try:  # fork_rng: validation sampling must not shift the training RNG stream
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            return evaluate(backend, shard, val_sampling(cfg)).summary["pass@1"]
    finally:
        model.train(was_training)
