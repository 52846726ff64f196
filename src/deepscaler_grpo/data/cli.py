"""``deepscaler-grpo prepare``: the command line of :func:`deepscaler_grpo.data.prepare.run_prepare`.

    deepscaler-grpo prepare --source ../shared/data/deepscaler/train_math.json \\
        --output-dir data/deepscaler --val-size 500 --tokenizer Qwen/Qwen3-4B-Instruct-2507 --max-prompt-length 1024
    python -m deepscaler_grpo.data --help

Exit status: 0 written; 2 bad arguments or data (one line, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from deepscaler_grpo.console import interactive
from deepscaler_grpo.data.output import render_report
from deepscaler_grpo.data.prepare import DEFAULT_SOURCE, PrepareConfig, run_prepare
from deepscaler_grpo.data.records import DEFAULT_INSTRUCTION, DataError, is_local_source
from deepscaler_grpo.errors import UserError, report_error
from deepscaler_grpo.problems import benchmark_help, default_decontamination, find_benchmark, hub_offline, hub_reachable


def text_option(value: str | None) -> str | None:
    """An option given as text, or as @path to read it from a file."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:]).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read {value}: {err.strerror}. Pass the text itself or @path/to/file.") from err


def val_size_option(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a row count or a fraction such as 0.05") from None


def build_parser(
    default_source: str = DEFAULT_SOURCE,
    default_instruction: str = DEFAULT_INSTRUCTION,
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo prepare",
        description="Clean a math dataset and write train.parquet, val.parquet and prepare_report.json.",
    )
    parser.add_argument(
        "--source",
        nargs="+",
        default=[default_source],
        metavar="NAME_OR_FILE",
        help=f"Hugging Face dataset(s) or .json/.jsonl/.parquet file(s) (default {default_source})",
    )
    parser.add_argument("--split", default="train", help="split of a Hugging Face --source (default train)")
    parser.add_argument(
        "--output-dir", default="data/deepscaler", help="where the outputs go (default data/deepscaler)"
    )
    parser.add_argument("--problem-key", default="problem", help="source column holding the problem")
    parser.add_argument("--answer-key", default="answer", help="source column holding the answer")
    parser.add_argument("--solution-key", default="solution", help="source column holding the solution (optional)")
    parser.add_argument(
        "--instruction",
        default=default_instruction,
        metavar="TEXT|@FILE",
        help="user-message template containing {problem} (default asks for <answer>...</answer>)",
    )
    parser.add_argument("--system-prompt", default=None, metavar="TEXT|@FILE", help="optional system message")
    parser.add_argument(
        "--data-source", default=None, help="data_source value for every row (default: the source name)"
    )
    val = parser.add_mutually_exclusive_group()
    val.add_argument(
        "--val-size",
        type=val_size_option,
        default=None,
        metavar="N|FRACTION",
        help="validation rows carved from the source: a count or a fraction (default min(500, 5%%))",
    )
    val.add_argument(
        "--val-source", default=None, metavar="NAME_OR_FILE", help="take validation rows from here instead"
    )
    parser.add_argument("--val-split", default="train", help="split of a Hugging Face --val-source (default train)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the validation sample (default 42)")
    parser.add_argument(
        "--decontaminate-with",
        nargs="+",
        default=list(default_decontamination()),
        metavar="SPEC",
        help=f"evaluation sets: a benchmark name, a file, NAME=FILE or a dataset name (default: "
        f"{' '.join(default_decontamination())}). Benchmarks: {benchmark_help()}",
    )
    parser.add_argument("--no-decontaminate", action="store_true", help="skip decontamination")
    parser.add_argument("--ngram", type=int, default=8, help="word n-gram size for decontamination (default 8)")
    parser.add_argument(
        "--overlap-threshold",
        type=float,
        default=0.5,
        help="share of an evaluation problem's n-grams that marks a training problem (default 0.5)",
    )
    parser.add_argument(
        "--fuzzy-threshold",
        type=float,
        default=0.85,
        help="also drop problems whose word 5-grams overlap an earlier one's by this Jaccard "
        "similarity with the same answer (MinHash); 0 turns it off (default 0.85)",
    )
    parser.add_argument("--tokenizer", default=None, metavar="NAME_OR_PATH", help="measure prompts in tokens: Hub name, folder or GGUF file")
    parser.add_argument(
        "--max-prompt-length",
        type=int,
        default=None,
        metavar="N",
        help="drop prompts longer than N tokens after the chat template (needs --tokenizer)",
    )
    parser.add_argument(
        "--token-stats-sample",
        type=int,
        default=4096,
        metavar="N",
        help="token percentiles from a seeded sample of N prompts (0 = all); the length "
        "filter is always exact (default 4096)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def config_from_args(args: argparse.Namespace) -> PrepareConfig:
    return PrepareConfig(
        sources=tuple(args.source),
        output_dir=args.output_dir,
        split=args.split,
        problem_key=args.problem_key,
        answer_key=args.answer_key,
        solution_key=args.solution_key,
        instruction=text_option(args.instruction),
        system_prompt=text_option(args.system_prompt),
        data_source=args.data_source,
        val_size=args.val_size,
        val_source=args.val_source,
        val_split=args.val_split,
        seed=args.seed,
        decontaminate_with=() if args.no_decontaminate else tuple(args.decontaminate_with),
        ngram=args.ngram,
        overlap_threshold=args.overlap_threshold,
        fuzzy_threshold=args.fuzzy_threshold,
        tokenizer=args.tokenizer,
        max_prompt_length=args.max_prompt_length,
        token_stats_sample=args.token_stats_sample,
        overwrite=args.overwrite,
        progress=not args.no_progress and interactive(),  # no bars in logs
    )


def needs_hub(config: PrepareConfig) -> bool:
    """True when some input would be fetched from the Hugging Face Hub."""
    remote = [s for s in (*config.sources, config.val_source, config.tokenizer) if s and not is_local_source(s)]
    return bool(remote) or any(find_benchmark(spec) is not None for spec in config.decontaminate_with)


def main(argv: list[str] | None = None) -> int:
    """CLI entry: returns 0 on success, 1 with a one-line error on bad input."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        if (
            needs_hub(config)
            and not hub_offline()
            and not hub_reachable()
        ):
            # Hub unreachable: go straight to the local cache instead of a minute of retries per dataset.
            os.environ["HF_HUB_OFFLINE"] = "1"
            print("warning: the Hugging Face Hub is unreachable; using only locally cached datasets", file=sys.stderr)
        report = run_prepare(config)
    except UserError as err:
        return report_error("prepare", err)
    render_report(report)
    print(
        f"wrote {len(report['outputs'])} splits to {config.output_dir}: train {report['outputs']['train']} rows, "
        f"val {report['outputs']['val']} rows, prepare_report.json ({report['seconds']:.1f} s)"
    )
    return 0

