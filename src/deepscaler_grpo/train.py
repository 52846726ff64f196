"""GRPO training with LoRA on TRL's GRPOTrainer, configured with verl's keys (see deepscaler_grpo.config).

    deepscaler-grpo train --print-config                       # the resolved config, then exit
    deepscaler-grpo train data.train_files=data/deepscaler/train.parquet trainer.total_training_steps=50
    deepscaler-grpo train --config my.yaml trainer.default_local_dir=runs/exp1
    accelerate launch --num_processes 8 -m deepscaler_grpo.train trainer.n_gpus_per_node=8 ...

One training step is verl's: ``data.train_batch_size`` prompts x ``rollout.n`` responses, then
``ppo_epochs x train_batch_size / ppo_mini_batch_size`` optimizer steps. :func:`grpo_kwargs` is the single
place where verl's settings become TRL's (read its docstring for the mapping and the known deviations).

The run directory (``trainer.default_local_dir``) holds ``config.yaml``, ``metrics.jsonl`` and
``global_step_N/`` checkpoints (``adapter/``, optimizer, scheduler, RNG, trainer state) plus
``latest_checkpointed_iteration.txt``; ``trainer.resume_mode=auto`` continues from the newest complete one.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.config import Config, ConfigError, config_to_yaml, load_config
from deepscaler_grpo.mapping import lora_config, optimizer_steps_per_step, to_grpo_config

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase, TrainerCallback


class TrainError(RuntimeError):
    """A problem with the run's inputs or environment that the user can fix; the message says how."""


# --------------------------------------------------------------------------------------------------- inputs


def resolve_rollout(name: str, cuda: bool, vllm_installed: bool) -> tuple[bool, str | None]:
    """(use_vllm, message): vLLM when asked for and usable, else HF generation with a message saying why."""
    if name != "vllm":
        return False, None
    if not vllm_installed:
        return False, (
            "actor_rollout_ref.rollout.name=vllm but vllm is not installed; generating with transformers instead "
            "(much slower). Install it with `pip install -e .[vllm]`, or pass actor_rollout_ref.rollout.name=hf."
        )
    if not cuda:
        return False, "no GPU found: vLLM needs CUDA, generating with transformers on CPU (actor_rollout_ref.rollout.name=hf)"
    return True, None


def check_world_size(cfg: Config, num_processes: int) -> None:
    """The launcher's process count must match trainer.n_gpus_per_node x trainer.nnodes."""
    if num_processes != cfg.trainer.world_size:
        raise TrainError(
            f"trainer.n_gpus_per_node x trainer.nnodes = {cfg.trainer.world_size} processes expected, but this run "
            f"has {num_processes}. Launch with ./run_deepscaler_qwen3_4b_instruct_grpo.sh (or `accelerate launch "
            f"--num_processes {cfg.trainer.world_size} -m deepscaler_grpo.train ...`), or set "
            f"trainer.n_gpus_per_node={num_processes} trainer.nnodes=1."
        )


