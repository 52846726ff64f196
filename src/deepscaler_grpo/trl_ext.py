"""TRL extensions for deepscaler-grpo: verl-style checkpoints, metric names and progress on top of GRPOTrainer.

Used by ``deepscaler_grpo.train``; nothing here runs on import.

* :class:`DeepscalerGRPOTrainer` keeps TRL's GRPO loop untouched and only changes where checkpoints go: HF's
  ``checkpoint-{optimizer_step}`` folder is written first (an incomplete temp name that resume ignores), then
  renamed in one ``os.rename`` to ``global_step_{N}`` (N = verl training steps, i.e. rollout batches), and
  ``latest_checkpointed_iteration.txt`` is replaced atomically last. The PEFT adapter lives in ``adapter/``.
* :class:`VerlProgressCallback` times each training step, runs validation every ``test_freq`` steps, renames
  TRL's logged metrics to verl's names (also for tensorboard/wandb), appends one JSON line per step to
  ``metrics.jsonl`` and prints a progress bar plus one compact line per step.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback
from trl import GRPOTrainer

from deepscaler_grpo.io import atomic_write_text, read_jsonl

ADAPTER_DIR = "adapter"
LATEST_FILE = "latest_checkpointed_iteration.txt"
CKPT_PREFIX = "global_step_"
# A checkpoint counts as complete only when all of these exist (the rename makes them appear together).
REQUIRED_FILES = (
    f"{ADAPTER_DIR}/adapter_config.json",
    f"{ADAPTER_DIR}/adapter_model.safetensors",
    "trainer_state.json",
    "optimizer.pt",
    "scheduler.pt",
)

# TRL's logged name -> verl's metric name; other TRL metrics are kept under their own names.
VERL_METRIC_NAMES = {
    "reward": "critic/score/mean",
    "reward_std": "critic/score/std",
    "completions/mean_length": "response_length/mean",
    "completions/max_length": "response_length/max",
    "completions/min_length": "response_length/min",
    "completions/clipped_ratio": "response_length/clip_ratio",
    "kl": "actor/kl_loss",
    "entropy": "actor/entropy",
    "grad_norm": "actor/grad_norm",
    "learning_rate": "actor/lr",
    "loss": "actor/loss",
    "policy_loss": "actor/pg_loss",
    "clip_ratio/region_mean": "actor/pg_clipfrac",
}


# ------------------------------------------------------------------------------------------ checkpoint layout


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


# ----------------------------------------------------------------------------------------------------- trainer


class DeepscalerGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose checkpoints follow the verl run-dir layout (see module docstring)."""

    def __init__(self, *args: Any, optimizer_steps_per_step: int = 1, max_ckpt_to_keep: int | None = None, **kwargs: Any):
        self.optimizer_steps_per_step = optimizer_steps_per_step
        self.max_ckpt_to_keep = max_ckpt_to_keep
        super().__init__(*args, **kwargs)

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        # The adapter (and tokenizer) go into adapter/ so the folder loads with PeftModel.from_pretrained.
        super()._save(os.path.join(output_dir or self.args.output_dir, ADAPTER_DIR), state_dict)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        super()._save_checkpoint(model, trial)  # writes run_dir/checkpoint-{optimizer_step}
        self.accelerator.wait_for_everyone()  # every rank has written its files (e.g. rng_state_{rank}.pth)
        if self.args.should_save:
            src = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
            step = -(-self.state.global_step // self.optimizer_steps_per_step)
            publish_checkpoint(src, self.args.output_dir, step, self.max_ckpt_to_keep)
        self.accelerator.wait_for_everyone()

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        super()._load_from_checkpoint(os.path.join(resume_from_checkpoint, ADAPTER_DIR), model)


# ----------------------------------------------------------------------------------------------------- metrics


def to_verl_metrics(logs: Mapping[str, Any], names: Mapping[str, str] = VERL_METRIC_NAMES) -> dict[str, Any]:
    """Rename TRL's logged keys to verl's where one exists; keep the rest."""
    return {names.get(key, key): value for key, value in logs.items()}


def console_line(record: Mapping[str, Any], total_steps: int) -> str:
    """One compact line per step, e.g. ``step 3/50 | score 0.412 | len 812 (clip 0.05) | kl 1.2e-03 | ...``."""
    parts = [f"step {record['step']}/{total_steps}"]
    formats = (
        ("critic/score/mean", "score {:.3f}"),
        ("response_length/mean", "len {:.0f}"),
        ("response_length/clip_ratio", "clip {:.2f}"),
        ("actor/kl_loss", "kl {:.2e}"),
        ("actor/lr", "lr {:.1e}"),
        ("timing_s/step", "{:.1f}s"),
        ("val/accuracy", "val/acc {:.3f}"),
    )
    parts += [fmt.format(record[key]) for key, fmt in formats if isinstance(record.get(key), (int, float))]
    return " | ".join(parts)


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one line and fsync, so a crash loses at most the line being written."""
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())




def truncate_metrics(path: str | Path, max_step: int) -> int:
    """Drop rows past ``max_step`` (steps redone after a resume); returns how many rows remain."""
    rows = [row for row in read_jsonl(path) if int(row.get("step", 0)) <= max_step]
    if Path(path).is_file():
        atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))
    return len(rows)


class VerlProgressCallback(TrainerCallback):
    """Per training step (= ``optimizer_steps_per_step`` optimizer steps): timing, validation, metrics, console.

    ``validate`` runs on every process (it may shard the validation set) and returns the accuracy; only the
    main process writes ``metrics.jsonl`` and prints.
    """

    def __init__(
        self,
        metrics_path: str | Path,
        optimizer_steps_per_step: int,
        total_steps: int,
        validate: Callable[[], float] | None = None,
        test_freq: int = 0,
        val_before_train: bool = False,
        is_main: bool = True,
        world_size: int = 1,
    ):
        self.metrics_path = Path(metrics_path)
        self.k = optimizer_steps_per_step
        self.total_steps = total_steps
        self.validate = validate
        self.test_freq = test_freq
        self.val_before_train = val_before_train
        self.is_main = is_main
        self.world_size = world_size
        self._t0 = time.perf_counter()
        self._step_time: float | None = None
        self._pending: dict[str, float] = {}
        self._tokens_seen = 0
        self._last_logged = -1
        self._bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        step = state.global_step // self.k
        self._tokens_seen = state.num_input_tokens_seen or 0
        if self.is_main:
            self._bar = tqdm(total=self.total_steps, initial=step, desc="GRPO", unit="step", dynamic_ncols=True)
        if self.validate is not None and self.val_before_train and step == 0:
            self._run_validation()
            self._emit({"step": 0, **self._pending})
            self._pending = {}

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.k == 0:
            self._t0 = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.k:
            return
        self._step_time = time.perf_counter() - self._t0
        step = state.global_step // self.k
        due = step >= self.total_steps or (self.test_freq > 0 and step % self.test_freq == 0)
        if self.validate is not None and due:
            self._run_validation()

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs is None or "loss" not in logs or state.global_step % self.k or state.global_step == self._last_logged:
            return
        self._last_logged = state.global_step
        renamed = to_verl_metrics(logs)
        tokens = renamed.pop("num_tokens", None)
        if self._step_time:
            renamed["timing_s/step"] = self._step_time
            if tokens is not None:
                renamed["perf/throughput"] = (tokens - self._tokens_seen) / self._step_time / self.world_size
        if tokens is not None:
            self._tokens_seen = tokens
        renamed.update(self._pending)
        self._pending = {}
        logs.clear()  # reporters (tensorboard/wandb) run after this callback and see the verl names too
        logs.update(renamed)
        self._emit({"step": state.global_step // self.k, **renamed})

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _run_validation(self) -> None:
        start = time.perf_counter()
        accuracy = self.validate() if self.validate is not None else float("nan")
        self._pending.update({"val/accuracy": accuracy, "timing_s/testing": time.perf_counter() - start})

    def _emit(self, record: dict[str, Any]) -> None:
        if not self.is_main:
            return
        append_jsonl(self.metrics_path, record)
        if self._bar is not None:
            self._bar.update(max(record["step"] - self._bar.n, 0))
            self._bar.write(console_line(record, self.total_steps))
