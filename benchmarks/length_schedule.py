"""A length-schedule run end to end on the quick demo's warm-started model (CPU, under a minute), plotted.

The quick demo's problems and careless-teacher warm start (``deepscaler_grpo.demo.pipeline``; a bigger model and a longer
warm start, so answers are right about 15% of the time) give mixed rewards; GRPO then runs ``deepscaler-grpo train`` with a 3-stage ``trainer.length_schedule`` (6 -> 10 -> 16 response tokens,
the middle stage with ``rollout_n`` 8 instead of 4), dynamic sampling (``algorithm.filter_groups``) and the
overlong buffer (``reward_model.overlong_buffer``). It prints one row per step and checks that every step stayed
within its stage's limit and carries ``stage/*``; ``deepscaler-grpo plot`` draws ``stage/max_response_length``
next to the response length. Exit status 1 when a check fails.

    python benchmarks/length_schedule.py                       # -> ./schedule_run (plots in schedule_run/plots)
    python benchmarks/length_schedule.py --output-dir /tmp/s --steps 12 --seed 1
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any


def schedule_for(steps: int) -> list[dict[str, int]]:
    """Three stages of (about) a third of the run each."""
    first, second = max(steps // 3, 1), max(2 * steps // 3, 2)
    return [{"until_step": first, "max_response_length": 6},
            {"until_step": second, "max_response_length": 10, "rollout_n": 8},
            {"max_response_length": 16}]


def build_inputs(seed: int, out: Path) -> tuple[Any, Path, Path]:
    """The quick demo's data and warm-started model under ``out``; returns (demo config, data dir, model dir)."""
    from dataclasses import replace

    from deepscaler_grpo.demo import pipeline as demo
    from deepscaler_grpo.demo.model import build_base_model, tokenizer_corpus, warm_start

    # the quick demo, with the full demo's model size and a longer warm start: right ~15% of the time (mixed rewards)
    cfg = replace(demo.quick_config(seed), num_train=400, hidden_size=128, vocab_size=1024, sft_steps=300)
    train, heldout, data_dir = demo.prepare_data(cfg, out)
    from deepscaler_grpo.io import read_parquet_rows

    rows = read_parquet_rows(data_dir / "train.parquet")
    problems = {p.problem: p for p in [*train, *heldout]}
    base = build_base_model(cfg, out, tokenizer_corpus(rows, problems))
    sft, _ = warm_start(cfg, base, out / "sft_model", rows, problems)
    return cfg, data_dir, sft


def train_config(demo_cfg: Any, data_dir: Path, model_dir: Path, run_dir: Path, steps: int) -> Any:
    from deepscaler_grpo.config import with_values
    from deepscaler_grpo.demo.pipeline import grpo_config

    return with_values(grpo_config(demo_cfg, data_dir, model_dir, run_dir), {
        "trainer.total_training_steps": steps,
        "trainer.save_freq": steps,
        "trainer.test_freq": max(steps // 3, 1),
        "trainer.length_schedule": schedule_for(steps),
        "algorithm.filter_groups.enable": True,
        "algorithm.filter_groups.max_num_gen_batches": 4,
        "reward_model.overlong_buffer.enable": True,
        "reward_model.overlong_buffer.len": 4,
        "reward_model.overlong_buffer.penalty_factor": 0.5,
    })


def check_rows(rows: list[dict[str, Any]], steps: int) -> list[str]:
    """Problems with the metrics: every step once, stage/* present, no response over its stage's limit."""
    problems = []
    trained = [r for r in rows if r["step"] > 0]
    if [r["step"] for r in trained] != list(range(1, steps + 1)):
        problems.append(f"steps logged: {[r['step'] for r in trained]}")
    for r in rows:
        if "stage/index" not in r or "stage/max_response_length" not in r:
            problems.append(f"step {r['step']}: no stage/* fields")
        elif r.get("response_length/max", 0) > r["stage/max_response_length"]:
            problems.append(f"step {r['step']}: response_length/max {r['response_length/max']} over the stage's limit")
    return problems


def print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="length schedule + dynamic sampling + overlong buffer (quick demo model)")
    columns = (("step", "step", "{}"), ("stage", "stage/index", "{}"), ("limit", "stage/max_response_length", "{}"),
               ("n", "stage/rollout_n", "{}"), ("len mean", "response_length/mean", "{:.1f}"),
               ("len max", "response_length/max", "{:.0f}"), ("clip", "response_length/clip_ratio", "{:.2f}"),
               ("score", "critic/score/mean", "{:.3f}"),
               ("overlong", "rewards/soft_overlong_punishment_reward/mean", "{:.3f}"),
               ("gen batches", "train/num_gen_batches", "{:.0f}"), ("zero-var groups", "train/zero_variance_groups", "{:.0f}"),
               ("val acc", "val/accuracy", "{:.3f}"))
    for name, _, _ in columns:
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(*(fmt.format(r[key]) if isinstance(r.get(key), (int, float)) else "-" for _, key, fmt in columns))
    Console(width=160).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="schedule_run", help="replaced if it exists")
    parser.add_argument("--steps", type=int, default=9, help="GRPO steps (three stages of about a third each)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    from deepscaler_grpo.io import read_jsonl
    from deepscaler_grpo.tools.plot import plot_run
    from deepscaler_grpo.training.run import run_training

    torch.set_num_threads(1)
    out = Path(args.output_dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    demo_cfg, data_dir, model_dir = build_inputs(args.seed, out)
    warm = time.perf_counter() - start
    run_dir = run_training(train_config(demo_cfg, data_dir, model_dir, out / "grpo_run", args.steps))
    grpo = time.perf_counter() - start - warm
    rows = read_jsonl(run_dir / "metrics.jsonl")
    print_table(rows)
    paths, _ = plot_run(run_dir, out / "plots")
    problems = check_rows(rows, args.steps)
    if not (out / "plots" / "stage_max_response_length.png").is_file():
        problems.append("no stage_max_response_length.png")
    print(f"warm start {warm:.0f}s, GRPO {grpo:.0f}s; plots: {', '.join(p.name for p in paths)} in {out / 'plots'}")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
