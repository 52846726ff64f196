"""Response-length schedule (DeepScaleR's iterative context lengthening): one run, several stages.

    trainer:
      length_schedule:            # stages in order; the last has no until_step
        - {until_step: 1040, max_response_length: 8192}
        - {until_step: 1520, max_response_length: 16384, rollout_n: 16}
        - {max_response_length: 24576, rollout_n: 16}

    deepscaler-grpo train --config configs/deepscaler_schedule.yaml
    deepscaler-grpo train 'trainer.length_schedule=[{until_step:2,max_response_length:8},{max_response_length:16}]'

Stage ``i`` trains steps ``start_i + 1 .. until_step_i`` with ``data.max_response_length`` and
``actor_rollout_ref.rollout.n`` replaced by its own values (unset keys keep the run's). The schedule is
checked with the config (:func:`check_schedule`, before any model loads): increasing ``until_step``, positive
lengths no longer than ``data.max_response_length`` (the longest response the run, its context check and
vLLM are configured for), and verl's batch-size rules for every stage's ``rollout_n``.

How it runs (:func:`run_stages`, called by ``train.train``): one TRL trainer per stage inside one process.
TRL's ``max_steps`` (and so the LR schedule and warm-up) always spans the whole run; :class:`StageCallback`
stops a stage's trainer after its last step and forces a checkpoint there, and the next stage's trainer
resumes from that checkpoint (adapter, optimizer, scheduler, RNG, data position) with its own generation
settings. The optimizer steps per training step (``ppo_epochs x train_batch_size / ppo_mini_batch_size``) do
not depend on ``rollout_n``, so ``global_step_N`` names, ``metrics.jsonl`` and the step numbering run on
across stages. Every metrics row carries ``stage/index`` and ``stage/max_response_length``.

Resume: each checkpoint's ``trainer_state.json`` holds the stage history (where each started stage began,
which differs from the plan after an auto-advance) under ``stateful_callbacks.StageCallback``; resuming from
``global_step_N`` continues in the stage that owns step N + 1 (a checkpoint at a boundary starts the next
stage). Changing the schedule of a run in progress is refused unless only stages not yet started change.

Auto-advance (``trainer.stage_auto_advance.enable``): when ``response_length/clip_ratio`` stays above
``clip_ratio`` for ``steps`` consecutive steps, the stage ends at that step (checkpointed, logged as
``stage/auto_advance`` = 1 in its row and a console line) and the next stage starts; later stages keep their
planned ``until_step``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.rundir import CONFIG_FILE

if TYPE_CHECKING:
    from deepscaler_grpo.config import Config

STATE_KEY = "StageCallback"  # the entry in trainer_state.json's stateful_callbacks


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


# ------------------------------------------------------------------------------------------------ planning


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


def check_schedule(cfg: Config) -> None:
    """Validate ``trainer.length_schedule`` and ``trainer.stage_auto_advance`` (run by Config.__post_init__)."""
    from deepscaler_grpo.config import ConfigError

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
    from deepscaler_grpo.config import ConfigError

    limit = cfg.data.max_response_length
    if item.max_response_length is not None and not 0 < item.max_response_length <= limit:
        raise ConfigError(
            f"{key}.max_response_length={item.max_response_length} must be in [1, data.max_response_length={limit}] "
            "(the longest response the run, its context-length check and the vLLM engine are sized for); "
            f"raise data.max_response_length to {max(item.max_response_length, 1)} or shorten the stage"
        )
    if item.rollout_n is not None and item.rollout_n < 2:
        raise ConfigError(f"{key}.rollout_n={item.rollout_n}: GRPO needs at least 2 responses per prompt")


def stage_config(cfg: Config, stage: Stage) -> Config:
    """``cfg`` as one stage's trainer sees it: its length and n, and no schedule (validated again)."""
    data = dataclasses.replace(cfg.data, max_response_length=stage.max_response_length)
    rollout = dataclasses.replace(cfg.actor_rollout_ref.rollout, n=stage.rollout_n)
    arr = dataclasses.replace(cfg.actor_rollout_ref, rollout=rollout)
    trainer = dataclasses.replace(cfg.trainer, length_schedule=[],
                                  stage_auto_advance=dataclasses.replace(cfg.trainer.stage_auto_advance, enable=False))
    return dataclasses.replace(cfg, data=data, actor_rollout_ref=arr, trainer=trainer)


