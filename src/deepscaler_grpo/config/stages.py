"""Response-length stages (DeepScaleR's iterative context lengthening), planned from the config alone.

    trainer:
      length_schedule:            # stages in order; the last has no until_step
        - {until_step: 1040, max_response_length: 8192}
        - {until_step: 1520, max_response_length: 16384, rollout_n: 16}
        - {max_response_length: 24576, rollout_n: 16}

Stage ``i`` trains steps ``start_i + 1 .. until_step_i`` with ``data.max_response_length`` and
``actor_rollout_ref.rollout.n`` replaced by its own values (unset keys keep the run's). :func:`check_schedule`
runs with the config (before any model loads): increasing ``until_step``, positive lengths no longer than
``data.max_response_length`` (the longest response the run, its context check and vLLM are sized for), and
verl's batch-size rules for every stage's ``rollout_n``. Pure functions of the config: how the stages are
run is ``deepscaler_grpo.training.schedule``.

    from deepscaler_grpo.config.stages import planned_stages, stage_at
    stage_at(planned_stages(cfg), done=1040).index   # 1: the stage that trains step 1041
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.config.errors import ConfigError
from deepscaler_grpo.errors import UserError

if TYPE_CHECKING:
    from deepscaler_grpo.config.schema import Config


class ScheduleError(UserError):
    """A schedule that cannot be run or resumed as asked; the message says what to change."""


@dataclass(frozen=True)
class Stage:
    """A resolved stage: it trains steps ``start + 1 .. end`` (``end`` None: to the end of the run)."""

    index: int
    start: int
    end: int | None
    max_response_length: int
    rollout_n: int

    def key(self) -> tuple[int | None, int, int]:
        """What a started stage may not change on resume."""
        return self.end, self.max_response_length, self.rollout_n

    def describe(self) -> str:
        until = f"until_step {self.end}" if self.end is not None else "to the end"
        return f"{until}, max_response_length {self.max_response_length}, rollout_n {self.rollout_n}"


def planned_stages(cfg: Config) -> list[Stage]:
    """The stages of ``cfg`` with unset keys filled in (one stage when there is no schedule)."""
    data, n = cfg.data, cfg.actor_rollout_ref.rollout.n
    schedule = cfg.trainer.length_schedule or [None]
    stages, start = [], 0
    for i, item in enumerate(schedule):
        length = (item.max_response_length if item else None) or data.max_response_length
        end = item.until_step if item else None
        stages.append(Stage(i, start, end, length, (item.rollout_n if item else None) or n))
        start = end or 0
    return stages


def actual_stages(cfg: Config, history: Sequence[int]) -> list[Stage]:
    """The planned stages with the recorded start steps applied (an auto-advance moves a start earlier)."""
    stages = planned_stages(cfg)
    starts = [history[i] if i < len(history) else stage.start for i, stage in enumerate(stages)]
    return [dataclasses.replace(s, start=starts[i], end=starts[i + 1] if i + 1 < len(stages) else None)
            for i, s in enumerate(stages)]


def stage_at(stages: Sequence[Stage], done: int) -> Stage:
    """The stage that trains step ``done + 1``."""
    return [s for s in stages if s.start <= done][-1]


def stage_config(cfg: Config, stage: Stage) -> Config:
    """``cfg`` as one stage's trainer sees it: its length and n, and no schedule (validated again)."""
    data = dataclasses.replace(cfg.data, max_response_length=stage.max_response_length)
    rollout = dataclasses.replace(cfg.actor_rollout_ref.rollout, n=stage.rollout_n)
    arr = dataclasses.replace(cfg.actor_rollout_ref, rollout=rollout)
    trainer = dataclasses.replace(cfg.trainer, length_schedule=[],
                                  stage_auto_advance=dataclasses.replace(cfg.trainer.stage_auto_advance, enable=False))
    return dataclasses.replace(cfg, data=data, actor_rollout_ref=arr, trainer=trainer)


def check_schedule(cfg: Config) -> None:
    """Validate ``trainer.length_schedule`` and ``trainer.stage_auto_advance`` (run by Config.__post_init__)."""
    schedule = cfg.trainer.length_schedule
    if cfg.trainer.stage_auto_advance.enable and len(schedule) < 2:
        raise ConfigError("trainer.stage_auto_advance needs a trainer.length_schedule with at least 2 stages")
    previous = 0
    for i, item in enumerate(schedule):
        key = f"trainer.length_schedule[{i}]"
        last = i == len(schedule) - 1
        if last and item.until_step is not None:
            raise ConfigError(f"{key}.until_step={item.until_step}: the last stage runs to the end; remove its until_step")
        if not last and (item.until_step is None or item.until_step <= previous):
            raise ConfigError(
                f"{key}.until_step={item.until_step}: every stage but the last needs an until_step greater than the "
                f"previous one ({previous}), e.g. [{{until_step:100,max_response_length:8192}},{{max_response_length:16384}}]"
            )
        previous = item.until_step or previous
        _check_stage_values(cfg, key, item)
    for stage in planned_stages(cfg) if schedule else []:
        try:
            stage_config(cfg, stage)  # verl's batch-size rules with this stage's rollout_n
        except ConfigError as exc:
            raise ConfigError(f"trainer.length_schedule[{stage.index}] (rollout_n={stage.rollout_n}): {exc}") from None


def _check_stage_values(cfg: Config, key: str, item: Any) -> None:
    limit = cfg.data.max_response_length
    if item.max_response_length is not None and not 0 < item.max_response_length <= limit:
        raise ConfigError(
            f"{key}.max_response_length={item.max_response_length} must be in [1, data.max_response_length={limit}] "
            "(the longest response the run, its context-length check and the vLLM engine are sized for); "
            f"raise data.max_response_length to {max(item.max_response_length, 1)} or shorten the stage"
        )
    if item.rollout_n is not None and item.rollout_n < 2:
        raise ConfigError(f"{key}.rollout_n={item.rollout_n}: GRPO needs at least 2 responses per prompt")
