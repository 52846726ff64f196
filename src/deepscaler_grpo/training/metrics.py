"""A training step's metrics: verl's names, per-phase timing, one row per step in ``metrics.jsonl`` and one line on
the console.

* :class:`StepMetricsMixin` (mixed over the trainer) owns the step's record: its ``log`` override takes TRL's
  averaged metrics, renames them to verl's names (:data:`VERL_METRIC_NAMES`), adds the stage fields, the phase
  timings and anything recorded during the step (validation), and passes that one row on to every callback and
  reporter (tensorboard/wandb see the same names as ``metrics.jsonl``).
* :class:`PhaseTimer` times the phases of a step with verl's names, each second counted once (a phase inside
  another is not counted twice): ``timing_s/gen`` (generation, minus the sync), ``weight_sync``, ``reward``,
  ``old_log_prob`` (the policy's log-probs without gradients: TRL's old log-probs and the mismatch metric's),
  ``ref`` (the reference policy), ``update_actor`` (forward/backward and optimizer steps), ``testing``
  (validation) and ``save_checkpoint``; ``timing_s/step`` is the wall time since the previous row, so the phases
  add up to it (a checkpoint saved after step N's row is in step N+1's). Tokens per second of generation and of
  the update are ``perf/gen_tokens_per_s`` and ``perf/update_tokens_per_s``.
* :class:`VerlProgressCallback` runs validation when due (:func:`validation_due`: every ``test_freq`` steps, at the
  end, and at each length-schedule stage boundary), writes the rows and prints a progress bar plus one
  compact line per step (with the generation / training share of the step).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from deepscaler_grpo import compat
from deepscaler_grpo.console import interactive
from deepscaler_grpo.io import append_jsonl

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
PHASES = ("gen", "weight_sync", "reward", "old_log_prob", "ref", "update_actor", "testing", "save_checkpoint")
GENERATION_PHASES = ("gen", "weight_sync", "reward", "old_log_prob", "ref")


def to_verl_metrics(logs: Mapping[str, Any], names: Mapping[str, str] = VERL_METRIC_NAMES) -> dict[str, Any]:
    """Rename TRL's logged keys to verl's where one exists; keep the rest."""
    return {names.get(key, key): value for key, value in logs.items()}


# ------------------------------------------------------------------------------------------------------ timing


class PhaseTimer:
    """Exclusive wall time per phase: entering a phase pauses the one it is nested in."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self.seconds: dict[str, float] = defaultdict(float)
        self.tokens: dict[str, float] = defaultdict(float)
        self._stack: list[list[Any]] = []  # [name, started]
        self._row_started = clock()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.start(name)
        try:
            yield
        finally:
            self.stop(name)

    def start(self, name: str) -> None:
        now = self.clock()
        if self._stack:
            outer = self._stack[-1]
            self.seconds[outer[0]] += now - outer[1]
        self._stack.append([name, now])

    def stop(self, name: str) -> None:
        if not self._stack or self._stack[-1][0] != name:
            return  # a phase whose start was missed (e.g. an optimizer step before the first step began)
        now = self.clock()
        self.seconds[name] += now - self._stack.pop()[1]
        if self._stack:
            self._stack[-1][1] = now

    def add_tokens(self, phase: str, count: float) -> None:
        self.tokens[phase] += count

    def take_row(self) -> dict[str, float]:
        """``timing_s/*`` (every phase, 0 when it did not run) and ``perf/*`` since the last row; starts the next."""
        now = self.clock()
        row = {f"timing_s/{name}": self.seconds.get(name, 0.0) for name in PHASES}
        row["timing_s/step"] = now - self._row_started
        for phase, key in (("gen", "perf/gen_tokens_per_s"), ("update_actor", "perf/update_tokens_per_s")):
            if self.tokens.get(phase) and self.seconds.get(phase):
                row[key] = self.tokens[phase] / self.seconds[phase]
        self.seconds.clear()
        self.tokens.clear()
        self._row_started = now
        return row

    def reset_row(self) -> None:
        """Start the next row's clock now (at train begin: setup time is not a step's)."""
        self.seconds.clear()
        self.tokens.clear()
        self._row_started = self.clock()


