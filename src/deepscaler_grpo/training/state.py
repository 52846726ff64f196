"""Where a run stands: a fresh start, a resume from step N in stage S, or finished. The one place that decides.

    state = decide(cfg, total_steps=50)
    state.kind            # "fresh" | "resume" | "finished"
    state.describe()      # "resuming runs/x from global_step_40 (step 40/50, stage 1: ...)"

:func:`decide` finds the checkpoint ``trainer.resume_mode`` asks for and checks, before anything is written or
loaded, that the run may continue from it: the run directory is ours (or new, or empty), and everything that
shapes the checkpoint is unchanged: the model, the LoRA adapter's rank / alpha / targets, the loss, the batch
geometry that maps saved optimizer steps onto training steps, and the length-schedule stages already started.
:func:`prepare_run_dir` then creates the directory; a fresh run's ``config.yaml`` is written at once, a resumed
run's only once its checkpoint has loaded (:func:`record_resumed_run`), so a failed resume never rewrites it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepscaler_grpo.config import Config, ConfigError, config_to_yaml, with_values
from deepscaler_grpo.config.stages import Stage, actual_stages, stage_at
from deepscaler_grpo.errors import UserError
from deepscaler_grpo.io import atomic_write_text
from deepscaler_grpo.training.checkpoints import (
    CKPT_PREFIX,
    CONFIG_FILE,
    LATEST_FILE,
    METRICS_FILE,
    checkpoint_step,
    is_complete_checkpoint,
    latest_complete_checkpoint,
    remove_incomplete_checkpoints,
    saved_stage_state,
    truncate_metrics,
)


class RunDirError(UserError):
    """A run directory or checkpoint that cannot be used as asked; the message says what to do."""


START_OVER = "start over with trainer.resume_mode=disable or a new trainer.default_local_dir"

# Keys a resumed run must keep, by what they shape: the saved optimizer steps (batch geometry), the adapter's
# tensors (model, LoRA), and the loss the optimizer state was built under.
GEOMETRY_KEYS = (
    "data.train_batch_size",
    "actor_rollout_ref.actor.ppo_mini_batch_size",
    "actor_rollout_ref.actor.ppo_epochs",
    "actor_rollout_ref.rollout.n",
)
CHECKPOINT_SHAPE_KEYS = (
    "actor_rollout_ref.model.path",
    "actor_rollout_ref.model.lora_rank",
    "actor_rollout_ref.model.lora_alpha",
    "actor_rollout_ref.model.target_modules",
    "actor_rollout_ref.actor.loss_agg_mode",
    "trainer.use_legacy_worker_impl",
)
SCHEDULE_KEYS = ("trainer.length_schedule", "data.max_response_length", "actor_rollout_ref.rollout.n")


@dataclass(frozen=True)
class RunState:
    """A run's position: ``done`` steps trained (by ``checkpoint``), the stage that trains step ``done + 1``."""

    run_dir: Path
    total_steps: int
    checkpoint: Path | None
    done: int
    stages: tuple[Stage, ...]
    streak: int = 0  # the auto-advance streak recorded in the checkpoint

    @classmethod
    def at(cls, cfg: Config, checkpoint: Path | None, total_steps: int) -> RunState:
        """The state after ``checkpoint`` (None: a fresh start) with ``cfg``'s stages and their recorded starts."""
        saved = saved_stage_state(checkpoint)
        history = [int(s) for s in saved.get("starts", [])] or [0]
        done = (checkpoint_step(checkpoint) or 0) if checkpoint is not None else 0
        return cls(Path(cfg.trainer.default_local_dir), total_steps, checkpoint, done,
                   tuple(actual_stages(cfg, history)), int(saved.get("streak", 0)))

    @property
    def kind(self) -> str:
        if self.checkpoint is None:
            return "fresh"
        return "finished" if self.done >= self.total_steps else "resume"

    @property
    def stage(self) -> Stage:
        """The stage that trains the next step."""
        return stage_at(self.stages, self.done)

    @property
    def stage_starts(self) -> list[int]:
        """Start steps of the stages begun so far, the current one included (saved with every checkpoint)."""
        return [s.start for s in self.stages[: self.stage.index + 1]]

    def describe(self) -> str:
        stage = f", stage {self.stage.index}: {self.stage.describe()}" if len(self.stages) > 1 else ""
        if self.kind == "fresh":
            return f"starting a fresh run in {self.run_dir} ({self.total_steps} steps{stage})"
        if self.kind == "finished":
            return (f"run complete: {self.done}/{self.total_steps} steps in {self.run_dir}; last checkpoint "
                    f"{self.checkpoint} (adapter: {self.checkpoint / 'adapter'}). Nothing to do; raise "
                    "trainer.total_training_steps to continue it.")
        return f"resuming {self.run_dir} from {self.checkpoint.name} (step {self.done}/{self.total_steps}{stage})"


# --------------------------------------------------------------------------------------------------- deciding


def decide(cfg: Config, total_steps: int) -> RunState:
    """The run's state per ``trainer.resume_mode``; raises :class:`RunDirError` / ``ScheduleError`` when the run
    cannot continue from its checkpoint as configured. Reads only; writes nothing."""
    check_run_dir(Path(cfg.trainer.default_local_dir))
    checkpoint = find_resume_checkpoint(cfg)
    if checkpoint is not None:
        saved = checkpoint.parent / CONFIG_FILE
        check_unchanged(cfg, saved, GEOMETRY_KEYS, "batch settings")
        check_unchanged(cfg, saved, CHECKPOINT_SHAPE_KEYS, "model, LoRA or loss settings")
        check_schedule_unchanged(cfg, checkpoint, total_steps)
    return RunState.at(cfg, checkpoint, total_steps)


