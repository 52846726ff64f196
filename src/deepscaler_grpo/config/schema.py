"""The configuration schema: typed, frozen dataclasses in verl's key layout with their defaults (the seed recipe)
and the checks that run in ``__post_init__`` (one section) and across sections (:class:`Config`), each failing
with a message that names the fix. Loading and merging is :mod:`deepscaler_grpo.config.loading`.

    from deepscaler_grpo.config import Config
    Config().actor_rollout_ref.rollout.n   # 5
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deepscaler_grpo.config.checks import check_batch_sizes, check_overlong_buffer, check_rewards, choice, positive
from deepscaler_grpo.config.errors import ConfigError
from deepscaler_grpo.config.stages import check_schedule

LOGGERS = ("console", "tensorboard", "wandb")
ROLLOUT_NAMES = ("vllm", "hf")
RESUME_MODES = ("auto", "disable", "resume_path")
LR_SCHEDULERS = ("constant", "cosine", "linear")
# verl's loss_agg_mode values (training.mapping says which TRL loss_type reproduces each)
LOSS_AGG_MODES = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm")
KL_LOSS_TYPES = ("low_var_kl", "k3")
FILTER_METRICS = ("acc", "score")
# verl's trainer.use_legacy_worker_impl: auto/enable = the legacy FSDP actor (dp_actor), disable = the new engine
WORKER_IMPLS = ("auto", "enable", "disable")
ROLLOUT_IS_LEVELS = ("token", "sequence")


@dataclass(frozen=True)
class DataConfig:
    """``data.*``: parquet files with a ``prompt`` column (chat messages) and an ``answer`` column."""

    train_files: str = "data/deepscaler/train.parquet"
    val_files: str | None = "data/deepscaler/val.parquet"  # null: no validation
    prompt_key: str = "prompt"
    train_batch_size: int = 64  # prompts per training step
    max_prompt_length: int = 1024  # tokens after the chat template
    max_response_length: int = 2048
    filter_overlong_prompts: bool = True  # False: fail when a prompt is longer than max_prompt_length
    shuffle: bool = True
    train_max_samples: int = -1  # -1: all rows
    val_max_samples: int = -1
    val_batch_size: int = 16  # generation batch size for validation

    def __post_init__(self) -> None:
        positive(self, "data", ("train_batch_size", "max_prompt_length", "max_response_length", "val_batch_size"))
        for name in ("train_max_samples", "val_max_samples"):
            if getattr(self, name) == 0 or getattr(self, name) < -1:
                raise ConfigError(f"data.{name} must be -1 (all rows) or a positive row count")


@dataclass(frozen=True)
class ModelConfig:
    """``actor_rollout_ref.model.*``: the base model and its LoRA adapter."""

    path: str = "Qwen/Qwen3-4B-Instruct-2507"
    lora_rank: int = 64
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    target_modules: Any = "all-linear"  # "all-linear" or a list of module names
    enable_gradient_checkpointing: bool = True
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if self.lora_rank < 1:
            raise ConfigError(
                "actor_rollout_ref.model.lora_rank must be >= 1: deepscaler-grpo trains LoRA adapters only "
                "(verl's lora_rank=0 full fine-tuning is not supported)"
            )
        positive(self, "actor_rollout_ref.model", ("lora_alpha",))
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError("actor_rollout_ref.model.lora_dropout must be in [0, 1)")
        ok_list = isinstance(self.target_modules, (list, tuple)) and all(isinstance(m, str) for m in self.target_modules)
        if isinstance(self.target_modules, str) and self.target_modules != "all-linear":
            raise ConfigError(
                f"actor_rollout_ref.model.target_modules={self.target_modules} is one string (PEFT would read it as a "
                "regular expression for whole module names, matching nothing); pass a list, e.g. "
                f"actor_rollout_ref.model.target_modules=[{self.target_modules}], or all-linear"
            )
        if not (isinstance(self.target_modules, str) or ok_list) or (ok_list and not self.target_modules):
            raise ConfigError(
                "actor_rollout_ref.model.target_modules must be 'all-linear' or a list of module names, "
                "e.g. actor_rollout_ref.model.target_modules=[q_proj,v_proj]"
            )


@dataclass(frozen=True)
class OptimConfig:
    """``actor_rollout_ref.actor.optim.*``: AdamW."""

    lr: float = 2e-5
    lr_warmup_steps: int = -1  # optimizer steps; -1: use lr_warmup_steps_ratio
    lr_warmup_steps_ratio: float = 0.0
    lr_scheduler_type: str = "constant"
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])

    def __post_init__(self) -> None:
        positive(self, "actor_rollout_ref.actor.optim", ("lr",))
        if not 0.0 <= self.lr_warmup_steps_ratio <= 1.0:
            raise ConfigError("actor_rollout_ref.actor.optim.lr_warmup_steps_ratio must be in [0, 1]")
        choice("actor_rollout_ref.actor.optim.lr_scheduler_type", self.lr_scheduler_type, LR_SCHEDULERS)
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError("actor_rollout_ref.actor.optim.betas must be two numbers in [0, 1), e.g. [0.9,0.999]")


@dataclass(frozen=True)
class ActorConfig:
    """``actor_rollout_ref.actor.*``: the policy update (batch sizes are verl's: prompts for mini, responses for micro)."""

    ppo_mini_batch_size: int = 32  # prompts per optimizer step (x rollout.n responses)
    ppo_micro_batch_size_per_gpu: int = 2  # responses per forward/backward per GPU
    ppo_epochs: int = 1
    clip_ratio: float = 0.2  # read only where clip_ratio_low / clip_ratio_high are null (verl's precedence)
    clip_ratio_low: float | None = 0.2  # PPO lower bound 1 - clip_ratio_low (verl's default sets it explicitly)
    clip_ratio_high: float | None = 0.2  # PPO upper bound 1 + clip_ratio_high (DAPO clip-higher: 0.28)
    clip_ratio_c: float = 3.0  # dual-clip: the loss of a negative-advantage token stops growing at ratio c
    grad_clip: float = 1.0
    use_kl_loss: bool = True
    kl_loss_coef: float = 0.001
    kl_loss_type: str = "low_var_kl"
    entropy_coeff: float = 0.0
    loss_agg_mode: str = "token-mean"
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        prefix = "actor_rollout_ref.actor"
        positive(self, prefix, ("ppo_mini_batch_size", "ppo_micro_batch_size_per_gpu", "ppo_epochs", "clip_ratio"))
        if self.kl_loss_coef < 0 or self.grad_clip <= 0:
            raise ConfigError(f"{prefix}.kl_loss_coef must be >= 0 and {prefix}.grad_clip > 0")
        choice(f"{prefix}.loss_agg_mode", self.loss_agg_mode, LOSS_AGG_MODES)
        self._check_clip(prefix)

    @property
    def clip_low(self) -> float:
        """verl's lower clip range: clip_ratio_low, or clip_ratio where it is null."""
        return self.clip_ratio if self.clip_ratio_low is None else self.clip_ratio_low

    @property
    def clip_high(self) -> float:
        """verl's upper clip range: clip_ratio_high, or clip_ratio where it is null."""
        return self.clip_ratio if self.clip_ratio_high is None else self.clip_ratio_high

    def _check_clip(self, prefix: str) -> None:
        if not 0 < self.clip_low < 1 or self.clip_high <= 0:
            raise ConfigError(f"{prefix}: clip_ratio_low must be in (0, 1) and clip_ratio_high > 0, e.g. 0.2 and 0.28")
        bounds = (self.clip_ratio_low, self.clip_ratio_high)
        if self.clip_ratio != 0.2 and None not in bounds and bounds != (self.clip_ratio, self.clip_ratio):
            raise ConfigError(
                f"{prefix}.clip_ratio={self.clip_ratio} has no effect: as in verl, it is read only where "
                f"clip_ratio_low / clip_ratio_high are null, and they are set ({bounds[0]} / {bounds[1]}); set "
                f"{prefix}.clip_ratio_low={self.clip_ratio} {prefix}.clip_ratio_high={self.clip_ratio} instead"
            )


@dataclass(frozen=True)
class ValKwargsConfig:
    """``actor_rollout_ref.rollout.val_kwargs.*``: sampling for val/accuracy (greedy by default, like verl)."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    do_sample: bool = False

    def __post_init__(self) -> None:
        positive(self, "actor_rollout_ref.rollout.val_kwargs", ("n",))
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ConfigError("actor_rollout_ref.rollout.val_kwargs: temperature must be >= 0 and top_p in (0, 1]")


@dataclass(frozen=True)
class RolloutConfig:
    """``actor_rollout_ref.rollout.*``: sampling n responses per prompt."""

    name: str = "vllm"  # vllm (colocated, when installed) or hf (transformers generate)
    n: int = 5
    temperature: float = 0.6
    top_p: float = 1.0
    top_k: int = -1  # -1: off (verl's convention)
    gpu_memory_utilization: float = 0.6
    # vLLM sleep mode between rollouts (weights offloaded to CPU, KV cache freed); off: the engine keeps its
    # gpu_memory_utilization share next to training. Needs a platform with sleep mode (CUDA); ignored on CPU.
    free_cache_engine: bool = False
    # warn when the mean |p_rollout - p_trainer| of the sampled tokens exceeds this (null: never)
    probs_diff_warn_threshold: float | None = 0.05
    # the gap needs a forward pass of its own when TRL computes no old log-probs: then only every N steps (0: never
    # then), on the first M responses of each process (-1: all); free (every step, all responses) otherwise
    probs_diff_every: int = 1
    probs_diff_sample: int = 64
    val_kwargs: ValKwargsConfig = field(default_factory=ValKwargsConfig)

    def __post_init__(self) -> None:
        prefix = "actor_rollout_ref.rollout"
        choice(f"{prefix}.name", self.name, ROLLOUT_NAMES)
        if self.n < 2:
            raise ConfigError(
                f"{prefix}.n={self.n}: GRPO needs at least 2 responses per prompt to compute group-relative "
                f"advantages; set {prefix}.n=2 or more (the recipe uses 5)"
            )
        if self.temperature <= 0:
            raise ConfigError(f"{prefix}.temperature must be > 0 for sampling rollouts (e.g. 0.6 or 1.0)")
        if not 0 < self.top_p <= 1 or self.top_k == 0 or self.top_k < -1:
            raise ConfigError(f"{prefix}: top_p must be in (0, 1] and top_k -1 (off) or a positive count")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ConfigError(f"{prefix}.gpu_memory_utilization must be in (0, 1], e.g. 0.6")
        if self.probs_diff_warn_threshold is not None and not 0 <= self.probs_diff_warn_threshold <= 1:
            raise ConfigError(f"{prefix}.probs_diff_warn_threshold must be in [0, 1] or null, e.g. 0.05")
        if self.probs_diff_every < 0 or self.probs_diff_sample == 0 or self.probs_diff_sample < -1:
            raise ConfigError(f"{prefix}.probs_diff_every must be >= 0 (0: only when free) and {prefix}.probs_diff_sample "
                              "-1 (all responses) or a positive count")


@dataclass(frozen=True)
class RefConfig:
    """``actor_rollout_ref.ref.*``: the reference policy is the base model with the LoRA adapter disabled."""

    use_base_with_adapter_disabled: bool = True

    def __post_init__(self) -> None:
        if not self.use_base_with_adapter_disabled:
            raise ConfigError(
                "actor_rollout_ref.ref.use_base_with_adapter_disabled must stay True: the reference model is "
                "the base model with the LoRA adapter switched off (no second copy in memory)"
            )


@dataclass(frozen=True)
class ActorRolloutRefConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    actor: ActorConfig = field(default_factory=ActorConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    ref: RefConfig = field(default_factory=RefConfig)


@dataclass(frozen=True)
class FilterGroupsConfig:
    """``algorithm.filter_groups.*``: DAPO dynamic sampling (deepscaler_grpo.training.dynamic_sampling), verl's names."""

    enable: bool = False
    metric: str = "acc"  # acc (the verifier's accuracy) or score (the weighted reward GRPO trains on)
    max_num_gen_batches: int = 10  # generation batches per step at most; <= 0: no limit (verl)
    fail_at_limit: bool = False  # True: stop the run when the limit leaves the step short of groups

    def __post_init__(self) -> None:
        choice("algorithm.filter_groups.metric", self.metric, FILTER_METRICS)


@dataclass(frozen=True)
class RolloutCorrectionConfig:
    """``algorithm.rollout_correction.*``: verl's importance weights pi_old / pi_rollout for vLLM rollouts.

    Off by default, as in verl. ``rollout_is=token`` or ``sequence`` weights each token's policy loss by the
    per-token or per-sequence ratio, truncated at ``rollout_is_threshold`` (TRL's ``vllm_importance_sampling_*``).
    """

    rollout_is: str | None = None  # null: no correction (verl's default); token or sequence
    rollout_is_threshold: float = 2.0

    def __post_init__(self) -> None:
        prefix = "algorithm.rollout_correction"
        if self.rollout_is is not None:
            choice(f"{prefix}.rollout_is", self.rollout_is, ROLLOUT_IS_LEVELS, why="or null for no correction")
        if self.rollout_is_threshold <= 0:
            raise ConfigError(f"{prefix}.rollout_is_threshold must be > 0, e.g. 2.0 (verl's default)")


@dataclass(frozen=True)
class AlgorithmConfig:
    """``algorithm.*``: only GRPO's group-normalised advantage."""

    adv_estimator: str = "grpo"
    norm_adv_by_std_in_grpo: bool = True
    filter_groups: FilterGroupsConfig = field(default_factory=FilterGroupsConfig)
    rollout_correction: RolloutCorrectionConfig = field(default_factory=RolloutCorrectionConfig)

    def __post_init__(self) -> None:
        choice("algorithm.adv_estimator", self.adv_estimator, ("grpo",), why="deepscaler-grpo implements GRPO only")


@dataclass(frozen=True)
class LengthStage:
    """One ``trainer.length_schedule`` stage (deepscaler_grpo.training.schedule); unset keys keep the run's values."""

    until_step: int | None = None  # last training step of the stage; the last stage has none
    max_response_length: int | None = None  # None: data.max_response_length
    rollout_n: int | None = None  # None: actor_rollout_ref.rollout.n


@dataclass(frozen=True)
class StageAutoAdvanceConfig:
    """``trainer.stage_auto_advance.*``: leave a stage early when responses keep hitting its length limit."""

    enable: bool = False
    clip_ratio: float = 0.1  # advance when response_length/clip_ratio is above this ...
    steps: int = 5  # ... for this many consecutive steps

    def __post_init__(self) -> None:
        if not 0 <= self.clip_ratio < 1 or self.steps < 1:
            raise ConfigError("trainer.stage_auto_advance: clip_ratio must be in [0, 1) and steps >= 1")


@dataclass(frozen=True)
class TrainerConfig:
    """``trainer.*``: run length, checkpointing, logging and the process layout."""

    project_name: str = "deepscaler-grpo"
    experiment_name: str = "qwen3-4b-instruct-grpo"
    logger: list[str] = field(default_factory=lambda: ["console"])
    total_training_steps: int | None = 50  # None: total_epochs passes over the train set
    total_epochs: int = 1
    save_freq: int = 20  # steps; <= 0: save only at the end
    test_freq: int = 5  # steps; <= 0: validate only at the end
    val_before_train: bool = True
    n_gpus_per_node: int = 1
    nnodes: int = 1
    default_local_dir: str = "runs/${trainer.experiment_name}"
    resume_mode: str = "auto"
    resume_from_path: str | None = None
    max_actor_ckpt_to_keep: int | None = None  # None: keep all
    seed: int = 42
    cpu_threads: int | None = None  # one process on CPU: torch threads (null: the cores not busy, see threads.py)
    no_signal_warn_steps: int = 5  # warn after this many steps with a constant reward in every group (0: never)
    length_schedule: list[LengthStage] = field(default_factory=list)  # [] = one stage (deepscaler_grpo.training.schedule)
    stage_auto_advance: StageAutoAdvanceConfig = field(default_factory=StageAutoAdvanceConfig)
    # which verl actor's loss normalisation to reproduce: auto/enable = the legacy dp_actor (verl's default: each
    # micro-batch on its own, x 1/accumulation); disable = the new engine (normalised over the whole mini-batch)
    use_legacy_worker_impl: str = "auto"

    def __post_init__(self) -> None:
        choice("trainer.use_legacy_worker_impl", self.use_legacy_worker_impl, WORKER_IMPLS)
        bad = [name for name in self.logger if name not in LOGGERS]
        if bad:
            raise ConfigError(
                f"trainer.logger: unknown logger(s) {bad}; choose from {list(LOGGERS)}, "
                "e.g. trainer.logger=[console,tensorboard] or trainer.logger=console,wandb"
            )
        if self.total_training_steps is not None and self.total_training_steps < 1:
            raise ConfigError("trainer.total_training_steps must be >= 1 (or null to use trainer.total_epochs)")
        positive(self, "trainer", ("total_epochs", "nnodes"))
        if self.n_gpus_per_node < 0:
            raise ConfigError("trainer.n_gpus_per_node must be >= 0 (0 or 1 = one process, e.g. on CPU)")
        choice("trainer.resume_mode", self.resume_mode, RESUME_MODES)
        if self.resume_mode == "resume_path" and not self.resume_from_path:
            raise ConfigError(
                "trainer.resume_mode=resume_path needs trainer.resume_from_path=RUN_DIR/global_step_N"
            )
        if self.no_signal_warn_steps < 0:
            raise ConfigError("trainer.no_signal_warn_steps must be >= 0 (0 turns the warning off)")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ConfigError("trainer.cpu_threads must be >= 1, or null (automatic: the cores not busy)")
        if self.max_actor_ckpt_to_keep is not None and self.max_actor_ckpt_to_keep < 1:
            raise ConfigError("trainer.max_actor_ckpt_to_keep must be >= 1 or null (keep all)")

    @property
    def world_size(self) -> int:
        """Training processes in total (one per GPU; one on CPU)."""
        return max(self.n_gpus_per_node, 1) * self.nnodes


@dataclass(frozen=True)
class RewardConfig:
    """``reward.*``: which reward functions GRPO trains on, and the verifier's policy.

    The policy keys (``decimal_digits``, ``timeout_s``, ``workers``, ``max_memory_mb``, ``units``,
    ``order_from_prompt``) are the fields of
    ``deepscaler_grpo.reward.VerifierPolicy``: they change what the verifier accepts or how it runs, so they are
    recorded in the run's ``config.yaml`` and sent with every request. The ``DEEPSCALER_VERIFIER_*`` environment
    variables only change their defaults (see ``deepscaler_grpo.config.loading``).
    """

    functions: list[str] = field(default_factory=lambda: ["accuracy", "format"])  # registered reward names, in order
    weights: list[float] | None = None  # one per function; null: accuracy/custom 1.0, format reward.format_weight
    format_weight: float = 0.0  # weight of the <answer>-tag format reward next to accuracy (weight 1)
    boxed_fallback: bool = True  # accept a final \\boxed{} answer when there is no <answer> tag
    decimal_digits: int = 0  # a rounded decimal with >= this many significant digits equals an exact value; 0: never
    timeout_s: float = 5.0  # hard wall-clock limit per symbolic check
    workers: int | None = None  # symbolic worker processes; null: from the CPU count, shared by local training ranks
    max_memory_mb: int = 3072  # address-space limit of each worker process
    units: bool = True  # when both answers carry a unit, the units must agree (or convert exactly)
    order_from_prompt: bool = True  # a question that asks for an order makes bare lists ordered
    custom_timeout_s: float = 600.0  # a custom reward function's limit per batch (it is stopped with an error past it)

    def __post_init__(self) -> None:
        if not self.functions or not all(isinstance(name, str) and name for name in self.functions):
            raise ConfigError("reward.functions must list reward names, e.g. reward.functions=[accuracy,format]")
        if self.format_weight < 0 or self.timeout_s <= 0 or self.custom_timeout_s <= 0:
            raise ConfigError("reward.format_weight must be >= 0, reward.timeout_s and reward.custom_timeout_s > 0")
        if self.decimal_digits < 0:
            raise ConfigError("reward.decimal_digits must be >= 0 (0: a decimal never equals an exact value)")
        if (self.workers is not None and self.workers < 1) or self.max_memory_mb < 256:
            raise ConfigError("reward.workers must be >= 1 (or null: automatic) and reward.max_memory_mb >= 256")


@dataclass(frozen=True)
class CustomRewardFunctionConfig:
    """``custom_reward_function.*`` (verl): a reward written as verl users write it, loaded from a Python file.

    ``compute_score(data_source, solution_str, ground_truth, extra_info)`` returns a float or a dict with
    ``score`` (and optionally ``acc``). It replaces the ``accuracy`` reward (or fills the ``custom`` slot of
    ``reward.functions``); see ``deepscaler_grpo.training.rewards``.
    """

    path: str | None = None
    name: str = "compute_score"


@dataclass(frozen=True)
class OverlongBufferConfig:
    """``reward_model.overlong_buffer.*`` (verl/DAPO): a penalty for responses in the last ``len`` tokens."""

    enable: bool = False
    len: int = 4096  # buffer tokens at the end of max_response_length
    penalty_factor: float = 1.0  # penalty at the limit (reward - penalty_factor)
    mask_truncated_completions: bool = False  # DAPO overlong filtering: truncated responses get no loss

    def __post_init__(self) -> None:
        if self.len < 1 or self.penalty_factor < 0:
            raise ConfigError("reward_model.overlong_buffer: len must be >= 1 and penalty_factor >= 0")


@dataclass(frozen=True)
class RewardModelConfig:
    """``reward_model.*``: of verl's reward-model keys only the overlong buffer applies to rule-based rewards."""

    overlong_buffer: OverlongBufferConfig = field(default_factory=OverlongBufferConfig)


@dataclass(frozen=True)
class Config:
    """The whole training configuration; construction validates every cross-field constraint."""

    data: DataConfig = field(default_factory=DataConfig)
    actor_rollout_ref: ActorRolloutRefConfig = field(default_factory=ActorRolloutRefConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    reward_model: RewardModelConfig = field(default_factory=RewardModelConfig)
    custom_reward_function: CustomRewardFunctionConfig = field(default_factory=CustomRewardFunctionConfig)

    def __post_init__(self) -> None:
        check_batch_sizes(self)
        check_schedule(self)
        check_overlong_buffer(self)
        check_rewards(self)
