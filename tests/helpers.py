"""Helpers shared by the test modules (one place; test modules never import each other).

* :func:`write_data` / :func:`tiny_overrides`: a prepared-parquet pair and the overrides of a 2-step tiny run.
* :class:`Spy`: a TrainerCallback recording the model's weights at train begin/end, optionally crashing.
* :func:`digit_share` / :func:`constant_zero`: TRL reward functions for a random tiny model (dense, or no signal).
* :data:`DIGIT_REWARD_FILE`: the same dense reward written as a verl user writes it (``custom_reward_function``).
* :func:`fake_checkpoint`: a checkpoint folder with the files resume looks for.
* :data:`REAL_MODEL_PROBLEMS` / :func:`real_model_overrides`: problems and a 2-step run for SmolLM2-135M-Instruct.
* :func:`subprocess_env` / :func:`run_vllm_train` / :func:`eval_cli`: the training helper script and the eval CLI in
  processes of their own (vLLM engines start there), with this checkout on the path.
* :func:`write_gguf`: a small GGUF file of any architecture (header, metadata, one tensor), for the GGUF error paths.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
RUN_SCRIPT = REPO / "run_deepscaler_qwen3_4b_instruct_grpo.sh"
DIGIT_REWARD_FILE = TESTS / "training" / "rewards" / "digit_reward.py"
VLLM_TRAIN_RUN = TESTS / "training" / "vllm_train_run.py"


def write_data(folder: Path, n_train: int = 8, n_val: int = 2) -> tuple[Path, Path]:
    """``train.parquet`` / ``val.parquet`` of ``i + 3`` problems with chat prompts and answers."""
    rows = [
        {"problem": f"{i} + 3", "prompt": [{"role": "user", "content": f"What is {i} + 3? Answer in <answer></answer>."}],
         "answer": str(i + 3), "data_source": "arith", "extra_info": {"index": i, "split": "train"}}
        for i in range(n_train)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "train.parquet")
    pd.DataFrame(rows[:n_val]).to_parquet(folder / "val.parquet")
    return folder / "train.parquet", folder / "val.parquet"


def tiny_overrides(model_dir: Path, data_dir: Path, run_dir: Path, steps: int = 2) -> list[str]:
    """A 2-step GRPO run on the tiny model: 4 prompts x 2 responses, 16 tokens, HF rollouts, a checkpoint a step."""
    train_file, val_file = write_data(data_dir)
    return [
        f"actor_rollout_ref.model.path={model_dir}", f"data.train_files={train_file}", f"data.val_files={val_file}",
        "data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2",
        "actor_rollout_ref.rollout.name=hf", "data.max_response_length=16", "data.val_batch_size=2",
        "actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.lora_alpha=16", "actor_rollout_ref.actor.optim.lr=1e-2",
        f"trainer.total_training_steps={steps}", "trainer.save_freq=1", "trainer.test_freq=0", "trainer.val_before_train=False",
        f"trainer.default_local_dir={run_dir}",
    ]


def completion_texts(completions: list[Any]) -> list[str]:
    return [c[-1]["content"] if isinstance(c, list) else c for c in completions]


def digit_share(completions: list[Any], **kwargs: Any) -> list[float]:
    """A dense reward (the share of digit characters), so a random tiny model gets non-zero advantages."""
    return [sum(ch.isdigit() for ch in t) / max(len(t), 1) for t in completion_texts(completions)]


def constant_zero(completions: list[Any], **kwargs: Any) -> list[float]:
    """Every response gets 0: GRPO's advantages vanish, nothing is learned from the reward."""
    return [0.0] * len(completions)


class Spy:
    """A TrainerCallback-like hook: records the model's state at train begin/end, optionally crashes."""

    def __init__(self, crash_at_optimizer_step: int | None = None):
        from transformers import TrainerCallback

        spy = self

        class Callback(TrainerCallback):
            def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
                spy.begin_step = state.global_step
                spy.begin = {k: v.detach().clone() for k, v in model.state_dict().items()}

            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if crash_at_optimizer_step is not None and state.global_step == crash_at_optimizer_step:
                    raise RuntimeError("simulated crash")

            def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
                spy.end = {k: v.detach().clone() for k, v in model.state_dict().items()}

        self.callback = Callback()
        self.begin_step = -1
        self.begin: dict = {}
        self.end: dict = {}


