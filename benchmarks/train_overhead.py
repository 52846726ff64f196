"""Benchmark: the same tiny GRPO run through ``deepscaler-grpo train`` and through bare TRL, side by side.

Both runs use the tiny local Qwen3 model on CPU, the same prompts (short synthetic ones; ``--real-data`` takes
MATH500 problems from the shared data folder), the same verifier rewards, LoRA and batch geometry. "ours" adds the
config layer, prompt-length filtering, verl metric names, metrics.jsonl, the progress callback and atomic
global_step_N checkpoints; "bare" is a hand-written GRPOConfig + GRPOTrainer with no callbacks or saving.
Step time = wall and CPU time of one verl step (train_batch_size prompts x n responses, all its optimizer
steps), measured by the same callback in both runs, excluding each run's first step; runs alternate
ours/bare ``--repeats`` times to share the machine's noise. CPU time is the robust figure on a shared machine.
Target: our overhead within 5% of step time.

    python benchmarks/train_overhead.py [--steps 8] [--repeats 3] [--threads 1] [--batch 4] [--n 2] [--max-tokens 16] [--real-data]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def write_prompts(path: Path, count: int, data_dir: Path | None) -> None:
    import pandas as pd

    from deepscaler_grpo.data import make_prompt

    source = data_dir / "test_math.json" if data_dir is not None else None
    if source is not None and source.exists():
        rows = [(r["problem"], str(r["answer"])) for r in json.loads(source.read_text())[:count]]
    else:
        rows = [(f"What is {i} + {i + 3}?", str(2 * i + 3)) for i in range(count)]
    pd.DataFrame([{"prompt": make_prompt(p), "answer": a, "problem": p} for p, a in rows]).to_parquet(path)


def overrides(model: Path, data: Path, run: Path, args: argparse.Namespace) -> list[str]:
    return [
        f"actor_rollout_ref.model.path={model}", f"data.train_files={data}", "data.val_files=null",
        f"data.train_batch_size={args.batch}", f"actor_rollout_ref.actor.ppo_mini_batch_size={args.batch // 2}",
        f"actor_rollout_ref.rollout.n={args.n}", "actor_rollout_ref.rollout.name=hf",
        f"data.max_response_length={args.max_tokens}", "data.max_prompt_length=1024",
        f"trainer.total_training_steps={args.steps}", f"trainer.save_freq={args.steps}", "trainer.resume_mode=disable",
        "actor_rollout_ref.model.lora_rank=16", "actor_rollout_ref.model.lora_alpha=32", f"trainer.default_local_dir={run}",
    ]


class StepTimer:
    """Wall and CPU (process) seconds of each verl step; the same instrument for both runs.

    CPU time is robust to other processes sharing the machine, wall time is what a user waits for.
    """

    def __init__(self, optimizer_steps_per_step: int):
        from transformers import TrainerCallback

        timer, k = self, optimizer_steps_per_step
        self.wall: list[float] = []
        self.cpu: list[float] = []

        class Callback(TrainerCallback):
            def on_step_begin(self, a: Any, state: Any, c: Any, **kw: Any) -> None:
                if state.global_step % k == 0:
                    self.t0, self.c0 = time.perf_counter(), time.process_time()

            def on_step_end(self, a: Any, state: Any, c: Any, **kw: Any) -> None:
                if state.global_step % k == 0:
                    timer.wall.append(time.perf_counter() - self.t0)
                    timer.cpu.append(time.process_time() - self.c0)

        self.callback = Callback()


def run_ours(model: Path, data: Path, run: Path, args: argparse.Namespace) -> tuple[StepTimer, float]:
    from deepscaler_grpo.config import load_config
    from deepscaler_grpo.training import run_training

    timer = StepTimer(2)
    start = time.perf_counter()
    run_training(load_config(overrides(model, data, run, args)), callbacks=[timer.callback])
    return timer, time.perf_counter() - start


def run_bare(model: Path, data: Path, run: Path, args: argparse.Namespace) -> tuple[StepTimer, float]:
    """Plain TRL with the equivalent settings, written out by hand (no deepscaler_grpo.training.run code)."""
    import pandas as pd
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from deepscaler_grpo.reward import make_reward_funcs

    per_step = 2  # train_batch_size / ppo_mini_batch_size
    timer = StepTimer(per_step)
    start = time.perf_counter()
    dataset = Dataset.from_list(pd.read_parquet(data).to_dict("records"))
    funcs, weights = make_reward_funcs()
    config = GRPOConfig(
        output_dir=str(run), per_device_train_batch_size=2, gradient_accumulation_steps=args.batch * args.n // 2 // 2,
        steps_per_generation=args.batch * args.n // 2, num_generations=args.n, max_steps=args.steps * per_step,
        max_completion_length=args.max_tokens, temperature=0.6, beta=0.001, use_bias_correction_kl=False,
        loss_type="dapo", learning_rate=2e-5, lr_scheduler_type="constant", weight_decay=0.01, bf16=False,
        activation_checkpointing=True, activation_checkpointing_kwargs={"use_reentrant": False},
        model_init_kwargs={"dtype": "float32"}, logging_steps=per_step, save_strategy="no", report_to="none",
        disable_tqdm=True, seed=42, reward_weights=weights,
    )
    trainer = GRPOTrainer(
        model=str(model), reward_funcs=funcs, args=config, train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(model, padding_side="left"),
        peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"),
        callbacks=[timer.callback],
    )
    trainer.remove_callback(PrinterCallback)  # no per-step dict printing, like ours
    trainer.train()
    return timer, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="prompts per step (even)")
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--real-data", action="store_true", help="MATH500 prompts from --data-dir")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data/deepscaler"))
    args = parser.parse_args(argv)

    import warnings

    import torch
    from rich.console import Console
    from rich.table import Table

    from deepscaler_grpo.demo.tiny import save_tiny_model

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)  # same for both; 1 thread makes CPU time a clean compute measure
    results: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": [], "run": []} for name in ("ours", "bare")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = save_tiny_model(root / "model")
        data = root / "train.parquet"
        write_prompts(data, args.batch * args.steps, Path(args.data_dir) if args.real_data else None)
        for rep in range(args.repeats):
            for name, runner in (("ours", run_ours), ("bare", run_bare)):
                timer, wall = runner(model, data, root / f"{name}{rep}", args)
                results[name]["wall"] += timer.wall[1:]  # the first step pays one-off warm-up
                results[name]["cpu"] += timer.cpu[1:]
                results[name]["run"].append(wall)

    table = Table(title=f"GRPO step time, tiny Qwen3 on CPU ({args.threads} thread): {args.batch} prompts x {args.n}, "
                        f"{args.max_tokens} tokens, {args.steps} steps x {args.repeats} runs")
    for column in ("run", "wall s mean", "wall s median", "CPU s mean", "CPU s median", "steps timed", "whole run s"):
        table.add_column(column)
    for name, res in results.items():
        table.add_row(name, *(f"{stat(res[key]):.3f}" for key in ("wall", "cpu") for stat in (statistics.mean, statistics.median)),
                      str(len(res["wall"])), f"{statistics.mean(res['run']):.1f}")
    Console().print(table)
    for key, stat in (("wall", statistics.median), ("cpu", statistics.mean), ("cpu", statistics.median)):
        ours, bare = (stat(results[k][key]) for k in ("ours", "bare"))
        print(f"overhead of deepscaler-grpo train over bare TRL ({key} {stat.__name__}): "
              f"{100 * (ours - bare) / bare:+.1f}% of step time (target: within 5%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
