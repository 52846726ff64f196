"""Running a response-length schedule (``trainer.length_schedule``, planned in ``deepscaler_grpo.config.stages``):
one TRL trainer per stage inside one process.

TRL's ``max_steps`` (and so the LR schedule and warm-up) always spans the whole run; :class:`StageCallback` stops
a stage's trainer after its last step and forces a checkpoint there, and the next stage's trainer resumes from that
checkpoint (adapter, optimizer, scheduler, RNG, data position) with its own generation settings. The optimizer
steps per training step do not depend on ``rollout_n``, so ``global_step_N`` names, ``metrics.jsonl`` and the step
numbering run on across stages. Every metrics row carries ``stage/index``, ``stage/max_response_length`` and
``stage/rollout_n``. Between stages the first trainer is released (its model, optimizer and vLLM engine) before
the next is built, so memory does not pile up.

Resume: each checkpoint's ``trainer_state.json`` records the stage history (where each started stage began, which
differs from the plan after an auto-advance); ``deepscaler_grpo.training.state`` reads it back and refuses a
schedule that changes a stage that has already started.

Auto-advance (``trainer.stage_auto_advance.enable``): when ``response_length/clip_ratio`` stays above
``clip_ratio`` for ``steps`` consecutive steps, the stage ends at that step (checkpointed, logged as
``stage/auto_advance`` = 1 in its row and a console line) and the next stage starts; later stages keep their
planned ``until_step``.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from deepscaler_grpo import compat
from deepscaler_grpo.config.stages import ScheduleError, Stage, stage_config
from deepscaler_grpo.training.checkpoints import STAGE_STATE_KEY, checkpoint_dir
from deepscaler_grpo.training.state import RunState


def run_stages(run: Any, train_stage: Callable[..., Any]) -> Any:
    """Train every remaining stage of ``run`` (a ``training.run.Run``) with ``train_stage(run, stage_cfg,
    extra_callbacks, row_fields)``; returns the last trainer."""
    cfg, state = run.cfg, run.state
    engine = None
    while True:
        callback = StageCallback(cfg, state, run.process.is_main_process)
        if cfg.trainer.length_schedule:
            _announce(run, state)
        trainer = train_stage(dataclasses.replace(run, state=state, rollout_engine=engine),
                              stage_config(cfg, state.stage), [callback], callback.fields)
        run.process.wait_for_everyone()
        if callback.last_step is None or callback.last_step >= state.total_steps:
            return trainer
        checkpoint = checkpoint_dir(cfg.trainer.default_local_dir, callback.last_step)
        if not checkpoint.is_dir():
            raise ScheduleError(f"stage {state.stage.index} ended at step {callback.last_step} but {checkpoint} was not written")
        engine = release_trainer(trainer)
        del trainer  # the last reference: the stage's model and optimizer are garbage before the next is built
        free_memory()
        state = RunState.at(cfg, checkpoint, state.total_steps)


def _announce(run: Any, state: RunState) -> None:
    if run.process.is_main_process:
        stage = state.stage
        end = stage.end if stage.end is not None and stage.end < state.total_steps else state.total_steps
        print(f"stage {stage.index}: steps {state.done + 1}..{end}, max_response_length={stage.max_response_length}, "
              f"rollout_n={stage.rollout_n}", flush=True)


def release_trainer(trainer: Any) -> Any:
    """Take a finished stage's trainer apart: its colocated vLLM engine is returned (for the next stage's trainer;
    None with HF rollouts); every reference it holds to the model and optimizer is dropped (its own, the callback
    handler's, accelerate's, TRL's vLLM backend's), so they are freed even if the trainer object lives on (a library
    that keeps an import error's traceback keeps every frame under it, ``train_stage``'s with this trainer too:
    vLLM 0.31's audio module does)."""
    engine = trainer.detach_rollout_engine()
    compat.drop_rollout_model(trainer)
    trainer.accelerator.free_memory()  # accelerate's own references to the prepared model and optimizer
    handler = trainer.callback_handler
    handler.model = handler.optimizer = handler.lr_scheduler = handler.train_dataloader = None
    trainer.model = trainer.model_wrapped = trainer.optimizer = trainer.lr_scheduler = None
    return engine


def free_memory() -> None:
    """Collect a released stage's trainer. vLLM runs ``gc.freeze()`` when its engine starts (fewer objects for each
    collection to scan), which also froze the first trainer, its model and optimizer: frozen objects are never
    collected, so the stage would keep its memory. They are unfrozen for this collection; the survivors are frozen
    again, as vLLM wants them."""
    import torch

    refreeze = gc.get_freeze_count() > 0
    gc.unfreeze()
    gc.collect()
    if refreeze:
        gc.freeze()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class StageCallback(TrainerCallback, compat.exportable_state_class()):  # type: ignore[misc]
    """Ends a stage (a checkpoint, then the trainer stops), keeps the stage history in every checkpoint and
    watches the clip ratio for auto-advance."""

    def __init__(self, cfg: Any = None, state: RunState | None = None, is_main: bool = True):
        stage: Stage | None = state.stage if state is not None else None
        self.stage = stage
        self.steps_per_step = 1 if cfg is None else _optimizer_steps(cfg)  # optimizer steps per training step
        self.starts = state.stage_starts if state is not None else [0]
        self.streak = state.streak if state is not None else 0
        self.is_main = is_main
        self.last_step: int | None = None  # the step the stage ended at (None: the run ended inside it)
        advance = cfg.trainer.stage_auto_advance if cfg is not None else None
        n_stages = len(state.stages) if state is not None else 0
        self.advance = advance if advance and advance.enable and stage and stage.index < n_stages - 1 else None
        self.fields = {"stage/index": stage.index, "stage/max_response_length": stage.max_response_length,
                       "stage/rollout_n": stage.rollout_n} if stage and cfg.trainer.length_schedule else {}

    def state(self) -> dict[str, Any]:
        return {"args": {}, "attributes": {"starts": list(self.starts), "streak": self.streak}}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        state.stateful_callbacks.setdefault(STAGE_STATE_KEY, self.state())  # a resumed state from an older checkpoint

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        step, rest = divmod(state.global_step, self.steps_per_step)
        if not rest and self.stage is not None and self.stage.end is not None and step >= self.stage.end:
            self._end(control, step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs is None or "actor/loss" not in logs or state.global_step % self.steps_per_step:
            return
        step = state.global_step // self.steps_per_step
        if self.advance is None or self.last_step is not None:
            return
        clip = logs.get("response_length/clip_ratio")
        self.streak = self.streak + 1 if isinstance(clip, (int, float)) and clip > self.advance.clip_ratio else 0
        if self.streak >= self.advance.steps:
            logs["stage/auto_advance"] = 1  # this callback runs before the one that writes the row
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


def _optimizer_steps(cfg: Any) -> int:
    from deepscaler_grpo.training.mapping import optimizer_steps_per_step

    return optimizer_steps_per_step(cfg)
