"""``deepscaler-grpo eval``: pass@k of a model (+ LoRA adapter) on benchmarks.

    deepscaler-grpo eval --model Qwen/Qwen3-4B-Instruct-2507 --adapter runs/x/global_step_50/adapter \\
        --benchmarks aime24=../shared/data/deepscaler/test_aime.json,math500 --n 16 --temperature 0.6

Writes DIR/<bench>.jsonl (every response with its score and extracted answer) and DIR/summary.json,
and prints a table. Exit status: 0 done, 2 bad arguments / paths / benchmarks (one line, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.evaluation.run import EvalConfig, print_table, run_eval
from deepscaler_grpo.problems import benchmark_help


def parse_k_values(text: str) -> tuple[int, ...]:
    """``"1,8,16"`` -> (1, 8, 16) for ``--k``."""
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k takes comma-separated integers like 1,8,16, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo eval",
        description="pass@k evaluation: sample n responses per problem, verify them, write JSONL + summary.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="base model: Hub name or local folder")
    parser.add_argument("--adapter", default=None, help="PEFT LoRA adapter folder (e.g. RUN/global_step_N/adapter)")
    parser.add_argument("--benchmarks", required=True,
                        help=f"comma-separated: known names, .json/.jsonl/.parquet files, or NAME=PATH. Known names "
                        f"(Hub first, then the local copy in ../shared/data/deepscaler): {benchmark_help()}")
    parser.add_argument("--n", type=int, default=1, help="samples per problem")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature; 0 = greedy "
                        "(DeepScaleR reports 0.6)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: keep the smallest token set "
                        "with this much probability (1 = off)")
    parser.add_argument("--max-tokens", type=int, default=1024, help="max new tokens per response")
    parser.add_argument("--batch-size", type=int, default=16, help="HF backend: sequences per generate call")
    parser.add_argument("--k", type=parse_k_values, default=None,
                        help="pass@k values, e.g. 1,8,16 (default: powers of 2 up to n, and n)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same samples)")
    parser.add_argument("--limit", type=int, default=None, help="first N problems per benchmark (quick runs)")
    parser.add_argument("--backend", choices=["auto", "vllm", "hf"], default="auto",
                        help="generation engine: auto = vLLM when installed and usable, else Hugging Face generate")
    parser.add_argument("--max-prompt-tokens", type=int, default=2048,
                        help="vLLM only: context length = this + --max-tokens")
    parser.add_argument("--dtype", default="auto", help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16")
    parser.add_argument("--output-dir", default="eval_results", help="where <bench>.jsonl and summary.json go")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    from deepscaler_grpo.console import interactive

    return EvalConfig(
        model=args.model,
        adapter=args.adapter,
        benchmarks=tuple(s for s in args.benchmarks.split(",") if s.strip()),
        n=args.n,
        temperature=args.temperature,
        top_p=args.top_p,
        max_tokens=args.max_tokens,
        batch_size=args.batch_size,
        seed=args.seed,
        limit=args.limit,
        output_dir=args.output_dir,
        backend=args.backend,
        k_values=args.k,
        dtype=args.dtype,
        max_prompt_tokens=args.max_prompt_tokens,
        progress=not args.no_progress and interactive(),
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        summaries = run_eval(config)
    except UserError as exc:
        return report_error("eval", exc)
    print_table(summaries, title=f"{config.model}" + (f" + {config.adapter}" if config.adapter else ""))
    print(f"wrote {Path(config.output_dir) / 'summary.json'} and one <benchmark>.jsonl per benchmark")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
