"""The trainer: TRL's ``GRPOTrainer`` with our extensions mixed in statically, built in one place.

    trainer = build_trainer(run, stage_cfg, rewards, row_fields={"stage/index": 0})
    trainer.train(resume_from_checkpoint=...)

:class:`DeepscalerGRPOTrainer` keeps TRL's GRPO loop and adds, one mixin each:

* :class:`~deepscaler_grpo.training.dynamic_sampling.DynamicSamplingMixin`: DAPO dynamic sampling (off unless
  ``filter_groups`` is given);
* :class:`~deepscaler_grpo.training.mismatch.RolloutMismatchMixin`: the rollout/trainer probability gap;
* :class:`~deepscaler_grpo.training.metrics.StepMetricsMixin`: per-phase timing and one verl-named row per step;
* :class:`~deepscaler_grpo.training.vllm_sync.AdapterSyncMixin`: adapter-only vLLM sync, checked once built;

and changes where checkpoints go: HF's ``checkpoint-{optimizer_step}`` folder is written first (an incomplete temp
name that resume ignores), then renamed in one ``os.rename`` to ``global_step_{N}`` (N = verl training steps),
and ``latest_checkpointed_iteration.txt`` is replaced atomically last. The PEFT adapter lives in ``adapter/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trl import GRPOTrainer

from deepscaler_grpo.training.checkpoints import ADAPTER_DIR, publish_checkpoint
from deepscaler_grpo.training.dynamic_sampling import DynamicSamplingMixin
from deepscaler_grpo.training.metrics import StepMetricsMixin
from deepscaler_grpo.training.mismatch import RolloutMismatchMixin
from deepscaler_grpo.training.vllm_sync import AdapterSyncMixin

if TYPE_CHECKING:
    from deepscaler_grpo.config import Config
    from deepscaler_grpo.training.rewards import Reward


class DeepscalerGRPOTrainer(DynamicSamplingMixin, RolloutMismatchMixin, StepMetricsMixin, AdapterSyncMixin, GRPOTrainer):
    """GRPOTrainer with verl-layout checkpoints and the mixins above (see the module docstring)."""

    def __init__(self, *args: Any, max_ckpt_to_keep: int | None = None, **kwargs: Any):
        self.max_ckpt_to_keep = max_ckpt_to_keep
        super().__init__(*args, **kwargs)

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        # The adapter (and tokenizer) go into adapter/ so the folder loads with PeftModel.from_pretrained.
        super()._save(os.path.join(output_dir or self.args.output_dir, ADAPTER_DIR), state_dict)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        with self.phase_timer.phase("save_checkpoint"):
            super()._save_checkpoint(model, trial)  # writes run_dir/checkpoint-{optimizer_step}
            self.accelerator.wait_for_everyone()  # every rank has written its files (e.g. rng_state_{rank}.pth)
            if self.args.should_save:
                src = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
                step = -(-self.state.global_step // self.optimizer_steps_per_step)
                publish_checkpoint(src, self.args.output_dir, step, self.max_ckpt_to_keep)
            self.accelerator.wait_for_everyone()

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        super()._load_from_checkpoint(os.path.join(resume_from_checkpoint, ADAPTER_DIR), model)


def build_trainer(
    cfg: Config,
    *,
    world_size: int,
    total_steps: int,
    cuda: bool,
    use_vllm: bool,
    train_dataset: Any,
    tokenizer: Any,
    rewards: Sequence[Reward],
    row_fields: Mapping[str, Any] | None = None,
    engine_response_length: int | None = None,
    rollout_engine: Any = None,
) -> DeepscalerGRPOTrainer:
    """The one place a trainer is constructed: ``cfg`` is one stage's config (``config.stages.stage_config``).

    vLLM rollouts: the engine is sized for ``engine_response_length`` (the run's longest stage) and
    ``rollout_engine`` (``vllm_sync.RolloutEngine``, kept from the previous stage's trainer) is reused, not restarted.
    """
    from deepscaler_grpo.models import loadable_path
    from deepscaler_grpo.training.mapping import lora_config, optimizer_steps_per_step, to_grpo_config
    from deepscaler_grpo.training.rewards import accuracy_index

    rollout = cfg.actor_rollout_ref.rollout
    filter_groups = cfg.algorithm.filter_groups
    return DeepscalerGRPOTrainer(
        model=loadable_path(cfg.actor_rollout_ref.model.path),  # a GGUF file: its dequantized folder
        reward_funcs=[reward.func for reward in rewards],
        args=to_grpo_config(cfg, world_size, rewards, total_steps=total_steps, cuda=cuda, use_vllm=use_vllm,
                            engine_response_length=engine_response_length),
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        optimizer_steps_per_step=optimizer_steps_per_step(cfg),
        row_fields=row_fields,
        max_ckpt_to_keep=cfg.trainer.max_actor_ckpt_to_keep,
        probs_diff_warn_threshold=rollout.probs_diff_warn_threshold,
        probs_diff_every=rollout.probs_diff_every,
        probs_diff_sample=rollout.probs_diff_sample,
        filter_groups=filter_groups if filter_groups.enable else None,
        accuracy_reward_index=accuracy_index(rewards),
        rollout_engine=rollout_engine,
    )
