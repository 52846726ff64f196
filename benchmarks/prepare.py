"""Benchmark ``deepscaler-grpo prepare`` on 40,000 synthetic DeepScaleR-like rows.

Rows are the real training problems from ../shared/data/deepscaler (numbers varied so each row is
new; generated problems when that folder is absent) plus planted exact duplicates, near-duplicates,
missing answers, float answers and copies of evaluation problems. Times the whole CLI (a fresh
process: imports included) without a tokenizer (target < 30 s) and with the tiny local tokenizer,
and prints them side by side.

    python benchmarks/prepare.py [--rows 40000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TARGET_S = 30.0
_NUMBER = re.compile(r"\d+")


def shared_dir() -> Path:
    env = os.environ.get("DEEPSCALER_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data" / "deepscaler"


def seed_problems(folder: Path) -> list[dict]:
    """Real training rows when available, else simple generated ones."""
    rows = []
    for name in ("train_math.json", "train_aime.json"):
        if (folder / name).exists():
            rows += [r for r in json.loads((folder / name).read_text()) if r.get("answer") is not None]
    if rows:
        return rows
    rng = random.Random(0)
    return [
        {"problem": f"Compute ${a} \\times {b} + {c}$ and give the remainder mod {m}.", "answer": str((a * b + c) % m)}
        for a, b, c, m in (
            (rng.randint(2, 99), rng.randint(2, 99), rng.randint(0, 999), rng.randint(2, 97)) for _ in range(2000)
        )
    ]


def vary(problem: str, rng: random.Random) -> str:
    """The same problem with its numbers changed (a new, distinct problem for the pipeline)."""
    return (
        _NUMBER.sub(lambda m: str(int(m.group()) + rng.randint(1, 97)), problem)
        + f" (Variant {rng.randint(0, 10**9)}.)"
    )


def synthesize(rows: int, eval_problems: list[str], seed: int) -> list[dict]:
    """``rows`` rows: ~92% varied problems, 3% exact and 2% near duplicates, 1% missing answers,
    1% float answers, 1% evaluation-set copies."""
    rng = random.Random(seed)
    seeds = seed_problems(shared_dir())
    out: list[dict] = []
    while len(out) < rows:
        roll = rng.random()
        if out and roll < 0.03:
            out.append(dict(rng.choice(out)))
        elif out and roll < 0.05:
            row = rng.choice(out)
            out.append({**row, "problem": "  " + row["problem"].upper().replace(" ", "  ") + " "})
        elif roll < 0.06:
            out.append({"problem": vary(rng.choice(seeds)["problem"], rng), "answer": None})
        elif roll < 0.07:
            out.append({"problem": vary(rng.choice(seeds)["problem"], rng), "answer": float(rng.randint(1, 999))})
        elif roll < 0.08 and eval_problems:
            out.append({"problem": rng.choice(eval_problems), "answer": "1"})
        else:
            base = rng.choice(seeds)
            out.append(
                {
                    "problem": vary(base["problem"], rng),
                    "answer": base["answer"],
                    "solution": base.get("solution") or "",
                }
            )
    return out


def eval_specs(folder: Path, tmp: Path) -> tuple[list[str], list[str]]:
    """--decontaminate-with specs and their problems (the real AIME/AMC/MATH500 files, or made ones)."""
    files = {name: folder / f"test_{name}.json" for name in ("aime", "amc", "math")}
    if not all(path.exists() for path in files.values()):
        made = tmp / "eval.json"
        made.write_text(
            json.dumps(
                [
                    {
                        "problem": f"Evaluation problem {i}: find the {i}-th triangular number.",
                        "answer": str(i * (i + 1) // 2),
                    }
                    for i in range(600)
                ]
            )
        )
        files = {"made": made}
    problems = [r["problem"] for path in files.values() for r in json.loads(path.read_text())]
    return [f"{name}={path}" for name, path in files.items()], problems


def run_cli(args: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "deepscaler_grpo.data", *args, "--no-progress", "--overwrite"],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"prepare failed:\n{result.stderr}")
    output_dir = Path(args[args.index("--output-dir") + 1])
    return wall, json.loads((output_dir / "prepare_report.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as folder:
        tmp = Path(folder)
        specs, eval_problems = eval_specs(shared_dir(), tmp)
        source = tmp / "synthetic.json"
        source.write_text(json.dumps(synthesize(args.rows, eval_problems, args.seed)))
        from deepscaler_grpo.demo.tiny import save_tiny_model

        tokenizer = save_tiny_model(tmp / "tiny")
        common = ["--source", str(source), "--decontaminate-with", *specs]
        runs = {
            "no tokenizer": common + ["--output-dir", str(tmp / "a")],
            "tiny tokenizer, max 1024": common
            + ["--output-dir", str(tmp / "b"), "--tokenizer", str(tokenizer), "--max-prompt-length", "1024"],
        }
        results = {name: run_cli(cli_args) for name, cli_args in runs.items()}
    print_table(results, args.rows)
    return 0


def print_table(results: dict[str, tuple[float, dict]], rows: int) -> None:
    load = os.getloadavg()[0]
    table = Table(title=f"prepare on {rows:,} synthetic rows ({os.cpu_count()} CPUs, load avg {load:.1f})")
    table.add_column("metric")
    for name in results:
        table.add_column(name, justify="right")
    reports = [report for _, report in results.values()]
    dropped = [report["counts"]["source"]["dropped"] for report in reports]
    lines = {
        "wall time, whole CLI (s)": [f"{wall:.1f}" for wall, _ in results.values()],
        "pipeline time, in process (s)": [f"{r['seconds']:.1f}" for r in reports],
        f"target < {TARGET_S:.0f} s (no tokenizer)": ["yes" if results["no tokenizer"][0] < TARGET_S else "NO", "-"],
        "rows/s (wall)": [f"{rows / wall:,.0f}" for wall, _ in results.values()],
        "train / val rows": [f"{r['outputs']['train']} / {r['outputs']['val']}" for r in reports],
        **{
            f"dropped: {reason}": [str(d[reason]) for d in dropped]
            for reason in dropped[0]
            if any(d[reason] for d in dropped)
        },
        "prompt tokens p50 / p99": ["-"]
        + [
            f"{r['prompt_length']['tokens']['p50']:.0f} / {r['prompt_length']['tokens']['p99']:.0f}"
            for r in reports[1:]
        ],
    }
    for metric, values in lines.items():
        table.add_row(metric, *values)
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
