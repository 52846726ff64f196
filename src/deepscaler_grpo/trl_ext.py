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

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback
from trl import GRPOTrainer

from deepscaler_grpo.console import interactive
from deepscaler_grpo.io import append_jsonl
from deepscaler_grpo.rundir import ADAPTER_DIR, publish_checkpoint
from deepscaler_grpo.vllm_rollout import VLLMRolloutTrainerMixin

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
    "frac_reward_zero_std": "critic/zero_std_group_frac",
}


# ----------------------------------------------------------------------------------------------------- trainer


class DeepscalerGRPOTrainer(VLLMRolloutTrainerMixin, GRPOTrainer):
    """GRPOTrainer whose checkpoints follow the verl run-dir layout (see module docstring), with adapter-only
    vLLM rollouts and the rollout/trainer probability gap (``deepscaler_grpo.vllm_rollout``)."""

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
        ("training/rollout_probs_diff_mean", "probs_diff {:.1e}"),
        ("actor/lr", "lr {:.1e}"),
        ("timing_s/step", "{:.1f}s"),
        ("val/accuracy", "val/acc {:.3f}"),
    )
    parts += [fmt.format(record[key]) for key, fmt in formats if isinstance(record.get(key), (int, float))]
    return " | ".join(parts)


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
        no_signal_steps: int = 5,
        row_fields: Mapping[str, Any] | None = None,
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
        self.signal = NoSignalMonitor(no_signal_steps)
        self.row_fields = dict(row_fields or {})  # stage/* for the step-0 row (step rows get them from StageCallback)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        step = state.global_step // self.k
        self._tokens_seen = state.num_input_tokens_seen or 0
        if self.is_main and interactive():  # piped or logged: plain step lines, no bar
            self._bar = tqdm(total=self.total_steps, initial=step, desc="GRPO", unit="step", dynamic_ncols=True)
        if self.validate is not None and self.val_before_train and step == 0:
            self._run_validation()
            self._emit({"step": 0, **self.row_fields, **self._pending})
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

    def final_notes(self) -> None:
        """Printed at the end of the run (main process): repeats the no-signal warning when it fired."""
        if self.signal.summary():
            print(f"warning: {self.signal.summary()}", file=sys.stderr, flush=True)

    def _emit(self, record: dict[str, Any]) -> None:
        if not self.is_main:
            return
        append_jsonl(self.metrics_path, record)
        line = console_line(record, self.total_steps)
        if self._bar is not None:
            self._bar.update(max(record["step"] - self._bar.n, 0))
            self._bar.write(line)
        else:
            print(line, flush=True)
        warning = self.signal.observe(record)
        if warning:
            print(f"warning: {warning}", file=sys.stderr, flush=True)


class NoSignalMonitor:
    """Counts steps whose every group had one reward for all its responses: GRPO's advantages are then all
    zero and the step trains nothing (only the KL term moves the weights)."""

    def __init__(self, warn_after: int):
        self.warn_after = warn_after
        self.run = 0  # consecutive steps without signal
        self.total = 0
        self.steps = 0
        self.warned = False

    def observe(self, record: Mapping[str, Any]) -> str | None:
        """Feed one metrics row; returns a warning the step the streak reaches ``warn_after``."""
        frac = record.get("critic/zero_std_group_frac")
        if not isinstance(frac, (int, float)):
            return None
        self.steps += 1
        flat = frac >= 1.0
        self.run = self.run + 1 if flat else 0
        self.total += flat
        if self.warn_after and self.run == self.warn_after:
            self.warned = True
            return (
                f"no gradient signal: for {self.run} steps (up to step {record['step']}) every group's responses all "
                f"got the same reward (score {record.get('critic/score/mean', float('nan')):.3f}), so the policy "
                "loss is zero. Check the data's answers, the reward (format rate) and data.max_response_length, or "
                "raise actor_rollout_ref.rollout.temperature / rollout.n."
            )
        return None

    def summary(self) -> str | None:
        if not self.warned:
            return None
        return (
            f"{self.total} of {self.steps} steps had no gradient signal (the reward was constant within every "
            "group); the adapter may have learned nothing from the reward."
        )
