"""verl settings -> TRL: the one place where the recipe's verl keys become ``trl.GRPOConfig`` and PEFT settings,
and where a config is checked against what TRL can do (:func:`check_trl_support`).

    from deepscaler_grpo.training.mapping import grpo_kwargs, optimizer_steps_per_step
    kwargs = grpo_kwargs(load_config([]), world_size=8)   # what TRL is given for the recipe on 8 GPUs

Pure functions of the config (TRL and PEFT are imported only to build their config objects); tested numerically.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo import compat
from deepscaler_grpo.config import Config, ConfigError

if TYPE_CHECKING:
    from trl import GRPOConfig

    from deepscaler_grpo.training.rewards import Reward

ADAM_EPSILON = 1e-8  # torch.optim.AdamW's default, which verl's FSDP actor uses
# verl's loss_agg_mode -> TRL loss_type on verl's new engine (the legacy actor's token-mean is bnpo, see loss_type)
LOSS_TYPES = {"token-mean": "dapo", "seq-mean-token-mean": "grpo", "seq-mean-token-sum-norm": "dr_grpo"}
TRL_KL_ESTIMATORS = ("low_var_kl", "k3")  # TRL computes the k3 estimator only


def check_trl_support(cfg: Config) -> None:
    """What TRL's GRPOTrainer can reproduce of a (value-checked) config; fails with the fix, before anything loads."""
    actor = cfg.actor_rollout_ref.actor
    prefix = "actor_rollout_ref.actor"
    if actor.kl_loss_type not in TRL_KL_ESTIMATORS:
        raise ConfigError(f"{prefix}.kl_loss_type={actor.kl_loss_type!r} is not supported (TRL implements the k3 "
                          f"(low_var_kl) estimator only); choose from {list(TRL_KL_ESTIMATORS)}")
    if actor.clip_ratio_c < 1 + actor.clip_high:
        raise ConfigError(
            f"{prefix}.clip_ratio_c={actor.clip_ratio_c} must be >= 1 + clip_ratio_high = {1 + actor.clip_high}: "
            "TRL's delta, which implements verl's dual-clip, also caps positive-advantage ratios, so it equals "
            f"verl only above the upper clip bound; use verl's default {prefix}.clip_ratio_c=3.0"
        )
    legacy_token_mean = actor.loss_agg_mode == "token-mean" and legacy_actor(cfg)
    if actor.entropy_coeff != 0 and not legacy_token_mean:
        raise ConfigError(
            f"{prefix}.entropy_coeff={actor.entropy_coeff} needs loss_agg_mode=token-mean and "
            "trainer.use_legacy_worker_impl=auto (the defaults): TRL averages the entropy over the tokens of each "
            "micro-batch, which is verl's aggregation only there; use those or set entropy_coeff=0 (verl's default)"
        )
    if cfg.algorithm.rollout_correction.rollout_is is not None and cfg.actor_rollout_ref.rollout.name == "hf":
        raise ConfigError(
            "algorithm.rollout_correction.rollout_is corrects vLLM rollouts for their mismatch with the trainer; "
            "rollout.name=hf samples from the trainer's own model: set rollout_is=null or rollout.name=vllm"
        )


def legacy_actor(cfg: Config) -> bool:
    """verl's ``trainer.use_legacy_worker_impl``: auto (the default) and enable run the legacy dp_actor."""
    return cfg.trainer.use_legacy_worker_impl != "disable"


def loss_type(cfg: Config) -> str:
    """TRL ``loss_type`` for ``loss_agg_mode``; token-mean depends on which verl actor is reproduced."""
    mode = cfg.actor_rollout_ref.actor.loss_agg_mode
    if mode == "token-mean" and legacy_actor(cfg):
        return "bnpo"  # token mean over each micro-batch, x 1/accumulation: verl's dp_actor
    return LOSS_TYPES[mode]


def optimizer_scale(cfg: Config) -> int:
    """TRL's gradient is verl's divided by this constant: ``dr_grpo`` divides each micro-batch by
    ``micro x max_response_length`` where verl's legacy actor divides by ``max_response_length`` only."""
    actor = cfg.actor_rollout_ref.actor
    legacy_sum_norm = actor.loss_agg_mode == "seq-mean-token-sum-norm" and legacy_actor(cfg)
    return actor.ppo_micro_batch_size_per_gpu if legacy_sum_norm else 1


