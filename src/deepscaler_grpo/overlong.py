"""DAPO's overlong buffer (verl ``reward_model.overlong_buffer.*``) on TRL's soft overlong punishment.

    deepscaler-grpo train reward_model.overlong_buffer.enable=true reward_model.overlong_buffer.len=512 \\
        reward_model.overlong_buffer.penalty_factor=1.0

With ``L_max`` = ``data.max_response_length`` (the stage's, under a length schedule), ``B`` = ``len`` and
``f`` = ``penalty_factor``, a response of ``|y|`` tokens gets, on top of the verifier's reward,

    penalty(y) = -f * min(max(|y| - (L_max - B), 0) / B, 1)

i.e. 0 up to ``L_max - B`` tokens, then linearly down to ``-f`` at ``L_max`` (a truncated response). This is
verl's DAPO formula ``min(-(|y| - (L_max - B)) / B * f, 0)`` (responses never exceed ``L_max``), computed by
TRL's ``get_soft_overlong_punishment(L_max, B)`` with reward weight ``f``; it appears in the metrics as
``rewards/soft_overlong_punishment_reward/mean``.

``mask_truncated_completions=true`` (DAPO's overlong filtering, TRL's option of the same name) removes
responses that hit ``L_max`` without finishing from the loss; it works with or without the buffer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepscaler_grpo.config import Config


def with_overlong_penalty(cfg: Config, funcs: list[Any], weights: list[float]) -> tuple[list[Any], list[float]]:
    """``funcs`` / ``weights`` plus the soft overlong punishment when reward_model.overlong_buffer.enable."""
    buffer = cfg.reward_model.overlong_buffer
    if not buffer.enable:
        return funcs, weights
    from trl.rewards import get_soft_overlong_punishment

    penalty = get_soft_overlong_punishment(max_completion_len=cfg.data.max_response_length, soft_punish_cache=buffer.len)
    return [*funcs, penalty], [*weights, buffer.penalty_factor]


def check_overlong_buffer(cfg: Config) -> None:
    """The buffer must be shorter than every response limit of the run (run by Config.__post_init__)."""
    from deepscaler_grpo.config import ConfigError

    buffer = cfg.reward_model.overlong_buffer
    limits = [cfg.data.max_response_length] + [s.max_response_length for s in cfg.trainer.length_schedule
                                                if s.max_response_length is not None]
    if buffer.enable and buffer.len >= min(limits):
        raise ConfigError(
            f"reward_model.overlong_buffer.len={buffer.len} must be shorter than the shortest response limit "
            f"({min(limits)} tokens, data.max_response_length or a length_schedule stage); e.g. "
            f"reward_model.overlong_buffer.len={max(min(limits) // 4, 1)}"
        )