# -------------------------------------------------------------------------------------------------- resume


def saved_history(checkpoint: Path | None) -> list[int]:
    """Start steps of the stages begun up to ``checkpoint`` (from its trainer_state.json); [] if none recorded."""
    return [int(s) for s in _saved_attributes(checkpoint).get("starts", [])]


def saved_streak(checkpoint: Path | None) -> int:
    """The auto-advance streak (steps over the clip-ratio threshold) recorded in ``checkpoint``."""
    return int(_saved_attributes(checkpoint).get("streak", 0))


def _saved_attributes(checkpoint: Path | None) -> dict[str, Any]:
    """:class:`StageCallback`'s attributes in ``checkpoint/trainer_state.json`` ({} when absent)."""
    if checkpoint is None:
        return {}
    try:
        state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return {}
    entry = (state.get("stateful_callbacks") or {}).get(STATE_KEY) or {}
    return entry.get("attributes") or {}


def actual_stages(cfg: Config, history: Sequence[int]) -> list[Stage]:
    """The planned stages with the recorded start steps applied (an auto-advance moves a start earlier)."""
    stages = planned_stages(cfg)
    starts = [history[i] if i < len(history) else stage.start for i, stage in enumerate(stages)]
    return [dataclasses.replace(s, start=starts[i], end=starts[i + 1] if i + 1 < len(stages) else None)
            for i, s in enumerate(stages)]


def stage_at(stages: Sequence[Stage], done: int) -> Stage:
    """The stage that trains step ``done + 1``."""
    return [s for s in stages if s.start <= done][-1]


def check_schedule_unchanged(cfg: Config, resume: Path | None) -> None:
    """Refuse to resume ``resume`` with a schedule that changes a stage that has already started."""
    if resume is None or not (Path(resume).parent / CONFIG_FILE).is_file():
        return
    from deepscaler_grpo.config import load_config
    from deepscaler_grpo.rundir import checkpoint_step

    try:
        saved = load_config([], str(Path(resume).parent / CONFIG_FILE))
    except UserError:
        return  # an older or foreign config: the geometry check has already had its say
    done = checkpoint_step(resume) or 0
    history = saved_history(resume)
    old, new = actual_stages(saved, history), actual_stages(cfg, history)
    current = stage_at(old, done).index
    for stage in old[: current + 1]:
        other = new[stage.index] if stage.index < len(new) else None
        if other is None or other.key() != stage.key():
            raise ScheduleError(
                f"cannot resume {Path(resume).parent} at step {done}: trainer.length_schedule changes stage "
                f"{stage.index}, which has already started ({_describe(stage)} -> "
                f"{_describe(other) if other else 'removed'}). Only stages after stage {current} may change; restore "
                "the started stages, or start over with trainer.resume_mode=disable or a new trainer.default_local_dir"
            )


def _describe(stage: Stage) -> str:
    until = f"until_step {stage.end}" if stage.end is not None else "to the end"
    return f"{until}, max_response_length {stage.max_response_length}, rollout_n {stage.rollout_n}"


# ------------------------------------------------------------------------------------------------- running


def run_stages(run: Any, train_stage: Callable[..., Any]) -> Any:
    """Train every remaining stage of ``run`` (a ``train.Run``) with ``train_stage(run, extra_callbacks,
    row_fields)``; returns the last trainer. Without a schedule this is ``train_stage(run, [], {})``."""
    cfg = run.cfg
    if not cfg.trainer.length_schedule:
        return train_stage(run, [], {})
    from deepscaler_grpo.mapping import optimizer_steps_per_step
    from deepscaler_grpo.rundir import checkpoint_dir, checkpoint_step

    k = optimizer_steps_per_step(cfg)
    resume = run.resume
    trainer = None
    while True:
        done = (checkpoint_step(resume) or 0) if resume else 0
        stages = actual_stages(cfg, saved_history(resume) or [0])
        stage = stage_at(stages, done)
        if done >= run.total_steps:
            return trainer
        if trainer is not None:
            release_trainer(trainer)
        starts = [s.start for s in stages[: stage.index + 1]]
        callback = StageCallback(cfg, stage, starts, k, saved_streak(resume), run.state.is_main_process)
        _announce(run, stage, done)
        stage_run = dataclasses.replace(run, cfg=stage_config(cfg, stage), resume=resume)
        trainer = train_stage(stage_run, [callback], callback.fields)
        run.state.wait_for_everyone()
        if callback.last_step is None or callback.last_step >= run.total_steps:
            return trainer
        resume = checkpoint_dir(cfg.trainer.default_local_dir, callback.last_step)
        if not resume.is_dir():
            raise ScheduleError(f"stage {stage.index} ended at step {callback.last_step} but {resume} was not written")