def fake_checkpoint(path: Path, complete: bool = True) -> Path:
    """A ``global_step_N``-shaped folder holding the files resume needs (all, or all but the last)."""
    (path / "adapter").mkdir(parents=True)
    names = ["adapter/adapter_config.json", "adapter/adapter_model.safetensors", "trainer_state.json", "optimizer.pt",
             "scheduler.pt"]
    for name in names[: None if complete else -1]:
        (path / name).write_text("x")
    return path


def write_gguf(path: Path, architecture: str = "llama") -> Path:
    """A complete GGUF file with ``general.architecture`` = ``architecture`` and one float32 tensor."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.arange(64 * 8, dtype=np.float32).reshape(64, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


REAL_MODEL_PROBLEMS = [(f"What is {a} plus {b}?", str(a + b)) for a, b in ((3, 4), (12, 5), (7, 7), (20, 9), (1, 8),
                                                                          (15, 15), (6, 30), (11, 2))]


def real_model_overrides(model: Path, data_dir: Path, run_dir: Path, *extra: str, steps: int = 2) -> list[str]:
    """2 GRPO steps of SmolLM2-135M-Instruct at CI size: 4 prompts x 2 responses of 8 tokens, LoRA r=8 on every
    linear layer, one optimizer step per rollout, no KL term (no reference pass), validation at the end."""
    return [
        f"actor_rollout_ref.model.path={model}", f"data.train_files={data_dir / 'train.parquet'}",
        f"data.val_files={data_dir / 'val.parquet'}", "data.train_batch_size=4", "data.max_prompt_length=128",
        "data.max_response_length=8", "actor_rollout_ref.actor.ppo_mini_batch_size=4",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8", "actor_rollout_ref.rollout.n=2",
        "actor_rollout_ref.rollout.temperature=1.0", "actor_rollout_ref.actor.use_kl_loss=false",
        "actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.lora_alpha=16",
        "actor_rollout_ref.actor.optim.lr=2e-3", "actor_rollout_ref.model.enable_gradient_checkpointing=false",
        f"trainer.total_training_steps={steps}", "trainer.save_freq=1", f"trainer.test_freq={steps}",
        "trainer.val_before_train=false", f"trainer.default_local_dir={run_dir}", *extra,
    ]


DISTRIBUTED_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE")


def subprocess_env(**extra: str) -> dict[str, str]:
    """This process's environment (read now: fixtures may have set DEEPSCALER_GGUF_CACHE) for a child that imports
    this checkout and may start a vLLM engine on CPU; without the rendezvous variables an in-process run may have
    left (a child given MASTER_PORT=29500 collides with any other run on the machine instead of picking a free port)."""
    path = os.pathsep.join(p for p in (str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p)
    env = {key: value for key, value in os.environ.items() if key not in DISTRIBUTED_VARIABLES}
    return {**env, "VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": path, **extra}


def run_vllm_train(args: list[str], timeout: int = 400) -> subprocess.CompletedProcess[str]:
    """``tests/training/vllm_train_run.py ARGS`` in its own process; fails the test on a non-zero exit."""
    proc = subprocess.run([sys.executable, str(VLLM_TRAIN_RUN), *args], capture_output=True, text=True,
                          env=subprocess_env(), timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def eval_cli(model: Path, adapter: Path | None, bench: Path, out: Path, backend: str,
             max_tokens: int = 16) -> list[dict[str, Any]]:
    """``deepscaler-grpo eval`` (greedy) in its own process; its per-response rows."""
    from deepscaler_grpo.io import read_jsonl

    cmd = [sys.executable, "-m", "deepscaler_grpo.evaluation.cli", "--model", str(model), "--benchmarks",
           f"val={bench}", "--max-tokens", str(max_tokens), "--backend", backend, "--output-dir", str(out),
           "--no-progress", *(["--adapter", str(adapter)] if adapter is not None else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=400, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads((out / "summary.json").read_text())["run"]["backend"] == backend
    return read_jsonl(out / "val.jsonl")
