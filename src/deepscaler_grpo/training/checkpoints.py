"""The run directory's files: checkpoint names, completeness, the latest marker, publishing, pruning, metrics
truncation, and what a checkpoint recorded (stage history). Pure path logic (no TRL import); which checkpoint a
run resumes from, and whether it may, is decided in ``deepscaler_grpo.training.state``.

    RUN/config.yaml                         resolved config of the run
    RUN/metrics.jsonl                       one JSON line per training step
    RUN/global_step_N/adapter/              PEFT adapter (PeftModel.from_pretrained), + optimizer, scheduler, RNG
    RUN/latest_checkpointed_iteration.txt   N of the newest published checkpoint

A checkpoint is written under a temporary name and published by one ``os.rename``, then the marker is
replaced atomically, so ``global_step_N`` is complete or absent.

    from deepscaler_grpo.training.checkpoints import latest_complete_checkpoint, checkpoint_dir
    latest_complete_checkpoint("runs/x")     # Path("runs/x/global_step_40") or None
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from deepscaler_grpo.io import atomic_write_text, follow_umask, read_jsonl

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.yaml"


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


STAGE_STATE_KEY = "StageCallback"  # the entry in trainer_state.json's stateful_callbacks (training.schedule)


def saved_stage_state(checkpoint: str | Path | None) -> dict:
    """The length schedule's record in ``checkpoint/trainer_state.json``: ``{"starts": [...], "streak": N}``
    (the start step of every stage begun so far, the auto-advance streak); {} when absent or unreadable."""
    if checkpoint is None:
        return {}
    try:
        state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return {}
    entry = (state.get("stateful_callbacks") or {}).get(STAGE_STATE_KEY) or {}
    return entry.get("attributes") or {}
