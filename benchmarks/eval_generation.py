"""Benchmark: batched HF generation strategies in ``deepscaler_grpo.generation.hf.generate_hf`` on CPU.

Compares one prompt per ``generate`` call, batches in input order, and batches sorted by prompt
length (the default), on real MATH500 problems (or synthetic ones when the data folder is absent),
with the tiny local Qwen3 model. Prints a side-by-side table.

    python benchmarks/eval_generation.py [--prompts 16] [--n 2] [--max-tokens 16] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def problems(count: int, data_dir: Path) -> list[str]:
    path = data_dir / "test_math.json"
    if path.exists():
        return [row["problem"] for row in json.loads(path.read_text())[:count]]
    return [("Compute the sum of the first k squares. " * (1 + i % 7)) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data/deepscaler"))
    args = parser.parse_args(argv)

    import torch
    from rich.console import Console
    from rich.table import Table

    from deepscaler_grpo.data import make_prompt
    from deepscaler_grpo.demo.tiny import save_tiny_model
    from deepscaler_grpo.generation import generate_hf
    from deepscaler_grpo.models import load_model

    torch.set_num_threads(2)
    prompts = [make_prompt(p) for p in problems(args.prompts, Path(args.data_dir))]
    with tempfile.TemporaryDirectory() as tmp:
        model, tok = load_model(str(save_tiny_model(Path(tmp) / "tiny")))
    setups = {
        "one prompt per call": {"batch_size": args.n, "sort_by_length": False},
        "batched, input order": {"batch_size": args.batch_size, "sort_by_length": False},
        "batched, sorted by length (default)": {"batch_size": args.batch_size, "sort_by_length": True},
    }
    table = Table(title=f"generate_hf: {len(prompts)} prompts x n={args.n}, {args.max_tokens} new tokens, CPU")
    for column in ("strategy", "seconds", "sequences/s", "speed-up"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    baseline = None
    for name, kwargs in setups.items():
        start = time.perf_counter()
        generate_hf(model, tok, prompts, n=args.n, temperature=1.0, max_tokens=args.max_tokens, seed=0,
                    progress=False, **kwargs)
        seconds = time.perf_counter() - start
        baseline = baseline or seconds
        table.add_row(name, f"{seconds:.2f}", f"{len(prompts) * args.n / seconds:.1f}", f"{baseline / seconds:.2f}x")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
