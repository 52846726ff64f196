"""GRPO training with LoRA on TRL's GRPOTrainer, configured with verl's keys: the entry point and the lifecycle.

    deepscaler-grpo train --print-config                       # the resolved config, then exit
    deepscaler-grpo train data.train_files=data/deepscaler/train.parquet trainer.total_training_steps=50
    deepscaler-grpo train --config my.yaml trainer.default_local_dir=runs/exp1
    accelerate launch --multi_gpu --num_processes 8 -m deepscaler_grpo.training trainer.n_gpus_per_node=8 ...
    torchrun --nproc_per_node 2 -m deepscaler_grpo.training trainer.n_gpus_per_node=2 ...   # no CUDA: 2 CPU processes

    from deepscaler_grpo.training import run_training
    run_training(cfg, reward_funcs=[Reward("digits", my_fn, 1.0)], callbacks=[MyCallback()])

One run, in order (:func:`run_training`):

1. :func:`setup`: library versions (``compat.check_versions``), the launch and process group
   (``distributed``), the rollout engine, the tokenizer, data and context checks (``inputs``), then where the run
   stands (``state.decide``: fresh, resume from step N in stage S, or finished); only then the run directory.
2. :func:`train`: ``schedule.run_stages`` builds one trainer per length-schedule stage (``trainer.build_trainer``:
   the verl -> TRL mapping of ``mapping``, the rewards of ``rewards``) with the progress callback of ``metrics``
   and validation (``validation``); TRL's loop runs, checkpoints are published as it goes (``checkpoints``).
3. :func:`cleanup`: end-of-run notes, the vLLM engine, the verifier's worker pool, the process group.

Exit status: 0 done (also: the run was already complete), 2 bad config / inputs (one line, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from deepscaler_grpo.config import Config, config_to_yaml, load_config
from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.problems import Problem
from deepscaler_grpo.training.checkpoints import METRICS_FILE
from deepscaler_grpo.training.state import RunState

if TYPE_CHECKING:
    from deepscaler_grpo.training.rewards import Reward, RewardFunc


@dataclass
class Run:
    """Everything :func:`setup` resolved for :func:`train`."""

    cfg: Config
    process: Any  # accelerate.PartialState
    tokenizer: Any
    train_ds: Any
    val_problems: list[Problem]
    state: RunState
    use_vllm: bool
    cuda: bool
    reward_funcs: Sequence[Reward | RewardFunc] | None = None
    callbacks: Sequence[TrainerCallback] = field(default_factory=tuple)
    rollout_engine: Any = None  # vLLM: the engine the previous length-schedule stage's trainer ran (reused)


def check_before_loading(cfg: Config, reward_funcs: Sequence[Any] | None = None) -> None:
    """What can be checked in milliseconds, before any process group, tokenizer or model: the run directory (a
    folder we may write, new or ours), what TRL can do with the config, the reward names and a custom reward
    file, the loggers' packages."""
    from deepscaler_grpo.outputs import check_output_dir
    from deepscaler_grpo.training.inputs import check_loggers
    from deepscaler_grpo.training.mapping import check_trl_support
    from deepscaler_grpo.training.rewards import check_reward_names
    from deepscaler_grpo.training.state import check_run_dir

    check_run_dir(check_output_dir(cfg.trainer.default_local_dir, "trainer.default_local_dir"))
    check_trl_support(cfg)
    if reward_funcs is None:
        check_reward_names(cfg)
    check_loggers(cfg)


def setup(cfg: Config, reward_funcs: Sequence[Any] | None = None, callbacks: Sequence[Any] = ()) -> Run | None:
    """Check and load every input, decide where the run stands, then create the run dir; None when it is complete."""
    import torch

    from deepscaler_grpo import compat
    from deepscaler_grpo.console import quiet_library_bars
    from deepscaler_grpo.generation.vllm import vllm_installed
    from deepscaler_grpo.models import load_tokenizer
    from deepscaler_grpo.training import inputs
    from deepscaler_grpo.training.distributed import check_same_resume, cpu_note, process_state
    from deepscaler_grpo.training.state import decide, prepare_run_dir

    compat.check_versions()
    check_before_loading(cfg, reward_funcs)
    quiet_library_bars()
    cuda = torch.cuda.is_available()
    process = process_state(cuda)
    inputs.check_world_size(cfg, process.num_processes)
    use_vllm, note = inputs.resolve_rollout(cfg.actor_rollout_ref.rollout.name, vllm_installed())
    for line in (cpu_note(process, cuda), note):
        if line and process.is_main_process:
            print(f"note: {line}", file=sys.stderr)
    if not cuda and process.num_processes == 1:
        from deepscaler_grpo.threads import apply_cpu_threads

        apply_cpu_threads(cfg.trainer.cpu_threads)
    device = inputs.check_vllm_rollout(cfg) if use_vllm else None
    if device and process.is_main_process:
        print(f"rollouts: vLLM on {device}, LoRA adapter synced each step")
    model = cfg.actor_rollout_ref.model
    tokenizer = load_tokenizer(model.path, trust_remote_code=model.trust_remote_code)
    inputs.check_context_length(cfg)
    inputs.check_target_modules(cfg)
    train_ds = inputs.load_train_dataset(cfg, tokenizer, verbose=process.is_main_process)
    val_problems = inputs.load_val_problems(cfg)
    state = decide(cfg, inputs.resolve_total_steps(cfg, len(train_ds)))
    check_same_resume(process, state.checkpoint)
    if process.is_main_process:
        print(state.describe())
    if state.kind == "finished":
        return None
    if process.is_main_process:
        prepare_run_dir(cfg, state)
    process.wait_for_everyone()
    return Run(cfg, process, tokenizer, train_ds, val_problems, state, use_vllm, cuda, reward_funcs, tuple(callbacks))


