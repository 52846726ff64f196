"""DAPO dynamic sampling on TRL's GRPOTrainer: drop groups whose rewards are all equal, generate more prompts.

    deepscaler-grpo train algorithm.filter_groups.enable=true algorithm.filter_groups.metric=acc \\
        algorithm.filter_groups.max_num_gen_batches=10

A group whose metric has zero variance (every response right, or every one wrong) gets zero GRPO advantage and
carries no policy gradient. With ``algorithm.filter_groups.enable`` (verl's names) each training step generates
and scores batches of ``data.train_batch_size`` prompts until ``data.train_batch_size`` groups with non-zero
variance are collected, then trains on exactly those (the first ones, in generation order). The metric is
``acc`` (the accuracy reward, found by name: ``deepscaler_grpo.training.rewards.accuracy_index``) or ``score`` (the weighted reward GRPO trains on).

* The first generation batch is the one TRL's data loader gives the step; the extra ones are drawn from the
  training set by a generator seeded with (``trainer.seed``, step, batch), so a resumed run draws the same ones.
* ``max_num_gen_batches`` (<= 0: no limit, as in verl) caps the batches per step. At the cap the step trains on
  the groups it has, with a warning: the missing groups are filled with filtered ones whose responses are
  masked out of the loss (TRL's batch geometry stays fixed). ``fail_at_limit=true`` stops the run instead.
* Filtering is global: rewards are gathered over all processes (as TRL does for its advantages), every rank
  takes the same decision, and the kept groups are dealt out so each rank trains on equally many responses.
  Generation goes through TRL's own ``_generate_and_score_completions`` (HF or vLLM alike).
* Logged per step: ``train/num_gen_batches`` (verl's name), ``train/zero_variance_groups`` (zero-variance
  groups among all generated ones, before filtering), ``train/masked_groups`` (filler groups at the cap). The
  other reward and length metrics of the step average over every generated batch.
"""

from __future__ import annotations

import random
import sys
from typing import TYPE_CHECKING, Any

import torch

from deepscaler_grpo import compat
from deepscaler_grpo.errors import UserError

if TYPE_CHECKING:
    from deepscaler_grpo.config.schema import FilterGroupsConfig

LEFT_PADDED = ("prompt_ids", "prompt_mask")
PAD_WITH_PAD_TOKEN = ("prompt_ids", "completion_ids")


class DynamicSamplingError(UserError):
    """algorithm.filter_groups.fail_at_limit: a step ran out of generation batches; the message says what to do."""


def select_groups(keep: list[bool], wanted: int) -> tuple[list[int], list[int]]:
    """(groups to train on, of those the ones to mask): the first ``wanted`` kept groups, topped up with
    filtered ones (to be masked) when there are fewer."""
    kept = [i for i, ok in enumerate(keep) if ok][:wanted]
    filler = [i for i, ok in enumerate(keep) if not ok][: wanted - len(kept)]
    return kept + filler, filler


def extra_prompt_indices(num_rows: int, count: int, seed: int, step: int, batch: int) -> list[int]:
    """``count`` distinct row indices for generation batch ``batch`` (>= 1) of training step ``step``."""
    rng = random.Random(f"filter_groups-{seed}-{step}-{batch}")
    return rng.sample(range(num_rows), min(count, num_rows))


