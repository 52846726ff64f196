"""``deepscaler-grpo score INPUT.jsonl``: score model responses against ground truths with the verifier.

Each input line is a JSON object with a response (keys tried per row: response, completion, output,
solution_str, or --response-key; a string or a list of chat messages) and a ground truth, read per row by
the project's row contract (``deepscaler_grpo.problems.accepted_answers``: reward_model.ground_truth with
every accepted answer first, then ground_truth, answer, ...; or --answer-key). Writes every row
plus ``score``/``acc``/``pred``/``format``/``method`` to OUTPUT (default INPUT.scored.jsonl) and a
summary (accuracy, format rate, counts, timeouts) to SUMMARY (default INPUT.summary.json), and
prints the summary as a table.

    deepscaler-grpo score responses.jsonl --timeout 5
    python -m deepscaler_grpo.reward.cli responses.jsonl --response-key text --answer-key gold
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from deepscaler_grpo.console import interactive
from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.io import write_json, write_jsonl
from deepscaler_grpo.problems import ANSWER_KEYS, MISSING, accepted_answers, ground_truth, lookup

RESPONSE_KEYS = ("response", "completion", "output", "solution_str")


class ScoreError(UserError):
    """A user-facing problem with the input (message says how to fix it)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepscaler-grpo score", description="Score model responses in a JSONL file against their ground truths with the verifier; write the "
        "scored rows and a summary.")
    parser.add_argument("input", type=Path, help="JSONL file, one object per line")
    parser.add_argument("--output", type=Path, help="scored JSONL (default: INPUT.scored.jsonl)")
    parser.add_argument("--summary", type=Path, help="summary JSON (default: INPUT.summary.json)")
    parser.add_argument("--response-key", help=f"key of the response (default: first of {', '.join(RESPONSE_KEYS)})")
    parser.add_argument("--answer-key", help="key of the ground truth; dots reach into objects (default: every accepted answer, from the first "
                        f"of {', '.join(ANSWER_KEYS)} in each row)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per answer for symbolic checks (default 5)")
    parser.add_argument("--no-boxed-fallback", action="store_true", help="only <answer> tags count, not \\boxed{}")
    parser.add_argument("--batch-size", type=int, default=256, help="rows scored in parallel per batch (default 256)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All JSON objects in a JSONL file (blank lines skipped), with clear errors."""
    if not path.is_file():
        raise ScoreError(f"input file not found: {path} (pass a .jsonl file with one JSON object per line)")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ScoreError(f"{path}:{number}: not valid JSON ({exc.msg}); fix or remove that line") from exc
            if not isinstance(row, dict):
                raise ScoreError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    if not rows:
        raise ScoreError(f"{path} has no rows")
    return rows


def row_response(row: dict[str, Any], number: int, explicit: str | None) -> Any:
    """The response of one row: ``explicit`` (dotted) or the first of RESPONSE_KEYS this row has."""
    for key in (explicit,) if explicit else RESPONSE_KEYS:
        value = lookup(row, key)
        if value is not MISSING:
            return value
    tried = explicit or ", ".join(RESPONSE_KEYS)
    raise ScoreError(f"row {number} has no response key (tried {tried}; found {', '.join(sorted(row))}); "
                     "pass --response-key NAME or fix the row")


def row_truth(row: dict[str, Any], number: int, explicit: str | None) -> Any:
    """Every accepted answer of one row (the project's row contract), or the value under ``explicit``."""
    if explicit:
        value = lookup(row, explicit)
        if value is MISSING:
            raise ScoreError(f"row {number} has no ground-truth key {explicit!r}; pass --answer-key NAME or fix the row")
        return value
    answers = accepted_answers(row)
    if not answers:
        raise ScoreError(f"row {number} has no ground truth (tried {', '.join(ANSWER_KEYS)}; found "
                         f"{', '.join(sorted(row))}); pass --answer-key NAME or fix the row")
    return ground_truth(answers)


def summarize(results: list[dict[str, Any]], elapsed_s: float) -> dict[str, Any]:
    methods = Counter(r["method"] for r in results)
    n = len(results)
    correct = sum(r["acc"] for r in results)
    return {
        "rows": n,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "format_rate": sum(r["format"] for r in results) / n if n else 0.0,
        "no_answer": sum(r["pred"] is None for r in results),
        "timeouts": methods.get("timeout", 0),
        "rejected": methods.get("rejected", 0),
        "methods": dict(methods),
        "elapsed_s": round(elapsed_s, 3),
        "rows_per_s": round(n / elapsed_s, 1) if elapsed_s > 0 else None,
    }


def score_rows(responses: list[Any], truths: list[Any], boxed_fallback: bool, timeout_s: float, batch_size: int,
               progress: bool) -> list[dict[str, Any]]:
    from tqdm import tqdm

    from deepscaler_grpo.reward.scoring import completion_text, score_batch

    results: list[dict[str, Any]] = []
    with tqdm(total=len(responses), desc="scoring", unit="row", disable=not progress) as bar:
        for start in range(0, len(responses), batch_size):
            texts = [completion_text(r) for r in responses[start : start + batch_size]]
            results += score_batch(texts, truths[start : start + batch_size], boxed_fallback, timeout_s)
            bar.update(len(texts))
    return results




def print_summary(summary: dict[str, Any], output: Path, summary_path: Path) -> None:
    from rich.table import Table

    from deepscaler_grpo.console import make_console

    table = Table(title="verifier scores")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("rows", "correct", "accuracy", "format_rate", "no_answer", "timeouts", "rejected", "rows_per_s"):
        value = summary[key]
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) and key != "rows_per_s" else str(value))
    table.add_row("methods", ", ".join(f"{k}={v}" for k, v in sorted(summary["methods"].items())))
    console = make_console()
    console.print(table)
    console.print(f"scores: {output}\nsummary: {summary_path}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.timeout <= 0 or args.batch_size < 1:
            raise ScoreError("--timeout must be > 0 and --batch-size >= 1")
        rows = read_rows(args.input)
        responses = [row_response(row, i, args.response_key) for i, row in enumerate(rows, 1)]
        truths = [row_truth(row, i, args.answer_key) for i, row in enumerate(rows, 1)]
    except UserError as exc:
        return report_error("score", exc)
    stem = args.input.with_suffix("")
    output = args.output or stem.with_name(stem.name + ".scored.jsonl")
    summary_path = args.summary or stem.with_name(stem.name + ".summary.json")
    start = time.monotonic()
    results = score_rows(responses, truths, not args.no_boxed_fallback, args.timeout, args.batch_size,
                         not args.no_progress and interactive())
    summary = summarize(results, time.monotonic() - start)
    write_jsonl(output, [{**row, **result} for row, result in zip(rows, results, strict=True)])
    write_json(summary_path, summary)
    print_summary(summary, output, summary_path)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
