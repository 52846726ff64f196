"""The rollout/trainer probability gap (verl's ``training/rollout_probs_diff_{mean,max,std}``) for vLLM rollouts.

The engine that sampled a response and the policy being trained should give its tokens the same probabilities;
a gap means a stale or missing adapter sync or a precision mismatch. Each step logs the mean, max and std of
|p_rollout - p_trainer| over the sampled tokens (gathered over ranks) and warns (:class:`RolloutMismatchWarning`)
above ``actor_rollout_ref.rollout.probs_diff_warn_threshold``.

Cost: when TRL computes the policy's log-probs anyway (several optimizer steps per rollout, or importance-sampling
correction on), the metric is free. Otherwise it needs a forward pass of its own; then it runs every
``rollout.probs_diff_every`` steps on the first ``rollout.probs_diff_sample`` responses of each rank (defaults: every
step, 64 responses: about 1/5 of the recipe's 320 per step, on one GPU), and ``probs_diff_every=0`` turns it off.
"""

from __future__ import annotations

import math
from typing import Any

from deepscaler_grpo import compat


def probs_diff_stats(rollout_logps: Any, trainer_logps: Any, mask: Any) -> Any:
    """``[count, sum, sum of squares, max]`` of |p_rollout - p_trainer| over the sampled (masked) tokens.

    Tokens whose rollout log-prob is NaN (vLLM could not score them) are left out. Sums from several
    processes add up; :func:`reduce_probs_diff` turns them into verl's mean / max / std.
    """
    import torch

    diff = (torch.exp(rollout_logps.float()) - torch.exp(trainer_logps.float())).abs()
    keep = mask.bool() & ~torch.isnan(diff)
    values = diff[keep].double()
    if values.numel() == 0:
        return torch.zeros(4, dtype=torch.float64, device=diff.device)
    return torch.stack([values.new_tensor(values.numel()), values.sum(), (values**2).sum(), values.max()])


def reduce_probs_diff(stats: Any) -> dict[str, float]:
    """Stats from :func:`probs_diff_stats` (one row per process, or one row) -> verl's metric names."""
    rows = stats.reshape(-1, 4).double()
    count, total, squares = (float(rows[:, i].sum()) for i in range(3))
    if count == 0:
        return {}
    mean = total / count
    var = max(squares - count * mean * mean, 0.0) / (count - 1) if count > 1 else 0.0  # torch.std: unbiased
    return {
        "training/rollout_probs_diff_mean": mean,
        "training/rollout_probs_diff_max": float(rows[:, 3].max()),
        "training/rollout_probs_diff_std": math.sqrt(var),
    }


def mismatch_message(mean: float, threshold: float, step: int) -> str:
    return (
        f"step {step}: training/rollout_probs_diff_mean={mean:.3g} exceeds "
        f"actor_rollout_ref.rollout.probs_diff_warn_threshold={threshold:g}: the rollout engine is not sampling "
        "from the policy being trained (a stale or missing adapter sync, or a precision mismatch). Check the sync, "
        "or raise the threshold if this gap is expected (e.g. bf16 rollouts)."
    )


class RolloutMismatchWarning(UserWarning):
    """The rollout engine's token probabilities drifted from the trainer's (see ``mismatch_message``)."""



#TRAINER
class RolloutMismatchMixin:
    """Mixed over ``trl.GRPOTrainer``: log verl's rollout/trainer probability gap each step with vLLM rollouts."""

    def __init__(self, *args: Any, probs_diff_warn_threshold: float | None = None, probs_diff_every: int = 1,
                 probs_diff_sample: int = 64, **kwargs: Any):
        self.probs_diff_warn_threshold = probs_diff_warn_threshold
        self.probs_diff_every = probs_diff_every
        self.probs_diff_sample = probs_diff_sample
        super().__init__(*args, **kwargs)

    def _generate_and_score_completions(self, inputs: Any) -> Any:
        output = super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        if self.use_vllm and self.model.training and output.get("sampling_per_token_logps") is not None:
            self._record_rollout_mismatch(output)
        return output

    def _mismatch_due(self, free: bool) -> bool:
        """Free (TRL computed the policy's log-probs): every step. Otherwise every ``probs_diff_every`` steps."""
        if free:
            return True
        step = self.state.global_step // getattr(self, "optimizer_steps_per_step", 1) + 1
        return self.probs_diff_every > 0 and (step - 1) % self.probs_diff_every == 0

    def _record_rollout_mismatch(self, output: dict[str, Any]) -> None:
        """Log training/rollout_probs_diff_{mean,max,std} and the sync cost; warn past the threshold."""
        trainer_logps, rows = output.get("old_per_token_logps"), slice(None)
        metrics: dict[str, float] = {}
        if self._mismatch_due(free=trainer_logps is not None):
            if trainer_logps is None:  # TRL skips it when rollouts and updates are aligned and IS correction is off
                rows = slice(None if self.probs_diff_sample < 0 else self.probs_diff_sample)
                trainer_logps = self._trainer_logps(output, rows)
            stats = probs_diff_stats(output["sampling_per_token_logps"][rows], trainer_logps,
                                     output["completion_mask"][rows])
            metrics = reduce_probs_diff(self.accelerator.gather(stats[None].to(self.accelerator.device)).cpu())
        sync = getattr(compat.rollout_backend(self), "sync_stats", None)
        if sync is not None and sync.version:
            metrics["perf/weight_sync_mb"] = sync.bytes / 2**20
        for key, value in metrics.items():
            compat.trainer_metrics(self)[key].append(value)
        self._warn_if_mismatched(metrics.get("training/rollout_probs_diff_mean"))

    def _warn_if_mismatched(self, mean: float | None) -> None:
        threshold = self.probs_diff_warn_threshold
        if mean is None or threshold is None or mean <= threshold or not self.accelerator.is_main_process:
            return
        import warnings

        step = self.state.global_step // getattr(self, "optimizer_steps_per_step", 1) + 1
        warnings.warn(mismatch_message(mean, threshold, step), RolloutMismatchWarning, stacklevel=2)

    def _trainer_logps(self, output: dict[str, Any], rows: slice) -> Any:
        """The policy's log-probs of the sampled tokens of ``rows`` (TRL's own forward, no gradients)."""
        import torch

        ids = torch.cat([output["prompt_ids"][rows], output["completion_ids"][rows]], dim=1)
        mask = torch.cat([output["prompt_mask"][rows], output["completion_mask"][rows]], dim=1)
        return compat.policy_logps(self, ids, mask, output["completion_ids"].size(1),
                                   batch_size=self.args.per_device_train_batch_size)
