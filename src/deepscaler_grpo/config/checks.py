"""The configuration's checks that span several sections (batch geometry, the overlong buffer against every response
limit, the reward settings), and the small value checks every section uses. Run by ``Config.__post_init__``;
each fails with a :class:`~deepscaler_grpo.config.errors.ConfigError` that names the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from deepscaler_grpo.config.errors import ConfigError

if TYPE_CHECKING:
    from deepscaler_grpo.config.schema import Config


def check_overlong_buffer(cfg: Config) -> None:
    """The buffer must be shorter than every response limit of the run."""
    buffer = cfg.reward_model.overlong_buffer
    limits = [cfg.data.max_response_length] + [s.max_response_length for s in cfg.trainer.length_schedule
                                                if s.max_response_length is not None]
    if buffer.enable and buffer.len >= min(limits):
        raise ConfigError(
            f"reward_model.overlong_buffer.len={buffer.len} must be shorter than the shortest response limit "
            f"({min(limits)} tokens, data.max_response_length or a length_schedule stage); e.g. "
            f"reward_model.overlong_buffer.len={max(min(limits) // 4, 1)}"
        )


def check_rewards(cfg: Config) -> None:
    """``reward.functions`` / ``reward.weights`` / ``custom_reward_function`` agree (the names are checked against the
    reward registry by ``deepscaler_grpo.training.rewards``, before any model loads)."""
    reward, custom = cfg.reward, cfg.custom_reward_function
    if reward.weights is not None and len(reward.weights) != len(reward.functions):
        raise ConfigError(
            f"reward.weights has {len(reward.weights)} values for {len(reward.functions)} reward.functions "
            f"{list(reward.functions)}; give one weight per function, or reward.weights=null for the defaults"
        )
    if "custom" in reward.functions and not custom.path:
        raise ConfigError(
            "reward.functions lists 'custom' but custom_reward_function.path is null; set "
            "custom_reward_function.path=my_reward.py custom_reward_function.name=compute_score"
        )
    if "overlong" in reward.functions:
        raise ConfigError(
            "the overlong penalty is switched on by reward_model.overlong_buffer.enable=true (verl's key), not by "
            "listing it in reward.functions"
        )


def check_batch_sizes(cfg: Config) -> None:
    """verl's batch-size rules: whole mini-batches per step, whole micro-batches per mini-batch per GPU."""
    bsz, actor = cfg.data.train_batch_size, cfg.actor_rollout_ref.actor
    mini, micro, n = actor.ppo_mini_batch_size, actor.ppo_micro_batch_size_per_gpu, cfg.actor_rollout_ref.rollout.n
    world = cfg.trainer.world_size
    if mini > bsz or bsz % mini:
        raise ConfigError(
            f"data.train_batch_size={bsz} must be a multiple of actor_rollout_ref.actor.ppo_mini_batch_size={mini} "
            f"(each step is split into whole mini-batches); e.g. set ppo_mini_batch_size to a divisor of {bsz}"
        )
    if (mini * n) % (micro * world):
        raise ConfigError(
            f"ppo_mini_batch_size x rollout.n = {mini} x {n} = {mini * n} responses per optimizer step must be a "
            f"multiple of ppo_micro_batch_size_per_gpu x world size = {micro} x {world} = {micro * world}; "
            "change actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu, rollout.n or the number of GPUs"
        )


def positive(obj: object, prefix: str, names: Iterable[str]) -> None:
    for name in names:
        value = getattr(obj, name)
        if value <= 0:
            raise ConfigError(f"{prefix}.{name} must be > 0, got {value}")


def choice(key: str, value: str, allowed: tuple[str, ...], why: str = "") -> None:
    if value not in allowed:
        reason = f" ({why})" if why else ""
        raise ConfigError(f"{key}={value!r} is not supported{reason}; choose from {list(allowed)}")
