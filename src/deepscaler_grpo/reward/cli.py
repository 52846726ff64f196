"""``deepscaler-grpo score INPUT.jsonl``: score model responses against ground truths with the verifier.

Each input line is a JSON object with a response (keys tried: response, completion, output,
solution_str, or --response-key; a string or a list of chat messages) and a ground truth (answer,
ground_truth, reward_model.ground_truth, or --answer-key; string, number or list). Writes every row
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

from deepscaler_grpo.io import atomic_write_text

RESPONSE_KEYS = ("response", "completion", "output", "solution_str")
ANSWER_KEYS = ("answer", "ground_truth", "reward_model.ground_truth")
MISSING = object()


class ScoreError(Exception):
    """A user-facing problem with the input (message says how to fix it)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepscaler-grpo score", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, help="JSONL file, one object per line")
    parser.add_argument("--output", type=Path, help="scored JSONL (default: INPUT.scored.jsonl)")
    parser.add_argument("--summary", type=Path, help="summary JSON (default: INPUT.summary.json)")
    parser.add_argument("--response-key", help=f"key of the response (default: first of {', '.join(RESPONSE_KEYS)})")
    parser.add_argument("--answer-key", help=f"key of the ground truth (default: first of {', '.join(ANSWER_KEYS)}); "
                        "dots reach into objects")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per answer for symbolic checks (default 5)")
    parser.add_argument("--no-boxed-fallback", action="store_true", help="only <answer> tags count, not \\boxed{}")
    parser.add_argument("--batch-size", type=int, default=256, help="rows scored in parallel per batch")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def lookup(row: dict[str, Any], key: str) -> Any:
    """``row[key]``, following dots into nested objects; MISSING when absent."""
    value: Any = row
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


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


def resolve_key(rows: list[dict[str, Any]], explicit: str | None, candidates: tuple[str, ...], what: str,
                flag: str) -> str:
    """The key holding ``what`` (explicit, else the first candidate present in row 1); checks every row."""
    key = explicit or next((k for k in candidates if lookup(rows[0], k) is not MISSING), None)
    if key is None:
        raise ScoreError(f"no {what} key in the first row (tried {', '.join(candidates)}; "
                         f"found {', '.join(sorted(rows[0]))}); pass {flag} NAME")
    for number, row in enumerate(rows, 1):
        if lookup(row, key) is MISSING:
            raise ScoreError(f"row {number} has no {what} key {key!r}; pass {flag} NAME or fix the row")
    return key


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


def score_rows(rows: list[dict[str, Any]], response_key: str, answer_key: str, boxed_fallback: bool,
               timeout_s: float, batch_size: int, progress: bool) -> list[dict[str, Any]]:
    from tqdm import tqdm

    from deepscaler_grpo.reward.scoring import completion_text, score_batch

    results: list[dict[str, Any]] = []
    with tqdm(total=len(rows), desc="scoring", unit="row", disable=not progress) as bar:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            texts = [completion_text(lookup(r, response_key)) for r in batch]
            truths = [lookup(r, answer_key) for r in batch]
            results += score_batch(texts, truths, boxed_fallback, timeout_s)
            bar.update(len(batch))
    return results




def print_summary(summary: dict[str, Any], output: Path, summary_path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="verifier scores")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("rows", "correct", "accuracy", "format_rate", "no_answer", "timeouts", "rejected", "rows_per_s"):
        value = summary[key]
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) and key != "rows_per_s" else str(value))
    table.add_row("methods", ", ".join(f"{k}={v}" for k, v in sorted(summary["methods"].items())))
    console = Console()
    console.print(table)
    console.print(f"scores: {output}\nsummary: {summary_path}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.timeout <= 0 or args.batch_size < 1:
            raise ScoreError("--timeout must be > 0 and --batch-size >= 1")
        rows = read_rows(args.input)
        response_key = resolve_key(rows, args.response_key, RESPONSE_KEYS, "response", "--response-key")
        answer_key = resolve_key(rows, args.answer_key, ANSWER_KEYS, "ground-truth", "--answer-key")
    except ScoreError as exc:
        print(f"deepscaler-grpo score: error: {exc}", file=sys.stderr)
        return 2
    stem = args.input.with_suffix("")
    output = args.output or stem.with_name(stem.name + ".scored.jsonl")
    summary_path = args.summary or stem.with_name(stem.name + ".summary.json")
    start = time.monotonic()
    results = score_rows(rows, response_key, answer_key, not args.no_boxed_fallback, args.timeout,
                         args.batch_size, not args.no_progress)
    summary = summarize(results, time.monotonic() - start)
    lines = [json.dumps({**row, **result}, ensure_ascii=False, default=str) for row, result in zip(rows, results)]
    atomic_write_text(output, "\n".join(lines) + "\n")
    atomic_write_text(summary_path, json.dumps(summary, indent=2) + "\n")
    print_summary(summary, output, summary_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