class DynamicSamplingMixin:
    """Overrides ``_generate_and_score_completions`` (training only) to generate until enough groups vary.

    ``filter_groups``: the ``algorithm.filter_groups`` settings (None: off, TRL's loop as is);
    ``accuracy_reward_index``: which reward function is the accuracy (``metric=acc``; see ``training.rewards``).
    """

    def __init__(self, *args: Any, filter_groups: FilterGroupsConfig | None = None,
                 accuracy_reward_index: int | None = None, **kwargs: Any):
        if filter_groups is not None and filter_groups.metric == "acc" and accuracy_reward_index is None:
            raise DynamicSamplingError(
                "algorithm.filter_groups.metric=acc needs an accuracy reward (reward.functions with accuracy or a "
                "custom_reward_function); use algorithm.filter_groups.metric=score to filter on the weighted reward"
            )
        self.filter_groups = filter_groups
        self.accuracy_reward_index = accuracy_reward_index
        super().__init__(*args, **kwargs)

    def _calculate_rewards(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        rewards = super()._calculate_rewards(*args, **kwargs)  # (all processes' responses, reward functions)
        self._last_rewards_per_func = rewards
        return rewards

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        if self.filter_groups is None or not self.model.training:
            return super()._generate_and_score_completions(inputs)
        n, wanted = self.num_generations, self.args.generation_batch_size // self.num_generations
        step = self.state.global_step // getattr(self, "optimizer_steps_per_step", 1) + 1
        batches, keep = [], []
        limit = self.filter_groups.max_num_gen_batches
        while True:
            local = super()._generate_and_score_completions(inputs)
            batches.append(self._gather_rows(local))
            keep += self._varying_groups(n)
            if sum(keep) >= wanted or (limit > 0 and len(batches) >= limit):
                break
            inputs = self._extra_inputs(step, len(batches), len(inputs))
        chosen, masked = select_groups(keep, wanted)
        self._log_filtering(len(batches), keep, masked, wanted, step)
        return self._local_slice(_cat_rows(batches, self._pad_values()), chosen, masked, n)

    # ---------------------------------------------------------------------------------------------- helpers

    def _varying_groups(self, n: int) -> list[bool]:
        """Per group of the last generation batch (all processes): does its metric vary?"""
        rewards = self._last_rewards_per_func
        if self.filter_groups.metric == "acc":
            values = rewards[:, self.accuracy_reward_index]
        else:
            values = (rewards * self.reward_weights.to(rewards.device).unsqueeze(0)).nansum(dim=1)
        grouped = values.view(-1, n)
        spread = grouped.nan_to_num(0.0).amax(dim=1) - grouped.nan_to_num(0.0).amin(dim=1)
        return (spread > 1e-6).tolist()

    def _extra_inputs(self, step: int, batch: int, local_rows: int) -> list[dict[str, Any]]:
        """This rank's rows of one more generation batch, laid out like TRL's RepeatSampler (each prompt n times)."""
        n, rank = self.num_generations, self.accelerator.process_index
        prompts = extra_prompt_indices(len(self.train_dataset), self.args.generation_batch_size // n,
                                       self.args.seed, step, batch)
        rows = [i for i in prompts for _ in range(n)]  # world * local_rows of them (train_batch_size x n)
        return [dict(self.train_dataset[i]) for i in rows[rank * local_rows : (rank + 1) * local_rows]]

    def _pad_values(self) -> dict[str, float]:
        """Padding per field, as TRL pads them (token ids: the pad token; tool_mask: 1; everything else: 0)."""
        return {key: compat.trainer_tokenizer(self).pad_token_id for key in PAD_WITH_PAD_TOKEN} | {"tool_mask": 1}

    def _gather_rows(self, local: dict[str, Any]) -> dict[str, Any]:
        """Every process's rows of one generation batch, in process order (padded to a common width)."""
        rows = {}
        for key, value in local.items():
            if key == "num_items_in_batch":
                continue
            if not isinstance(value, torch.Tensor) or value.ndim == 0:
                raise NotImplementedError(
                    f"algorithm.filter_groups supports text prompts only (got the batch field {key!r}); "
                    "set algorithm.filter_groups.enable=false"
                )
            if self.accelerator.num_processes > 1:
                if value.ndim > 1:
                    value = self.accelerator.pad_across_processes(
                        value, dim=1, pad_index=self._pad_values().get(key, 0), pad_first=key in LEFT_PADDED
                    )
                value = self.accelerator.gather(value)
            rows[key] = value
        return rows

    def _local_slice(self, rows: dict[str, Any], chosen: list[int], masked: list[int], n: int) -> dict[str, Any]:
        """This rank's share of the chosen groups' rows; masked groups get no loss; num_items_in_batch recounted."""
        device = self.accelerator.device
        index = torch.tensor([g * n + j for g in chosen for j in range(n)], device=device)
        out = {key: value.index_select(0, index.to(value.device)) for key, value in rows.items()}
        if masked:
            filler = torch.tensor([g in set(masked) for g in chosen for _ in range(n)], device=device)
            out["completion_mask"] = out["completion_mask"] * (~filler).unsqueeze(1).to(out["completion_mask"].dtype)
        loss_mask = out["completion_mask"] * out["tool_mask"] if "tool_mask" in out else out["completion_mask"]
        num_items = loss_mask.sum()
        per_rank = len(index) // self.accelerator.num_processes
        rank = self.accelerator.process_index
        local = {key: value[rank * per_rank : (rank + 1) * per_rank] for key, value in out.items()}
        local["num_items_in_batch"] = num_items
        return local

    def _log_filtering(self, num_batches: int, keep: list[bool], masked: list[int], wanted: int, step: int) -> None:
        metrics = compat.trainer_metrics(self)
        metrics["train/num_gen_batches"].append(float(num_batches))
        metrics["train/zero_variance_groups"].append(float(len(keep) - sum(keep)))
        metrics["train/masked_groups"].append(float(len(masked)))
        if not masked:
            return
        message = (
            f"dynamic sampling: step {step} has only {wanted - len(masked)} of {wanted} groups with varying rewards "
            f"after algorithm.filter_groups.max_num_gen_batches={num_batches} generation batches"
        )
        if self.filter_groups.fail_at_limit:
            raise DynamicSamplingError(
                f"{message}; raise max_num_gen_batches (<= 0: no limit), use easier/harder data, or set "
                "algorithm.filter_groups.fail_at_limit=false to train on the groups there are"
            )
        if self.accelerator.is_main_process:
            print(f"warning: {message}; training on those ({len(masked)} filler groups are masked out of the loss). "
                  "Raise max_num_gen_batches to fill the batch.", file=sys.stderr, flush=True)


def _cat_rows(batches: list[dict[str, torch.Tensor]], pad_values: dict[str, float]) -> dict[str, torch.Tensor]:
    """Concatenate generation batches row-wise, padding the sequence dimension (left for prompts)."""
    if len(batches) == 1:
        return batches[0]
    out = {}
    for key in batches[0]:
        parts = [b[key] for b in batches]
        if parts[0].ndim > 1:
            width = max(p.shape[1] for p in parts)
            parts = [_pad_to(p, width, pad_values.get(key, 0), left=key in LEFT_PADDED) for p in parts]
        out[key] = torch.cat(parts, dim=0)
    return out


def _pad_to(tensor: torch.Tensor, width: int, value: float, left: bool) -> torch.Tensor:
    missing = width - tensor.shape[1]
    if missing <= 0:
        return tensor
    pad = torch.full((tensor.shape[0], missing, *tensor.shape[2:]), value, dtype=tensor.dtype, device=tensor.device)
    return torch.cat([pad, tensor] if left else [tensor, pad], dim=1)