def find_resume_checkpoint(cfg: Config) -> Path | None:
    """The checkpoint to resume from per trainer.resume_mode (auto: newest complete one, if any)."""
    mode = cfg.trainer.resume_mode
    if mode == "disable":
        return None
    if mode == "resume_path":
        path = Path(cfg.trainer.resume_from_path or "")
        if not is_complete_checkpoint(path):
            raise RunDirError(
                f"trainer.resume_from_path={path} is not a complete checkpoint (needs adapter/, optimizer.pt, "
                "scheduler.pt, trainer_state.json); point it at RUN_DIR/global_step_N"
            )
        return path
    return latest_complete_checkpoint(cfg.trainer.default_local_dir)


def check_run_dir(run_dir: Path) -> None:
    """The run directory is new, empty, or one of ours (it holds config.yaml, metrics.jsonl or checkpoints)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"trainer.default_local_dir={run_dir} is a file; pass a folder path for the run")
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return
    ours = (run_dir / CONFIG_FILE).is_file() or (run_dir / METRICS_FILE).is_file() or (run_dir / LATEST_FILE).is_file() \
        or any(run_dir.glob(f"{CKPT_PREFIX}*"))
    if not ours:
        raise RunDirError(
            f"trainer.default_local_dir={run_dir} is a non-empty folder that is not a deepscaler-grpo run directory "
            "(no config.yaml, metrics.jsonl or global_step_*); pass a new or empty folder"
        )


def check_unchanged(cfg: Config, saved_config: Path, keys: tuple[str, ...], what: str) -> None:
    """Refuse to resume when ``keys`` differ from the run's saved ``config.yaml`` (nothing has been written yet)."""
    if not saved_config.is_file():
        return
    saved, now = _saved_yaml(saved_config), _as_yaml(cfg)
    changed = [f"{key}: {_select(saved, key)} -> {_select(now, key)}" for key in keys
               if _select(saved, key) != _select(now, key)]
    if changed:
        raise RunDirError(
            f"cannot resume {saved_config.parent} with different {what} ({'; '.join(changed)}): its checkpoints were "
            f"made with the old values. Keep them, or {START_OVER}"
        )


def check_schedule_unchanged(cfg: Config, checkpoint: Path, total_steps: int) -> None:
    """Refuse to resume with a schedule that changes a stage that has already started."""
    from deepscaler_grpo.config.stages import ScheduleError

    saved_config = checkpoint.parent / CONFIG_FILE
    if not saved_config.is_file():
        return
    saved_cfg = _saved_schedule_config(cfg, saved_config)
    old, new = RunState.at(saved_cfg, checkpoint, total_steps), RunState.at(cfg, checkpoint, total_steps)
    for stage in old.stages[: old.stage.index + 1]:
        other = new.stages[stage.index] if stage.index < len(new.stages) else None
        if other is None or other.key() != stage.key():
            raise ScheduleError(
                f"cannot resume {checkpoint.parent} at step {old.done}: trainer.length_schedule changes stage "
                f"{stage.index}, which has already started ({stage.describe()} -> "
                f"{other.describe() if other else 'removed'}). Only stages after stage {old.stage.index} may change; "
                f"restore the started stages, or {START_OVER}"
            )


def _saved_schedule_config(cfg: Config, saved_config: Path) -> Config:
    """``cfg`` with the saved run's schedule keys: the schedule comparison never depends on the rest of an old file."""
    saved = _saved_yaml(saved_config)
    values = {key: _select(saved, key) for key in SCHEDULE_KEYS if _select(saved, key) is not None}
    try:
        return with_values(cfg, values)
    except ConfigError as exc:
        raise RunDirError(f"cannot read the length schedule saved in {saved_config} ({exc}); {START_OVER}") from None


def _saved_yaml(path: Path) -> Any:
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_container(OmegaConf.load(path))
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same message
        raise RunDirError(f"cannot read {path} ({type(exc).__name__}: {exc}); fix or remove it, or {START_OVER}") from None


def _as_yaml(cfg: Config) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)


def _select(tree: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


# --------------------------------------------------------------------------------------------------- writing


def prepare_run_dir(cfg: Config, state: RunState) -> None:
    """Create the run dir and drop crash leftovers; a fresh run's ``config.yaml`` and metrics are written now."""
    state.run_dir.mkdir(parents=True, exist_ok=True)
    remove_incomplete_checkpoints(state.run_dir)
    if state.kind == "fresh":
        record_resumed_run(cfg, state)


def record_resumed_run(cfg: Config, state: RunState) -> None:
    """The run's ``config.yaml`` (the config it now runs with) and ``metrics.jsonl`` cut to the steps kept (rows of
    steps to be redone are dropped). For a resume this runs once the checkpoint has loaded."""
    atomic_write_text(state.run_dir / CONFIG_FILE, config_to_yaml(cfg))
    truncate_metrics(state.run_dir / METRICS_FILE, state.done if state.checkpoint is not None else -1)
