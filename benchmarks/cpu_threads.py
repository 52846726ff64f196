"""Benchmark: torch CPU threads for a single-process run, on an idle and on a busy machine.

The same tiny GRPO run (``deepscaler-grpo train``, validation every step), timed by its own ``timing_s/step``, with
``trainer.cpu_threads`` 1, all cores, and auto (the default: the cores the load average says are free), first on
the machine as it is, then with one busy-looping process per core beside it (what a shared machine or a second job
looks like). Seconds of training per run (best of ``--repeats``); the fastest setting of each row is the one a default
should pick.

    python benchmarks/cpu_threads.py [--steps 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def busy_loop() -> None:
    while True:
        pass


def run_train(model: Path, data: Path, run: Path, threads: str, steps: int) -> float:
    """Seconds of training proper (the steps' ``timing_s/step``, validation included; not the process start)."""
    from tests.helpers import tiny_overrides

    overrides = [o for o in tiny_overrides(model, data, run, steps=steps) if not o.startswith("trainer.test_freq")]
    argv = [sys.executable, "-m", "deepscaler_grpo.cli", "train", *overrides, "trainer.test_freq=1",
            "trainer.resume_mode=disable", f"trainer.cpu_threads={threads}"]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    subprocess.run(argv, check=True, capture_output=True, env={**env, "PYTHONPATH": f"{REPO}:{REPO / 'src'}"})
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return sum(row.get("timing_s/step", 0.0) for row in rows)


def measure(model: Path, tmp: Path, settings: list[str], steps: int, repeats: int) -> dict[str, float]:
    best = {}
    for setting in settings:
        times = [run_train(model, tmp / "data", tmp / f"run-{setting}-{i}", setting, steps) for i in range(repeats)]
        best[setting] = min(times)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from deepscaler_grpo.demo.tiny import save_tiny_model
    from deepscaler_grpo.threads import usable_cores

    cores = usable_cores()
    settings = ["1", str(cores), "null"]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        model = save_tiny_model(tmp / "model")
        rows = {"idle": measure(model, tmp, settings, args.steps, args.repeats)}
        load = [multiprocessing.Process(target=busy_loop, daemon=True) for _ in range(cores)]
        for proc in load:
            proc.start()
        try:
            time.sleep(65)  # let the 1-minute load average see the load, as it would on a shared machine
            rows[f"busy ({cores} busy processes)"] = measure(model, tmp, settings, args.steps, args.repeats)
        finally:
            for proc in load:
                proc.terminate()
    names = {"1": "1 thread", str(cores): f"{cores} threads (all)", "null": "auto (default)"}
    print(f"| machine | {' | '.join(names[s] for s in settings)} |")
    print("|---|" + "---|" * len(settings))
    for label, times in rows.items():
        print(f"| {label} | " + " | ".join(f"{times[s]:.1f} s" for s in settings) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
