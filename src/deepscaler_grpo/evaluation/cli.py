"""``deepscaler-grpo eval``: pass@k with 95% intervals of a model (+ LoRA adapter) on benchmarks.

    deepscaler-grpo eval --model Qwen/Qwen3-4B-Instruct-2507 --adapter runs/x/global_step_50/adapter \\
        --benchmarks aime24=../shared/data/deepscaler/test_aime.json,math500 --n 16 --temperature 0.6
    deepscaler-grpo eval --model M --adapter A --protocol deepscaler        # DeepScaleR's decoding, sets and table

Writes DIR/summary.json (results with intervals, provenance, settings), DIR/<bench>.jsonl (every response with its
verdicts) and DIR/<bench>.responses.jsonl (responses as generated: rerun the same command to resume), and prints
a one-line provenance digest and a table. Exit status: 0 done, 2 bad arguments / paths / benchmarks / output
folder / context budget (one line, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.evaluation.benchmarks import parse_benchmark_spec
from deepscaler_grpo.evaluation.protocol import protocols, resolve
from deepscaler_grpo.evaluation.run import EvalConfig, EvalError, run_eval
from deepscaler_grpo.problems import benchmark_help

# plain defaults of the options a --protocol may set (None in the parser, so a given flag is told apart)
DEFAULTS = {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 1024, "benchmarks": None}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except "(default: None)" on options that have none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action)


def parse_k_values(text: str) -> tuple[int, ...]:
    """``"1,8,16"`` -> (1, 8, 16) for ``--k``."""
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k takes comma-separated integers like 1,8,16, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo eval", formatter_class=HelpFormatter,
        description="pass@k evaluation with 95%% intervals: sample n responses per problem, verify them, write JSONL "
                    "+ summary.json. Rerun the same command to resume an interrupted evaluation.",
    )
    parser.add_argument("--model", required=True, help="base model: Hub name, local folder, or a GGUF file (or a wheel holding one)")
    parser.add_argument("--adapter", default=None, help="PEFT LoRA adapter folder (e.g. RUN/global_step_N/adapter)")
    parser.add_argument("--benchmarks", default=None,
                        help=f"comma-separated: known names, .json/.jsonl/.parquet files, or NAME=PATH (required "
                        f"without --protocol). Known names (Hub first, then the local copy in ../shared/data/"
                        f"deepscaler): {benchmark_help()}")
    parser.add_argument("--protocol", choices=sorted(protocols()), default=None,
                        help="a published protocol: deepscaler = --n 16 --temperature 0.6 --top-p 0.95 --max-tokens "
                        "32768 on aime24,math500,amc,minerva,olympiadbench, printed in DeepScaleR's table; flags "
                        "given explicitly override its values (with a note)")
    parser.add_argument("--n", type=int, default=None, help="samples per problem (default 1)")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature; 0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling: keep the smallest token set "
                        "with this much probability (default 1 = off)")
    parser.add_argument("--max-tokens", type=int, default=None, help="max new tokens per response (default 1024)")
    parser.add_argument("--batch-size", type=int, default=None, help="sequences per generation call and per saved "
                        "batch (default 16 for hf, 1024 for vllm); a crash loses at most one batch")
    parser.add_argument("--k", type=parse_k_values, default=None,
                        help="pass@k values, e.g. 1,8,16 (default: powers of 2 up to n, and n)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same samples)")
    parser.add_argument("--limit", type=int, default=None, help="first N problems per benchmark (quick runs)")
    parser.add_argument("--backend", choices=["auto", "vllm", "hf"], default="auto",
                        help="generation engine: auto = vLLM when installed and usable, else Hugging Face generate")
    parser.add_argument("--max-prompt-tokens", type=int, default=2048,
                        help="longest prompt allowed; with --max-tokens it must fit the model's context (lowered "
                        "with a note when the prompts fit; vLLM's engine length is this + --max-tokens)")
    parser.add_argument("--dtype", default="auto", help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16")
    parser.add_argument("--training-policy", default=None,
                        help="the verifier policy the model was trained with, reported beside the strict headline: a "
                        "run folder, its config.yaml, or KEY=VALUE pairs (decimal_digits=4,units=false); default: "
                        "read from RUN/config.yaml when --adapter is RUN/global_step_N/adapter")
    parser.add_argument("--math-verify", action="store_true",
                        help="add math-verify's verdict on the same extracted answers, with the disagreement count")
    parser.add_argument("--output-dir", default="eval_results", help="where summary.json and the JSONL files go")
    parser.add_argument("--problem-key", default=None,
                        help="a file's problem column, when not problem/question/Problem/Question/input")
    parser.add_argument("--answer-key", default=None,
                        help="a file's answer column, when not reward_model.ground_truth/ground_truth/answer/...")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    from deepscaler_grpo.console import interactive

    protocol = protocols()[args.protocol] if args.protocol else None
    given = {key: getattr(args, key) for key in (*DEFAULTS, "limit")}
    values, overrides = resolve(protocol, given, DEFAULTS)
    if not values["benchmarks"]:
        raise EvalError("no benchmarks given: pass --benchmarks aime24,math500 (names or files) or --protocol deepscaler")
    return EvalConfig(
        model=args.model, adapter=args.adapter,
        benchmarks=tuple(s for s in values["benchmarks"].split(",") if s.strip()),
        n=values["n"], temperature=values["temperature"], top_p=values["top_p"], max_tokens=values["max_tokens"],
        batch_size=args.batch_size, seed=args.seed, limit=args.limit, output_dir=args.output_dir,
        problem_key=args.problem_key, answer_key=args.answer_key,
        backend=args.backend, k_values=args.k, dtype=args.dtype, max_prompt_tokens=args.max_prompt_tokens,
        progress=not args.no_progress and interactive(), training_policy=args.training_policy,
        math_verify=args.math_verify, protocol=args.protocol, protocol_overrides=tuple(overrides),
    )


def main(argv: list[str] | None = None) -> int:
    from deepscaler_grpo.evaluation.report import print_protocol_table, print_table

    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        summary = run_eval(config)
    except UserError as exc:
        return report_error("eval", exc)
    title = config.model + (f" + {config.adapter}" if config.adapter else "")
    names = [parse_benchmark_spec(spec)[0] for spec in config.benchmarks]
    requested = {name: summary["benchmarks"][name] for name in names}
    print_table(requested, title=title)
    if config.protocol:
        print_protocol_table(protocols()[config.protocol], requested, row_name=title)
    print(f"wrote {Path(config.output_dir) / 'summary.json'} and one <benchmark>.jsonl per benchmark")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