def load_tokenizer(path: str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left", trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise TrainError(
            f"cannot load the tokenizer of actor_rollout_ref.model.path={path}: {exc}. Pass a local model folder or "
            "a Hub name that is reachable (HF_HUB_OFFLINE=1 needs it cached)."
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def read_parquet_rows(
    path: str, key: str, columns: tuple[str, ...] = ("prompt", "answer"), max_samples: int = -1
) -> list[dict[str, Any]]:
    """Rows of a parquet file as dicts; fails clearly on a missing file or missing columns."""
    import pyarrow.parquet as pq

    if not Path(path).is_file():
        skip = " (or data.val_files=null to train without validation)" if key == "data.val_files" else ""
        raise TrainError(
            f"{key}={path} not found; create it with `deepscaler-grpo prepare --output-dir data/deepscaler` "
            f"or pass {key}=PATH.parquet{skip}"
        )
    table = pq.read_table(path)
    missing = [col for col in columns if col not in table.column_names]
    if missing:
        raise TrainError(f"{path} lacks column(s) {missing}; expected the parquet written by `deepscaler-grpo prepare`")
    if max_samples > 0:
        table = table.slice(0, max_samples)
    return table.to_pylist()


def prompt_lengths(tokenizer: PreTrainedTokenizerBase, prompts: list[Any]) -> list[int]:
    """Token counts of the prompts (chat messages get the chat template), as TRL will feed them to generation."""
    template = tokenizer.apply_chat_template
    texts = [p if isinstance(p, str) else template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def load_train_dataset(cfg: Config, tokenizer: PreTrainedTokenizerBase) -> Dataset:
    """The training prompts as a datasets.Dataset; prompts over data.max_prompt_length are filtered or rejected."""
    from datasets import Dataset

    data = cfg.data
    rows = read_parquet_rows(data.train_files, "data.train_files", (data.prompt_key, "answer"), data.train_max_samples)
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
        print(f"dropped {len(too_long)} of {len(rows)} prompts longer than data.max_prompt_length={data.max_prompt_length}")
        keep = set(range(len(rows))) - set(too_long)
        rows = [row for i, row in enumerate(rows) if i in keep]
    if len(rows) < data.train_batch_size:
        raise TrainError(
            f"only {len(rows)} usable training prompts but data.train_batch_size={data.train_batch_size}; "
            "use a bigger data.train_files or a smaller data.train_batch_size"
        )
    return Dataset.from_list(rows)


def load_val_rows(cfg: Config) -> list[dict[str, Any]]:
    """Validation rows for evaluate_model: chat ``prompt`` and the full ground truth as ``answer``."""
    if not cfg.data.val_files:
        return []
    rows = read_parquet_rows(cfg.data.val_files, "data.val_files", (cfg.data.prompt_key, "answer"), cfg.data.val_max_samples)
    out = []
    for row in rows:
        truth = (row.get("reward_model") or {}).get("ground_truth")
        out.append({**row, "prompt": row[cfg.data.prompt_key], "answer": truth if truth is not None else row["answer"]})
    return out


def resolve_total_steps(cfg: Config, num_prompts: int) -> int:
    """trainer.total_training_steps, or total_epochs full batches over the (filtered) train set."""
    if cfg.trainer.total_training_steps is not None:
        return cfg.trainer.total_training_steps
    return cfg.trainer.total_epochs * (num_prompts // cfg.data.train_batch_size)


def find_resume_checkpoint(cfg: Config) -> Path | None:
    """The checkpoint to resume from per trainer.resume_mode (auto: newest complete one, if any)."""
    from deepscaler_grpo.trl_ext import is_complete_checkpoint, latest_complete_checkpoint

    mode = cfg.trainer.resume_mode
    if mode == "disable":
        return None
    if mode == "resume_path":
        path = Path(cfg.trainer.resume_from_path or "")
        if not is_complete_checkpoint(path):
            raise TrainError(
                f"trainer.resume_from_path={path} is not a complete checkpoint (needs adapter/, optimizer.pt, "
                "scheduler.pt, trainer_state.json); point it at RUN_DIR/global_step_N"
            )
        return path
    return latest_complete_checkpoint(cfg.trainer.default_local_dir)


# ------------------------------------------------------------------------------------------------ validation


def make_validator(trainer: Any, tokenizer: PreTrainedTokenizerBase, rows: list[dict[str, Any]], cfg: Config) -> Any:
    """A no-argument function returning val/accuracy (pass@1 of evaluate_model), sharded over processes."""

    def validate() -> float:
        import torch
        from accelerate.utils import gather_object

        from deepscaler_grpo.evaluate import evaluate_model

        acc = trainer.accelerator
        shard = rows[acc.process_index :: acc.num_processes]
        model = acc.unwrap_model(trainer.model)
        was_training = model.training
        model.eval()
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        try:  # fork_rng: validation sampling/seeding must not shift the training RNG stream
            with torch.no_grad(), torch.random.fork_rng(devices=devices):
                summary = _evaluate_shard(evaluate_model, model, tokenizer, shard, cfg, acc.is_main_process)
        finally:
            model.train(was_training)
        mine = [(summary["pass@1"], len(shard))]
        parts = gather_object(mine) if acc.num_processes > 1 else mine
        total = sum(count for _, count in parts)
        return sum(score * count for score, count in parts) / total if total else float("nan")

    return validate


def _evaluate_shard(evaluate_model: Any, model: Any, tokenizer: Any, shard: list, cfg: Config, progress: bool) -> dict:
    if not shard:
        return {"pass@1": 0.0}
    vk = cfg.actor_rollout_ref.rollout.val_kwargs
    result = evaluate_model(
        model,
        tokenizer,
        shard,
        n=vk.n,
        temperature=vk.temperature if vk.do_sample else 0.0,
        top_p=vk.top_p,
        max_tokens=cfg.data.max_response_length,
        batch_size=cfg.data.val_batch_size,
        seed=cfg.trainer.seed,
        progress=progress,
    )
    return result.summary


# ------------------------------------------------------------------------------------------------------ run


def build_callbacks(cfg: Config, trainer: Any, validate: Any, total_steps: int) -> list[TrainerCallback]:
    """The callbacks added to the trainer (tests extend this to simulate crashes)."""
    from deepscaler_grpo.trl_ext import VerlProgressCallback

    return [
        VerlProgressCallback(
            Path(cfg.trainer.default_local_dir) / "metrics.jsonl",
            optimizer_steps_per_step(cfg),
            total_steps,
            validate=validate,
            test_freq=cfg.trainer.test_freq,
            val_before_train=cfg.trainer.val_before_train,
            is_main=trainer.accelerator.is_main_process,
            world_size=trainer.accelerator.num_processes,
        )
    ]


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
        raise TrainError(
            f"cannot resume {saved_config.parent} with different batch settings ({'; '.join(changed)}); keep them, "
            "or start over with trainer.resume_mode=disable or a new trainer.default_local_dir"
        )


def prepare_run_dir(cfg: Config, resume: Path | None) -> None:
    """Create the run dir, save the resolved config, drop crash leftovers and metrics of steps to be redone."""
    from deepscaler_grpo.trl_ext import atomic_write_text, checkpoint_step, remove_incomplete_checkpoints, truncate_metrics

    run_dir = Path(cfg.trainer.default_local_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", config_to_yaml(cfg))
    remove_incomplete_checkpoints(run_dir)
    # keep metrics up to the resumed step (all of them are redone on a fresh start)
    truncate_metrics(run_dir / "metrics.jsonl", (checkpoint_step(resume) or 0) if resume else -1)


def run_training(cfg: Config) -> Path:
    """Train per ``cfg``; returns the run directory. Raises TrainError for fixable input problems."""
    import torch
    from accelerate import PartialState

    from deepscaler_grpo.reward import make_reward_funcs
    from deepscaler_grpo.trl_ext import DeepscalerGRPOTrainer

    # TRL 1.16 still calls transformers' gradient_checkpointing* names, deprecated in 5.x: one warning per call.
    warnings.filterwarnings("ignore", message=".*deprecated.*checkpointing", category=FutureWarning)
    warnings.filterwarnings("ignore", message="'pin_memory' argument is set as true", category=UserWarning)
    state = PartialState()
    check_world_size(cfg, state.num_processes)
    cuda = torch.cuda.is_available()
    use_vllm, note = resolve_rollout(cfg.actor_rollout_ref.rollout.name, cuda, importlib.util.find_spec("vllm") is not None)
    if note and state.is_main_process:
        print(f"note: {note}", file=sys.stderr)
    resume = find_resume_checkpoint(cfg)
    if resume is not None:
        check_resume_geometry(cfg, resume.parent / "config.yaml")
    if state.is_main_process:
        prepare_run_dir(cfg, resume)
        print(f"{'resuming from ' + str(resume) if resume else 'starting a fresh run'} in {cfg.trainer.default_local_dir}")
    state.wait_for_everyone()
    tokenizer = load_tokenizer(cfg.actor_rollout_ref.model.path, cfg.actor_rollout_ref.model.trust_remote_code)
    train_ds = load_train_dataset(cfg, tokenizer)
    val_rows = load_val_rows(cfg)
    total_steps = resolve_total_steps(cfg, len(train_ds))
    reward = cfg.reward
    reward_kwargs = {"timeout_s": reward.timeout_s} if reward.timeout_s is not None else {}
    reward_funcs, reward_weights = make_reward_funcs(reward.format_weight, reward.boxed_fallback, **reward_kwargs)
    args = to_grpo_config(cfg, state.num_processes, total_steps=total_steps, cuda=cuda, use_vllm=use_vllm)
    args.reward_weights = list(reward_weights)
    trainer = DeepscalerGRPOTrainer(
        model=cfg.actor_rollout_ref.model.path,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_ds,
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        optimizer_steps_per_step=optimizer_steps_per_step(cfg),
        max_ckpt_to_keep=cfg.trainer.max_actor_ckpt_to_keep,
    )
    _install_callbacks(trainer, build_callbacks(cfg, trainer, make_validator(trainer, tokenizer, val_rows, cfg) if val_rows else None, total_steps))
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    return Path(cfg.trainer.default_local_dir)


def _install_callbacks(trainer: Any, callbacks: list[TrainerCallback]) -> None:
    """Our callbacks run first (so reporters see verl names); HF's own log printer is removed."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    for callback in reversed(callbacks):
        trainer.callback_handler.callbacks.insert(0, callback)


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
    except ConfigError as exc:
        print(f"deepscaler-grpo train: config error: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(config_to_yaml(cfg), end="")
        return 0
    os.environ.setdefault("WANDB_PROJECT", cfg.trainer.project_name)
    try:
        run_training(cfg)
    except (TrainError, ConfigError) as exc:
        print(f"deepscaler-grpo train: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
