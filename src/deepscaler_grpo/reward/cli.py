"""``deepscaler-grpo score INPUT.jsonl``: score model responses against ground truths with the verifier.

Each input line is a JSON object with a response (keys tried per row: response, completion, output,
solution_str, or --response-key; a string or a list of chat messages) and a ground truth, read per row by
the project's row contract (``deepscaler_grpo.problems.accepted_answers``: reward_model.ground_truth with
every accepted answer first, then ground_truth, answer, ...; or --answer-key). Writes every row
plus ``score``/``acc``/``pred``/``format``/``method`` to OUTPUT (default INPUT.scored.jsonl) and a
summary (accuracy, format rate, counts, timeouts, the ``VerifierPolicy`` used) to SUMMARY (default
INPUT.summary.json), and prints the summary as a table. The question of each row (problem, question, or
--question-key) tells the verifier when an order is asked for. Policy flags default to
``VerifierPolicy.from_env()``.

    deepscaler-grpo score responses.jsonl --timeout 5 --decimal-digits 0
    python -m deepscaler_grpo.reward.cli responses.jsonl --response-key text --answer-key gold
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from deepscaler_grpo.console import interactive
from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.io import write_json, write_jsonl
from deepscaler_grpo.problems import ANSWER_KEYS, MISSING, PROBLEM_KEYS, accepted_answers, ground_truth, lookup
from deepscaler_grpo.reward.policy import VerifierPolicy

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
    parser.add_argument("--question-key", help="key of the question (default: first of "
                        f"{', '.join(PROBLEM_KEYS)}; none: no question-dependent grading)")
    add_policy_arguments(parser)
    parser.add_argument("--no-boxed-fallback", action="store_true", help="only <answer> tags count, not \\boxed{}")
    parser.add_argument("--batch-size", type=int, default=256, help="rows scored in parallel per batch (default 256)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags for the ``VerifierPolicy`` fields; unset ones keep ``VerifierPolicy.from_env()``'s values."""
    group = parser.add_argument_group("verifier policy (defaults: VerifierPolicy.from_env())")
    group.add_argument("--timeout", dest="timeout_s", type=float, help="seconds per answer for symbolic checks (5)")
    group.add_argument("--decimal-digits", type=int, help="significant digits for a rounded decimal to equal an "
                       "exact value (0: strict, never)")
    group.add_argument("--workers", type=int, help="worker processes for symbolic checks (default: by CPU count)")
    group.add_argument("--max-memory-mb", type=int, help="memory cap per worker process in MiB (3072)")
    group.add_argument("--no-units", dest="units", action="store_false", default=None,
                       help="strip units unread instead of requiring both sides' units to agree")
    group.add_argument("--no-order-from-prompt", dest="order_from_prompt", action="store_false", default=None,
                       help="compare bare lists unordered even when the question asks for an order")
    group.add_argument("--strict", action="store_true", help="start from VerifierPolicy.strict() (no approximations)")


def policy_from_args(args: argparse.Namespace) -> VerifierPolicy:
    """The policy the flags ask for; a bad value is a ScoreError that names the flag's fix."""
    fields = {name: getattr(args, name) for name in ("timeout_s", "decimal_digits", "workers", "max_memory_mb",
                                                     "units", "order_from_prompt") if getattr(args, name) is not None}
    try:
        base = VerifierPolicy.strict() if args.strict else VerifierPolicy.from_env()
        return dataclasses.replace(base, **fields)
    except ValueError as exc:
        raise ScoreError(f"{exc} (set with the matching --flag)") from exc


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


def row_question(row: dict[str, Any], explicit: str | None) -> str | None:
    """The question of one row (``explicit``, else the first of PROBLEM_KEYS it has), or None."""
    from deepscaler_grpo.reward.scoring import prompt_text

    for key in (explicit,) if explicit else PROBLEM_KEYS:
        value = lookup(row, key)
        if value is not MISSING and value is not None:
            return prompt_text(value)
    return None


def score_rows(responses: list[Any], truths: list[Any], questions: list[str | None], boxed_fallback: bool,
               policy: VerifierPolicy, batch_size: int, progress: bool) -> list[dict[str, Any]]:
    from tqdm import tqdm

    from deepscaler_grpo.reward.scoring import completion_text, score_batch

    results: list[dict[str, Any]] = []
    with tqdm(total=len(responses), desc="scoring", unit="row", disable=not progress) as bar:
        for start in range(0, len(responses), batch_size):
            texts = [completion_text(r) for r in responses[start : start + batch_size]]
            results += score_batch(texts, truths[start : start + batch_size], boxed_fallback, policy=policy,
                                   questions=questions[start : start + batch_size])
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
    from deepscaler_grpo.outputs import check_output_file, writing

    args = build_parser().parse_args(argv)
    stem = args.input.with_suffix("")
    try:
        if (args.timeout_s is not None and args.timeout_s <= 0) or args.batch_size < 1:
            raise ScoreError("--timeout must be > 0 and --batch-size >= 1")
        # where the results go is checked before any scoring (a folder or an unwritable place fails now, not after)
        output = check_output_file(args.output or stem.with_name(stem.name + ".scored.jsonl"), "--output")
        summary_path = check_output_file(args.summary or stem.with_name(stem.name + ".summary.json"), "--summary")
        policy = policy_from_args(args)
        rows = read_rows(args.input)
        responses = [row_response(row, i, args.response_key) for i, row in enumerate(rows, 1)]
        truths = [row_truth(row, i, args.answer_key) for i, row in enumerate(rows, 1)]
        start = time.monotonic()
        questions = [row_question(row, args.question_key) for row in rows]
        results = score_rows(responses, truths, questions, not args.no_boxed_fallback, policy, args.batch_size,
                             not args.no_progress and interactive())
        summary = {**summarize(results, time.monotonic() - start), "policy": policy.as_dict()}
        with writing(output, "--output"):
            write_jsonl(output, [{**row, **result} for row, result in zip(rows, results, strict=True)])
            write_json(summary_path, summary)
    except UserError as exc:
        return report_error("score", exc)
    print_summary(summary, output, summary_path)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