def optimizer_steps_per_step(cfg: Config) -> int:
    """Optimizer steps in one verl training step: ppo_epochs passes over train_batch_size/ppo_mini_batch_size."""
    actor = cfg.actor_rollout_ref.actor
    return actor.ppo_epochs * (cfg.data.train_batch_size // actor.ppo_mini_batch_size)


def grpo_kwargs(
    cfg: Config,
    world_size: int,
    rewards: Sequence[Reward] | None = None,
    *,
    total_steps: int | None = None,
    cuda: bool = False,
    use_vllm: bool = False,
    engine_response_length: int | None = None,
) -> dict[str, Any]:
    """verl settings -> ``trl.GRPOConfig`` keyword arguments (TRL 1.16). The one place the mapping lives.

    ``engine_response_length``: the longest response the run's vLLM engine must hold (a length schedule's stages
    share one engine, sized for the longest; default: this config's ``data.max_response_length``).

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

    Loss (verl's formulas, measured against our own verl reference in ``tests/parity``): ``beta`` =
    ``kl_loss_coef`` when ``use_kl_loss`` (else 0); TRL's KL is the k3 estimator exp(ref-logp) - (ref-logp) - 1 =
    verl's ``low_var_kl``/``k3``, with ``use_bias_correction_kl=False`` as in verl. ``epsilon`` /
    ``epsilon_high`` = ``clip_ratio_low`` / ``clip_ratio_high`` (each falls back to ``clip_ratio`` where null, as
    in verl); ``delta`` = ``clip_ratio_c`` (verl's dual-clip: with ``clip_ratio_c >= 1 + clip_ratio_high``, TRL's
    two-sided clip is the same function). ``norm_adv_by_std_in_grpo`` -> ``scale_rewards`` group/none;
    ``entropy_coeff`` -> ``entropy_coef`` (config allows it only where TRL aggregates entropy as verl does).

    ``loss_agg_mode`` reproduces verl's default actor (``trainer.use_legacy_worker_impl=auto``, the legacy dp_actor:
    each micro-batch aggregated on its own, times 1/accumulation, ranks averaged): token-mean -> ``bnpo`` (token mean
    of each micro-batch; entropy bonus included), seq-mean-token-mean -> ``grpo``, seq-mean-token-sum-norm ->
    ``dr_grpo``, whose gradient is then verl's / micro, so ``max_grad_norm`` and ``adam_epsilon`` are divided by
    micro too: AdamW + clipping take the same steps (only the logged ``grad_norm`` is verl's / micro).
    ``use_legacy_worker_impl=disable`` reproduces verl's new engine (normalised over the whole mini-batch, so
    independent of micro-batch size and world size): token-mean -> ``dapo`` (global token mean),
    seq-mean-token-sum-norm -> ``dr_grpo`` unscaled (exact).

    vLLM rollouts: no importance-sampling correction unless ``algorithm.rollout_correction.rollout_is`` is
    token/sequence (-> ``vllm_importance_sampling_mode`` token/sequence_truncate, cap ``rollout_is_threshold``).

    Measured against verl (``python -m tests.parity.measure``: the recipe's geometry, relative L2 error of each
    optimizer step's gradient; ``tests/parity`` pins these on a tiny batch, 1 and 2 processes)::

        token-mean, legacy actor (default) -> bnpo     2e-4 (TRL's advantage epsilon 1e-4 vs verl's 1e-6 only)
        token-mean, new engine             -> dapo     0.006-0.04 (by the rollout's mean tokens per mini-batch)
        seq-mean-token-mean                -> grpo     2e-4
        seq-mean-token-sum-norm, legacy    -> dr_grpo  gradient = verl's / micro; same AdamW + clipping steps
        seq-mean-token-sum-norm, new       -> dr_grpo  2e-4
        dual-clip (1% tokens at ratio 4.5) -> delta    2e-4 (0.47 without delta)
        vLLM, mismatch 0.005-0.02/token    -> no IS    2e-4 (TRL's default sequence mask at 3: 0.15-0.58)
        rollout_is token/sequence          -> *_truncate  2e-4

    Known deviations: verl clamps low_var_kl to [-10, 10] (TRL does not; the k3 value only exceeds 10 when
    |log-ratio| > ~2.5, far outside LoRA fine-tuning with beta=0.001); the advantage epsilon above; TRL shuffles
    the rollout batch before splitting it into mini- and micro-batches where verl reorders it to balance sequence
    lengths (legacy token-mean weights a token by the micro-batch it lands in: same rule, different groupings).
    """
    actor, rollout, data = cfg.actor_rollout_ref.actor, cfg.actor_rollout_ref.rollout, cfg.data
    correction = cfg.algorithm.rollout_correction
    scale = optimizer_scale(cfg)
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
    if rewards is None:
        from deepscaler_grpo.training.rewards import build_rewards

        rewards = build_rewards(cfg)
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
        "vllm_enable_sleep_mode": use_vllm and cuda and rollout.free_cache_engine,  # no sleep mode on CPU
        "vllm_max_model_length": data.max_prompt_length + (engine_response_length or data.max_response_length),
        # loss
        "beta": actor.kl_loss_coef if actor.use_kl_loss else 0.0,
        "use_bias_correction_kl": False,
        "loss_type": loss_type(cfg),
        "epsilon": actor.clip_low,
        "epsilon_high": actor.clip_high,
        "delta": actor.clip_ratio_c,
        "scale_rewards": "group" if cfg.algorithm.norm_adv_by_std_in_grpo else "none",
        "entropy_coef": actor.entropy_coeff,
        "mask_truncated_completions": cfg.reward_model.overlong_buffer.mask_truncated_completions,
        # reward: one weight per reward function, in training.rewards.build_rewards' order
        "reward_weights": [reward.weight for reward in rewards],
        # vLLM rollouts: verl's rollout correction, off unless asked for
        "vllm_importance_sampling_correction": correction.rollout_is is not None,
        "vllm_importance_sampling_mode": f"{correction.rollout_is or 'token'}_truncate",
        "vllm_importance_sampling_clip_max": correction.rollout_is_threshold,
        "vllm_importance_sampling_clip_min": None,
        # optimizer
        "learning_rate": actor.optim.lr,
        "lr_scheduler_type": actor.optim.lr_scheduler_type,
        "warmup_steps": warmup,
        "weight_decay": actor.optim.weight_decay,
        "adam_beta1": actor.optim.betas[0],
        "adam_beta2": actor.optim.betas[1],
        "adam_epsilon": ADAM_EPSILON / scale,
        "max_grad_norm": actor.grad_clip / scale,
        # precision and memory: bf16 on GPU, fp32 on CPU
        "bf16": cuda,
        "use_cpu": not cuda,
        "fp16": False,
        "model_init_kwargs": {
            "dtype": "bfloat16" if cuda else "float32",
            "trust_remote_code": cfg.actor_rollout_ref.model.trust_remote_code,
        },
        **checkpointing_kwargs(cfg.actor_rollout_ref.model.enable_gradient_checkpointing),
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


def checkpointing_kwargs(enabled: bool, argument_names: Collection[str] | None = None) -> dict[str, Any]:
    """Gradient checkpointing under the name this transformers has: newer releases call it
    ``activation_checkpointing`` (``gradient_checkpointing`` is a deprecated alias there); the releases vLLM 0.31
    allows (transformers < 5.18) only know ``gradient_checkpointing``."""
    names = compat.training_argument_names() if argument_names is None else argument_names
    prefix = "activation" if "activation_checkpointing" in names else "gradient"
    return {f"{prefix}_checkpointing": enabled, f"{prefix}_checkpointing_kwargs": {"use_reentrant": False}}


def to_grpo_config(cfg: Config, world_size: int, rewards: Sequence[Reward] | None = None, **kwargs: Any) -> GRPOConfig:
    """:func:`grpo_kwargs` as a ``trl.GRPOConfig``."""
    from trl import GRPOConfig

    return GRPOConfig(**grpo_kwargs(cfg, world_size, rewards, **kwargs))


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
