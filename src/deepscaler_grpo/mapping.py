"""verl settings -> TRL: the one place where the recipe's verl keys become ``trl.GRPOConfig`` and PEFT settings.

    from deepscaler_grpo.mapping import grpo_kwargs, optimizer_steps_per_step
    kwargs = grpo_kwargs(load_config([]), world_size=8)   # what TRL is given for the recipe on 8 GPUs

Pure functions of the config (TRL and PEFT are imported only to build their config objects); tested numerically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.config import LOSS_AGG_MODES, Config, ConfigError

if TYPE_CHECKING:
    from trl import GRPOConfig

def optimizer_steps_per_step(cfg: Config) -> int:
    """Optimizer steps in one verl training step: ppo_epochs passes over train_batch_size/ppo_mini_batch_size."""
    actor = cfg.actor_rollout_ref.actor
    return actor.ppo_epochs * (cfg.data.train_batch_size // actor.ppo_mini_batch_size)


def grpo_kwargs(
    cfg: Config, world_size: int, *, total_steps: int | None = None, cuda: bool = False, use_vllm: bool = False
) -> dict[str, Any]:
    """verl settings -> ``trl.GRPOConfig`` keyword arguments (TRL 1.16). The one place the mapping lives.

    Batch semantics (TRL counts per-device *completions*; a TRL "step" is one optimizer step):

    * ``per_device_train_batch_size`` = ``ppo_micro_batch_size_per_gpu`` (responses per forward/backward).
    * ``gradient_accumulation_steps`` = ``ppo_mini_batch_size * n / (micro * world_size)``: one optimizer step
      sees a verl mini-batch of ``ppo_mini_batch_size`` prompts x ``n`` responses.
    * ``steps_per_generation`` = ``train_batch_size * n / (micro * world_size)`` micro-steps share one rollout,
      so each generation is exactly one verl batch (``generation_batch_size`` = ``train_batch_size * n``).
    * ``num_iterations`` = ``ppo_epochs``; ``max_steps`` = ``total_steps * ppo_epochs * train_batch_size /
      ppo_mini_batch_size``; logging and saving happen on those boundaries.
      Recipe: 64 x 5 = 320 responses per step -> 2 optimizer steps of 160 = micro 2 x accumulation 80/world.
    * Because a rollout feeds several optimizer steps, TRL keeps the rollout-time log-probs and the later
      mini-batches use the clipped importance ratio, as verl does.

    Loss: ``beta`` = ``kl_loss_coef`` when ``use_kl_loss`` (else 0); TRL's KL is the k3 estimator
    exp(ref-logp) - (ref-logp) - 1 = verl's ``low_var_kl``, with ``use_bias_correction_kl=False`` as in verl;
    ``loss_agg_mode`` token-mean -> ``dapo`` (token mean over the whole mini-batch), seq-mean-token-mean ->
    ``grpo``, seq-mean-token-sum-norm -> ``dr_grpo``; ``clip_ratio[_high]`` -> ``epsilon[_high]``;
    ``norm_adv_by_std_in_grpo`` -> ``scale_rewards`` group/none; ``entropy_coeff`` -> ``entropy_coef``.

    Known deviations from verl: verl clamps low_var_kl to [-10, 10] (TRL does not clamp; the k3 value only
    exceeds 10 when |log-ratio| > ~2.5, far outside LoRA fine-tuning with beta=0.001); the advantage
    denominator is std + 1e-4 (verl: 1e-6); TRL shuffles the rollout batch before splitting it into
    mini-batches (verl splits in order).
    """
    actor, rollout, data = cfg.actor_rollout_ref.actor, cfg.actor_rollout_ref.rollout, cfg.data
    micro, n = actor.ppo_micro_batch_size_per_gpu, rollout.n
    per_step = optimizer_steps_per_step(cfg)
    steps = total_steps if total_steps is not None else cfg.trainer.total_training_steps
    if steps is None:
        raise ConfigError("trainer.total_training_steps is null: pass total_steps computed from the dataset")
    max_steps = steps * per_step
    warmup = actor.optim.lr_warmup_steps
    if warmup < 0:
        warmup = int(actor.optim.lr_warmup_steps_ratio * max_steps)
    save_every = cfg.trainer.save_freq if cfg.trainer.save_freq > 0 else steps
    reporters = [name for name in cfg.trainer.logger if name != "console"]
    _, weights = reward_functions(cfg)
    return {
        "output_dir": str(Path(cfg.trainer.default_local_dir).resolve()),
        "run_name": cfg.trainer.experiment_name,
        "seed": cfg.trainer.seed,
        "data_seed": cfg.trainer.seed,
        # batch geometry (see docstring)
        "per_device_train_batch_size": micro,
        "gradient_accumulation_steps": actor.ppo_mini_batch_size * n // (micro * world_size),
        "steps_per_generation": data.train_batch_size * n // (micro * world_size),
        "num_generations": n,
        "num_iterations": actor.ppo_epochs,
        "max_steps": max_steps,
        "shuffle_dataset": data.shuffle,
        # generation
        "max_completion_length": data.max_response_length,
        "temperature": rollout.temperature,
        "top_p": rollout.top_p,
        "top_k": max(rollout.top_k, 0),
        "use_vllm": use_vllm,
        "vllm_mode": "colocate",
        "vllm_gpu_memory_utilization": rollout.gpu_memory_utilization,
        "vllm_max_model_length": data.max_prompt_length + data.max_response_length,
        # loss
        "beta": actor.kl_loss_coef if actor.use_kl_loss else 0.0,
        "use_bias_correction_kl": False,
        "loss_type": LOSS_AGG_MODES[actor.loss_agg_mode],
        "epsilon": actor.clip_ratio,
        "epsilon_high": actor.clip_ratio_high if actor.clip_ratio_high is not None else actor.clip_ratio,
        "scale_rewards": "group" if cfg.algorithm.norm_adv_by_std_in_grpo else "none",
        "entropy_coef": actor.entropy_coeff,
        # reward: accuracy (1.0) + format (reward.format_weight), in reward_functions' order
        "reward_weights": weights,
        # optimizer
        "learning_rate": actor.optim.lr,
        "lr_scheduler_type": actor.optim.lr_scheduler_type,
        "warmup_steps": warmup,
        "weight_decay": actor.optim.weight_decay,
        "adam_beta1": actor.optim.betas[0],
        "adam_beta2": actor.optim.betas[1],
        "max_grad_norm": actor.grad_clip,
        # precision and memory: bf16 on GPU, fp32 on CPU
        "bf16": cuda,
        "use_cpu": not cuda,
        "fp16": False,
        "model_init_kwargs": {
            "dtype": "bfloat16" if cuda else "float32",
            "trust_remote_code": cfg.actor_rollout_ref.model.trust_remote_code,
        },
        "activation_checkpointing": cfg.actor_rollout_ref.model.enable_gradient_checkpointing,
        "activation_checkpointing_kwargs": {"use_reentrant": False},
        "ddp_find_unused_parameters": False,
        # one log and (every save_freq) one checkpoint per verl step; progress is printed by our callback
        "logging_strategy": "steps",
        "logging_steps": per_step,
        "save_strategy": "steps",
        "save_steps": save_every * per_step,
        "save_total_limit": None,
        "report_to": reporters or "none",
        "disable_tqdm": True,
        "log_completions": False,
        "dataloader_num_workers": 0,
    }


def to_grpo_config(cfg: Config, world_size: int, **kwargs: Any) -> GRPOConfig:
    """:func:`grpo_kwargs` as a ``trl.GRPOConfig``."""
    from trl import GRPOConfig

    return GRPOConfig(**grpo_kwargs(cfg, world_size, **kwargs))


def reward_functions(cfg: Config) -> tuple[list[Any], list[float]]:
    """(reward_funcs, reward_weights) for GRPOTrainer from the ``reward`` section: the verifier's accuracy and
    the format reward, weighted 1.0 and ``reward.format_weight``."""
    from deepscaler_grpo.reward import make_reward_funcs

    reward = cfg.reward
    kwargs = {"timeout_s": reward.timeout_s} if reward.timeout_s is not None else {}
    funcs, weights = make_reward_funcs(reward.format_weight, reward.boxed_fallback, **kwargs)
    return funcs, list(weights)


def lora_config(cfg: Config) -> Any:
    """PEFT LoRA on all linear layers (lm_head excluded), from ``actor_rollout_ref.model``."""
    from peft import LoraConfig

    model = cfg.actor_rollout_ref.model
    targets = model.target_modules if isinstance(model.target_modules, str) else list(model.target_modules)
    return LoraConfig(
        r=model.lora_rank,
        lora_alpha=model.lora_alpha,
        lora_dropout=model.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
