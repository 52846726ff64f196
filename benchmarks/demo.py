"""Benchmark of ``deepscaler-grpo demo``: wall time and held-out gain of the full default run, per seed.

Each seed runs as its own ``python -m deepscaler_grpo.demo.pipeline`` process (as a user would run it); the table
shows before/after held-out accuracy, the gain, whether the 10-point bar was met, and the time of each
stage. The targets: every seed passes, and the total stays under 10 minutes on 2 CPU cores (20 minutes with a real
model, ``--base``).

    python benchmarks/demo.py                     # seeds 0 1 2
    python benchmarks/demo.py --seeds 0 1 2 3 4 --quick
    python benchmarks/demo.py --base smollm2 --seeds 0 1      # SmolLM2-135M-Instruct (demo --base)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIME_BUDGET_S = 600.0
REAL_MODEL_BUDGET_S = 1200.0


def run_seed(seed: int, out: Path, quick: bool, base: str | None = None) -> dict:
    """One demo run in a fresh process; its demo_summary.json plus exit status and wall time."""
    cmd = [sys.executable, "-m", "deepscaler_grpo.demo.pipeline", "--seed", str(seed), "--output-dir", str(out),
           *(["--base", base] if base else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd + (["--quick"] if quick else []), check=False, capture_output=True, text=True)
    wall = time.perf_counter() - start
    summary_path = out / "demo_summary.json"
    if not summary_path.exists():
        tail = (proc.stdout + proc.stderr)[-2000:]
        raise SystemExit(f"seed {seed}: the demo wrote no summary (exit {proc.returncode}):\n{tail}")
    return {**json.loads(summary_path.read_text()), "returncode": proc.returncode, "wall_s": wall}


def print_table(rows: list[dict], budget: float = TIME_BUDGET_S) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="deepscaler-grpo demo: held-out accuracy (greedy) and time per seed")
    for name in ("seed", "before", "after", "gain (pts)", "bar met", "exit", "warm start s", "GRPO s", "total s"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(
            str(r["seed"]),
            f"{100 * r['before']['pass@1']:.1f}%",
            f"{100 * r['after']['pass@1']:.1f}%",
            f"{100 * r['improvement']:+.1f}",
            "yes" if r["passed"] else "NO",
            str(r["returncode"]),
            f"{r['seconds'].get('warm start', 0):.0f}",
            f"{r['seconds'].get('GRPO', 0):.0f}",
            f"{r['wall_s']:.0f}" + ("" if r["wall_s"] < budget else f" (over {budget / 60:.0f} min)"),
        )
    Console().print(table)
    gains = [100 * r["improvement"] for r in rows]
    print(
        f"gain: min {min(gains):+.1f}, mean {sum(gains) / len(gains):+.1f} points; "
        f"slowest run {max(r['wall_s'] for r in rows):.0f}s (budget {budget:.0f}s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="benchmark the --quick smoke run instead")
    parser.add_argument("--base", default=None, help="demo --base: smollm2, a GGUF file, a wheel or a folder")
    args = parser.parse_args(argv)
    budget = REAL_MODEL_BUDGET_S if args.base else TIME_BUDGET_S
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as tmp:
        rows = []
        for seed in args.seeds:
            rows.append(run_seed(seed, Path(tmp) / f"seed{seed}", args.quick, args.base))
            print(f"seed {seed}: {100 * rows[-1]['improvement']:+.1f} points in {rows[-1]['wall_s']:.0f}s", flush=True)
    print_table(rows, budget)
    return 0 if all(r["passed"] and r["wall_s"] < budget for r in rows) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
