"""The run directory: checkpoint names, completeness, the latest marker, publishing, pruning, metrics
truncation and the resume policy. Pure path logic (no TRL import), used by ``train`` and the trainer subclass.

    RUN/config.yaml                         resolved config of the run
    RUN/metrics.jsonl                       one JSON line per training step
    RUN/global_step_N/adapter/              PEFT adapter (PeftModel.from_pretrained), + optimizer, scheduler, RNG
    RUN/latest_checkpointed_iteration.txt   N of the newest published checkpoint

A checkpoint is written under a temporary name and published by one ``os.rename``, then the marker is
replaced atomically, so ``global_step_N`` is complete or absent.

    from deepscaler_grpo.rundir import latest_complete_checkpoint, checkpoint_dir
    latest_complete_checkpoint("runs/x")     # Path("runs/x/global_step_40") or None
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from deepscaler_grpo.config import Config, config_to_yaml
from deepscaler_grpo.errors import UserError
from deepscaler_grpo.io import atomic_write_text, follow_umask, read_jsonl

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.yaml"


class RunDirError(UserError):
    """A run directory or checkpoint that cannot be used as asked; the message says what to do."""


ADAPTER_DIR = "adapter"


LATEST_FILE = "latest_checkpointed_iteration.txt"


CKPT_PREFIX = "global_step_"


REQUIRED_FILES = (
    f"{ADAPTER_DIR}/adapter_config.json",
    f"{ADAPTER_DIR}/adapter_model.safetensors",
    "trainer_state.json",
    "optimizer.pt",
    "scheduler.pt",
)


def checkpoint_dir(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / f"{CKPT_PREFIX}{step}"


def is_complete_checkpoint(path: str | Path, required: tuple[str, ...] = REQUIRED_FILES) -> bool:
    return all((Path(path) / name).is_file() for name in required)


def checkpoint_step(path: str | Path) -> int | None:
    """N for a ``global_step_N`` folder name, else None."""
    name = Path(path).name
    suffix = name[len(CKPT_PREFIX) :]
    return int(suffix) if name.startswith(CKPT_PREFIX) and suffix.isdigit() else None


def latest_complete_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint named by ``latest_checkpointed_iteration.txt`` if complete, else the newest complete one."""
    run_dir = Path(run_dir)
    latest = run_dir / LATEST_FILE
    if latest.is_file() and latest.read_text().strip().isdigit():
        candidate = checkpoint_dir(run_dir, int(latest.read_text().strip()))
        if is_complete_checkpoint(candidate):
            return candidate
    found = [p for p in run_dir.glob(f"{CKPT_PREFIX}*") if checkpoint_step(p) is not None and is_complete_checkpoint(p)]
    return max(found, key=lambda p: checkpoint_step(p) or 0, default=None)


def publish_checkpoint(src: str | Path, run_dir: str | Path, step: int, keep: int | None = None) -> Path:
    """Rename a fully written temp folder to ``global_step_{step}``, update the latest marker, prune old ones."""
    dst = checkpoint_dir(run_dir, step)
    if dst.exists():  # a rerun of the same step: move the old one aside first so the rename stays atomic
        stale = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(stale, ignore_errors=True)
        os.rename(dst, stale)
        shutil.rmtree(stale, ignore_errors=True)
    follow_umask(src)
    os.rename(src, dst)
    atomic_write_text(Path(run_dir) / LATEST_FILE, f"{step}\n")
    if keep is not None:
        prune_checkpoints(run_dir, keep)
    return dst


def prune_checkpoints(run_dir: str | Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest ``global_step_*`` folders; returns the deleted ones."""
    steps = sorted((p for p in Path(run_dir).glob(f"{CKPT_PREFIX}*") if checkpoint_step(p) is not None), key=checkpoint_step)
    doomed = steps[:-keep] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def remove_incomplete_checkpoints(run_dir: str | Path) -> list[Path]:
    """Delete HF temp folders (``checkpoint-*``) left by a crash mid-save."""
    stale = [p for p in Path(run_dir).glob("checkpoint-*") if p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def truncate_metrics(path: str | Path, max_step: int) -> int:
    """Drop rows past ``max_step`` (steps redone after a resume); returns how many rows remain."""
    rows = [row for row in read_jsonl(path) if int(row.get("step", 0)) <= max_step]
    if Path(path).is_file():
        atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))
    return len(rows)



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


GEOMETRY_KEYS = (
    "data.train_batch_size",
    "actor_rollout_ref.actor.ppo_mini_batch_size",
    "actor_rollout_ref.actor.ppo_epochs",
    "actor_rollout_ref.rollout.n",
)


def check_resume_geometry(cfg: Config, saved_config: Path, keys: tuple[str, ...] = GEOMETRY_KEYS) -> None:
    """A resumed run must keep the batch settings that map saved optimizer steps onto training steps."""
    if not saved_config.is_file():
        return
    from omegaconf import OmegaConf

    saved, now = OmegaConf.load(saved_config), OmegaConf.structured(cfg)
    changed = [f"{k}: {OmegaConf.select(saved, k)} -> {OmegaConf.select(now, k)}" for k in keys
               if OmegaConf.select(saved, k) != OmegaConf.select(now, k)]
    if changed:
        raise RunDirError(
            f"cannot resume {saved_config.parent} with different batch settings ({'; '.join(changed)}); keep them, "
            "or start over with trainer.resume_mode=disable or a new trainer.default_local_dir"
        )


def prepare_run_dir(cfg: Config, resume: Path | None) -> None:
    """Create the run dir, save the resolved config, drop crash leftovers and metrics of steps to be redone."""

    run_dir = Path(cfg.trainer.default_local_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / CONFIG_FILE, config_to_yaml(cfg))
    remove_incomplete_checkpoints(run_dir)
    # keep metrics up to the resumed step (all of them are redone on a fresh start)
    truncate_metrics(run_dir / METRICS_FILE, (checkpoint_step(resume) or 0) if resume else -1)