class StepMetricsMixin:
    """Mixed over ``trl.GRPOTrainer``: times the phases of each step and turns each step's log into one verl row."""

    def __init__(self, *args: Any, optimizer_steps_per_step: int = 1, row_fields: Mapping[str, Any] | None = None,
                 **kwargs: Any):
        self.optimizer_steps_per_step = optimizer_steps_per_step
        self.row_fields = dict(row_fields or {})  # e.g. stage/*: in every row of this trainer
        self.phase_timer = PhaseTimer()
        self.pending: dict[str, Any] = {}  # recorded during the step (validation), added to its row
        self.tokens_seen = 0  # TRL's num_tokens at the previous row (set at train begin on a resume)
        super().__init__(*args, **kwargs)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self.model.training and "loss" in logs:
            row = to_verl_metrics({**logs, **compat.pop_trainer_metrics(self)})
            row.update({**self.row_fields, **self.phase_timer.take_row(), **self.pending})
            self.pending = {}
            tokens = row.pop("num_tokens", None)
            if tokens is not None and row["timing_s/step"] > 0:  # verl's perf/throughput: tokens/s per process
                row["perf/throughput"] = (tokens - self.tokens_seen) / row["timing_s/step"] / self.accelerator.num_processes
                self.tokens_seen = tokens
            logs = row
        super().log(logs, start_time)

    # -- phases (TRL's own methods, timed)
    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        with self.phase_timer.phase("gen"):
            return super()._generate(*args, **kwargs)

    def _calculate_rewards(self, *args: Any, **kwargs: Any) -> Any:
        with self.phase_timer.phase("reward"):
            return super()._calculate_rewards(*args, **kwargs)

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any) -> Any:
        import torch

        if torch.is_grad_enabled():  # the loss's own forward: part of update_actor
            return super()._get_per_token_logps_and_entropies(*args, **kwargs)
        with self.phase_timer.phase("ref" if self._reference_pass(args[0] if args else kwargs.get("model")) else "old_log_prob"):
            return super()._get_per_token_logps_and_entropies(*args, **kwargs)

    def _reference_pass(self, model: Any) -> bool:
        """True for the reference policy: a separate ref model, or the policy with its LoRA adapter disabled."""
        if model is not None and model is getattr(self, "ref_model", None):
            return True
        layer = next((m for m in self.accelerator.unwrap_model(self.model).modules() if hasattr(m, "disable_adapters")
                      and hasattr(m, "lora_A")), None)
        return bool(layer is not None and layer.disable_adapters)

    def _generate_and_score_completions(self, inputs: Any) -> Any:
        output = super()._generate_and_score_completions(inputs)
        if self.model.training and "completion_mask" in output:
            generated = float(output["completion_mask"].sum())
            self.phase_timer.add_tokens("gen", generated)
            # every token of the batch goes through forward + backward once per PPO epoch
            seen = generated + float(output["prompt_mask"].sum()) if "prompt_mask" in output else generated
            self.phase_timer.add_tokens("update_actor", seen * self.args.num_iterations)
        return output

    def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        with self.phase_timer.phase("update_actor"):
            return super().training_step(model, inputs, *args, **kwargs)


# ------------------------------------------------------------------------------------------------- console


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
    if parts[-1].startswith("val/acc") and isinstance(record.get("val/accuracy_ci_low"), (int, float)):
        parts[-1] += f" [{record['val/accuracy_ci_low']:.3f}, {record['val/accuracy_ci_high']:.3f}]"
    share = generation_share(record)
    if share is not None:
        parts.insert(-1 if "val/accuracy" in record else len(parts), f"gen {100 * share:.0f}%")
    return " | ".join(parts)


def generation_share(record: Mapping[str, Any]) -> float | None:
    """The part of the step spent producing and scoring rollouts (generation, sync, reward, log-probs)."""
    step = record.get("timing_s/step")
    if not isinstance(step, (int, float)) or step <= 0 or "timing_s/gen" not in record:
        return None
    return min(sum(float(record.get(f"timing_s/{p}", 0.0)) for p in GENERATION_PHASES) / step, 1.0)


# ------------------------------------------------------------------------------------------------ callback


class VerlProgressCallback(TrainerCallback):
    """Per training step (= ``optimizer_steps_per_step`` optimizer steps): validation when due, the row in
    ``metrics.jsonl`` and the console. ``validate`` runs on every process (it may shard the validation set) and
    returns the accuracy; only the main process writes and prints."""

    def __init__(
        self,
        trainer: Any,
        metrics_path: str | Path,
        total_steps: int,
        validate: Callable[[], Mapping[str, float]] | None = None,
        test_freq: int = 0,
        val_before_train: bool = False,
        no_signal_steps: int = 5,
        stage_end: int | None = None,
    ):
        self.trainer = trainer
        self.metrics_path = Path(metrics_path)
        self.steps_per = trainer.optimizer_steps_per_step
        self.total_steps = total_steps
        self.validate = validate
        self.test_freq = test_freq
        self.val_before_train = val_before_train
        self.stage_end = stage_end  # a length-schedule stage's last step: validated, so each stage ends measured
        self.is_main = trainer.accelerator.is_main_process
        self._bar: Any = None
        self.signal = NoSignalMonitor(no_signal_steps)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        step = state.global_step // self.steps_per
        if self.is_main and interactive():  # piped or logged: plain step lines, no bar
            self._bar = tqdm_bar(self.total_steps, step)
        if self.validate is not None and self.val_before_train and step == 0:
            self._run_validation()
            self._emit({"step": 0, **self.trainer.row_fields, **self.trainer.pending})
            self.trainer.pending = {}
        self.trainer.tokens_seen = state.num_input_tokens_seen or 0
        self.trainer.phase_timer.reset_row()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.steps_per:
            return
        step = state.global_step // self.steps_per
        if self.validate is not None and validation_due(step, self.total_steps, self.test_freq, self.stage_end):
            self._run_validation()

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.trainer.phase_timer.start("update_actor")

    def on_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.trainer.phase_timer.stop("update_actor")

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs is None or "actor/loss" not in logs or state.global_step % self.steps_per:
            return
        self._emit({"step": state.global_step // self.steps_per, **logs})

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _run_validation(self) -> None:
        with self.trainer.phase_timer.phase("testing"):
            metrics = self.validate() if self.validate is not None else {"val/accuracy": float("nan")}
        self.trainer.pending.update(metrics)

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


def validation_due(step: int, total_steps: int, test_freq: int, stage_end: int | None = None) -> bool:
    """Validate after the last step, every ``test_freq`` steps (0: never in between) and at the end of a
    length-schedule stage."""
    return step >= total_steps or (test_freq > 0 and step % test_freq == 0) or step == stage_end


def tqdm_bar(total: int, initial: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="GRPO", unit="step", dynamic_ncols=True)


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