def _announce(run: Any, stage: Stage, done: int) -> None:
    if run.state.is_main_process:
        end = stage.end if stage.end is not None and stage.end < run.total_steps else run.total_steps
        print(f"stage {stage.index}: steps {done + 1}..{end}, max_response_length={stage.max_response_length}, "
              f"rollout_n={stage.rollout_n}", flush=True)


def release_trainer(trainer: Any) -> None:
    """Free one stage's trainer (model, optimizer, a colocated vLLM engine) before the next is built."""
    import torch

    engine = getattr(trainer, "vllm_generation", None)
    if engine is not None and hasattr(engine, "llm"):
        del engine.llm
    trainer.model = trainer.model_wrapped = trainer.optimizer = trainer.lr_scheduler = None
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class StageCallback(TrainerCallback, ExportableState):
    """Ends a stage (a checkpoint, then the trainer stops), tags each metrics row with the stage, keeps the
    stage history in every checkpoint and watches the clip ratio for auto-advance."""

    def __init__(self, cfg: Config | None = None, stage: Stage | None = None, history: Sequence[int] = (0,),
                 optimizer_steps_per_step: int = 1, streak: int = 0, is_main: bool = True):
        self.stage = stage
        self.k = optimizer_steps_per_step
        self.starts = list(history)[: (stage.index + 1) if stage else None]
        self.streak = streak
        self.is_main = is_main
        self.last_step: int | None = None  # the step the stage ended at (None: the run ended inside it)
        advance = cfg.trainer.stage_auto_advance if cfg else None
        n_stages = len(cfg.trainer.length_schedule) if cfg else 0
        self.advance = advance if advance and advance.enable and stage and stage.index < n_stages - 1 else None
        self.fields = {"stage/index": stage.index, "stage/max_response_length": stage.max_response_length,
                       "stage/rollout_n": stage.rollout_n} if stage else {}

    def state(self) -> dict[str, Any]:
        return {"args": {}, "attributes": {"starts": list(self.starts), "streak": self.streak}}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        state.stateful_callbacks.setdefault(STATE_KEY, self.state())  # a resumed state from an older checkpoint

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        step, rest = divmod(state.global_step, self.k)
        if not rest and self.stage is not None and self.stage.end is not None and step >= self.stage.end:
            self._end(control, step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs is None or "loss" not in logs or state.global_step % self.k:
            return
        logs.update(self.fields)  # runs before VerlProgressCallback: reporters and metrics rows both get stage/*
        step = state.global_step // self.k
        if self.advance is None or self.last_step is not None:
            return
        clip = logs.get("completions/clipped_ratio")  # TRL's name: this callback runs before the renaming
        self.streak = self.streak + 1 if isinstance(clip, (int, float)) and clip > self.advance.clip_ratio else 0
        if self.streak >= self.advance.steps:
            logs["stage/auto_advance"] = 1
            if self.is_main:
                print(f"stage {self.stage.index} -> {self.stage.index + 1} at step {step} (auto-advance: "
                      f"response_length/clip_ratio > {self.advance.clip_ratio} for {self.streak} steps)",
                      file=sys.stderr, flush=True)
            self._end(control, step)

    def _end(self, control: Any, step: int) -> None:
        if self.last_step is None:
            self.last_step = step
            self.starts.append(step)  # the next stage starts after this step; saved with this checkpoint
            self.streak = 0
        control.should_save = True
        control.should_training_stop = True