def train(run: Run) -> Any:
    """TRL's GRPO loop on the prepared inputs, stage by stage with trainer.length_schedule; returns the last trainer."""
    from deepscaler_grpo.training.schedule import run_stages

    return run_stages(run, train_stage)


def train_stage(run: Run, stage_cfg: Config, extra_callbacks: list[Any], row_fields: dict[str, Any]) -> Any:
    """One trainer over one stage's config (``row_fields`` go into every metrics row), trained from ``run.state``."""
    from deepscaler_grpo.training.metrics import VerlProgressCallback
    from deepscaler_grpo.training.rewards import build_rewards
    from deepscaler_grpo.training.trainer import build_trainer
    from deepscaler_grpo.training.validation import make_validator

    trainer = build_trainer(
        stage_cfg, world_size=run.process.num_processes, total_steps=run.state.total_steps, cuda=run.cuda,
        use_vllm=run.use_vllm, train_dataset=run.train_ds, tokenizer=run.tokenizer,
        rewards=build_rewards(stage_cfg, run.reward_funcs), row_fields=row_fields,
        engine_response_length=run.cfg.data.max_response_length, rollout_engine=run.rollout_engine,
    )
    validate = make_validator(trainer, run.tokenizer, run.val_problems, stage_cfg) if run.val_problems else None
    t = run.cfg.trainer
    progress = VerlProgressCallback(trainer, Path(t.default_local_dir) / METRICS_FILE, run.state.total_steps,
                                    validate=validate, test_freq=t.test_freq, val_before_train=t.val_before_train,
                                    no_signal_steps=t.no_signal_warn_steps,
                                    stage_end=run.state.stage.end if t.length_schedule else None)
    record = [RecordResumeCallback(run.cfg, run.state)] if run.state.kind == "resume" and run.process.is_main_process else []
    install_callbacks(trainer, [*extra_callbacks, *record, *run.callbacks, progress])
    trainer.train(resume_from_checkpoint=str(run.state.checkpoint) if run.state.checkpoint else None)
    return trainer


def cleanup(run: Run, trainer: Any) -> None:
    """End-of-run notes (main process), the vLLM engine and the reward's symbolic worker pool."""
    from deepscaler_grpo import compat
    from deepscaler_grpo.reward import shutdown
    from deepscaler_grpo.training.metrics import VerlProgressCallback

    if run.process.is_main_process:
        for callback in compat.trainer_callbacks(trainer):
            if isinstance(callback, VerlProgressCallback):
                callback.final_notes()
        print(end_line(run.cfg), flush=True)
    trainer.close_rollout_engine()
    shutdown()


def end_line(cfg: Config) -> str:
    """What the run left and what to do with it: the last checkpoint's adapter, then plot and eval commands."""
    from deepscaler_grpo.training.checkpoints import ADAPTER_DIR, checkpoint_step, latest_complete_checkpoint

    run_dir = Path(cfg.trainer.default_local_dir)
    last = latest_complete_checkpoint(run_dir)
    if last is None:  # save_freq never came round: the weights are in no checkpoint
        return (f"done: no checkpoint was saved in {run_dir} (trainer.save_freq={cfg.trainer.save_freq}); "
                f"curves: deepscaler-grpo plot {run_dir}")
    adapter = last / ADAPTER_DIR
    benchmarks = f"val={cfg.data.val_files}" if cfg.data.val_files else "aime24,amc,math500"
    return (f"done: step {checkpoint_step(last)}, adapter {adapter}\n"
            f"  curves:   deepscaler-grpo plot {run_dir}\n"
            f"  evaluate: deepscaler-grpo eval --model {cfg.actor_rollout_ref.model.path} --adapter {adapter} "
            f"--benchmarks {benchmarks}")


def run_training(
    cfg: Config, reward_funcs: Sequence[Reward | RewardFunc] | None = None, callbacks: Sequence[TrainerCallback] = ()
) -> Path:
    """Train per ``cfg`` (setup -> train -> cleanup); returns the run directory.

    ``reward_funcs``: the rewards to train on instead of ``reward.functions`` (``training.rewards.Reward`` or plain
    TRL reward functions, weight 1). ``callbacks``: extra ``transformers.TrainerCallback``s (one with an
    ``on_trainer_built(trainer)`` method is handed each stage's trainer before training). Raises UserError
    subclasses (TrainError, ConfigError, ModelLoadError, ...) for fixable input problems.
    """
    from deepscaler_grpo import compat
    from deepscaler_grpo.training.distributed import leave_process_group

    compat.silence_upstream_deprecations()
    run = setup(cfg, reward_funcs, callbacks)
    if run is not None:
        cleanup(run, train(run))
    leave_process_group()
    return Path(cfg.trainer.default_local_dir)


def install_callbacks(trainer: Any, callbacks: list[Any]) -> None:
    """Ours run first, in order (the stage callback marks an auto-advance before the row is written); HF's own log
    printer and progress bar are removed (our progress callback prints). A callback with an ``on_trainer_built``
    method gets the trainer first (one per length-schedule stage)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    for callback in reversed(callbacks):
        if hasattr(callback, "on_trainer_built"):
            callback.on_trainer_built(trainer)
        trainer.callback_handler.callbacks.insert(0, callback)


class RecordResumeCallback(TrainerCallback):
    """Rewrites a resumed run's ``config.yaml`` (and cuts ``metrics.jsonl`` to the kept steps) only once the
    checkpoint has loaded: a resume that fails never leaves the run directory describing a run it is not."""

    def __init__(self, cfg: Config, state: RunState):
        self.cfg = cfg
        self.state = state

    def on_train_begin(self, args: Any, train_state: Any, control: Any, **kwargs: Any) -> None:
        from deepscaler_grpo.training.state import record_resumed_run

        record_resumed_run(self.cfg, self.state)


# ------------------------------------------------------------------------------------------------------ CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo train",
        description="GRPO + LoRA training with verl-style key=value overrides (see --print-config for every key).",
    )
    parser.add_argument("--config", help="YAML file with config overrides (same layout as --print-config)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    parser.add_argument("--check-only", action="store_true",
                        help="check the config, rewards and run directory (milliseconds, no model) and exit; the run "
                        "script does this once before it starts several processes")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. data.train_batch_size=64")
    return parser


def where_it_stands(cfg: Config) -> str:
    """After an interruption: the last step logged, the checkpoint a rerun resumes from, and how."""
    from deepscaler_grpo.io import read_jsonl
    from deepscaler_grpo.training.checkpoints import latest_complete_checkpoint

    run_dir = Path(cfg.trainer.default_local_dir)
    steps = [int(row["step"]) for row in read_jsonl(run_dir / METRICS_FILE) if isinstance(row.get("step"), int)]
    after = f"after step {max(steps)}" if steps else "before the first step finished"
    checkpoint = latest_complete_checkpoint(run_dir) if run_dir.is_dir() else None
    if checkpoint is None:
        return f"{after}, no checkpoint yet; rerun the same command to start over"
    return f"{after}; rerun the same command to resume from {checkpoint}"


def main(argv: list[str] | None = None) -> int:
    from deepscaler_grpo.errors import Interrupted, raise_on_sigterm, report_interrupt

    args = build_parser().parse_args(argv)
    cfg = None
    try:
        raise_on_sigterm()
        cfg = load_config(args.overrides, args.config)
        if args.print_config:
            print(config_to_yaml(cfg), end="")
            return EXIT_OK
        check_before_loading(cfg)
        if args.check_only:
            return EXIT_OK
        os.environ.setdefault("WANDB_PROJECT", cfg.trainer.project_name)
        run_training(cfg)
    except UserError as exc:
        return report_error("train", exc)
    except (KeyboardInterrupt, Interrupted) as exc:
        signal = "SIGTERM" if isinstance(exc, Interrupted) else "Ctrl-C"
        return report_interrupt("train", f"{signal} {where_it_stands(cfg)}" if cfg is not None else signal)
    except OSError as exc:  # a full disk or a run directory removed mid-run: the fix, and where the run stands
        from deepscaler_grpo.outputs import is_filesystem_error, os_error_message

        if cfg is None or not is_filesystem_error(exc):
            raise
        message = os_error_message(exc, Path(cfg.trainer.default_local_dir), "trainer.default_local_dir")
        return report_error("train", f"{message}; {where_it_stands(cfg)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
