"""Benchmark: this verifier vs math-verify on labelled sets, and its worst in-process time.

Part one, rewrites of the shared golds: every gold answer in ../shared/data/deepscaler rewritten into
equivalent and non-equivalent forms (``verifier_cases``: spellings, model-style classes, near misses),
labelled without the verifier. Both verifiers get the same extracted answer (``extract_answer``);
math-verify runs with its default parse/verify settings.

Part two, independent: ``verifier_independent.jsonl``, labelled pairs written by hand from model-style
answers for the classes of issue 12 (labelled lists, variables that look like units, regions, ``$,$`` golds,
functions and labels, spellings, vectors / complex / trigonometry, mixed numbers / units / clock times,
positive symbols, renamed parameters, decimals) and issue 20 (prose, equations and labels, several answers,
huge numbers, logarithms and general solutions, angles, order and units), not derived from the shared golds
nor copied from the unit tests, with an accuracy per class.

Part three times the worst case: the in-process (CPU) time of grading each of ``reward.adversarial``'s
responses (open and nested commands, long digit strings, repeated tags, megabyte inputs) against a few golds.

    python benchmarks/verifier.py                      # all three parts
    python benchmarks/verifier.py --max-golds 300      # quicker
    python benchmarks/verifier.py --part independent   # the hand-written pairs only
    python benchmarks/verifier.py --show-errors 20     # print this verifier's FP/FN examples
    python benchmarks/verifier.py --adversarial-size 0 # skip the adversarial timing part
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from verifier_cases import Case, build_cases, load_golds, load_independent

from deepscaler_grpo.reward import VerifierPolicy, check, extract_answer, get_pool, gold_strings
from deepscaler_grpo.reward.adversarial import adversarial_responses, in_process_seconds

POLICY = VerifierPolicy()  # replaced in main() when --decimal-digits is given

def ours(pred: str | None, case: Case) -> tuple[bool, bool]:
    verdict = check(pred, case.gold, policy=case.policy or POLICY, question=case.question)
    return verdict.correct, verdict.method == "timeout"


def math_verify_baseline(pred: str | None, case: Case) -> tuple[bool, bool]:
    from math_verify import parse, verify

    if pred is None:
        return False, False
    start = time.monotonic()
    parsed_pred = parse("\\boxed{" + pred + "}")
    correct = any(verify(parse("\\boxed{" + g + "}"), parsed_pred) for g in gold_strings(case.gold))
    return correct, time.monotonic() - start >= 5.0  # its own 5 s signal timeouts return False


@dataclass
class Stats:
    correct: int = 0
    false_pos: int = 0
    false_neg: int = 0
    timeouts: int = 0
    total_s: float = 0.0


def run(name: str, grade: Callable[[str | None, Case], tuple[bool, bool]], cases: list[Case]) -> dict:
    latencies, errors, by_class = [], [], Counter()
    stats = Stats()
    class_time: Counter = Counter()
    for case in cases:
        start = time.perf_counter()
        pred = extract_answer(case.response)
        result, timed_out = grade(pred, case)
        elapsed = time.perf_counter() - start
        latencies.append(elapsed)
        class_time[case.gold_class] += elapsed
        by_class[case.gold_class] += 1
        stats.timeouts += timed_out
        if result == case.label:
            stats.correct += 1
        else:
            stats.false_pos += result and not case.label
            stats.false_neg += case.label and not result
            errors.append((case, pred, result))
    stats.total_s = sum(latencies)
    ordered = sorted(latencies)
    return {
        "name": name,
        "accuracy": stats.correct / len(cases),
        "false_pos": stats.false_pos,
        "false_neg": stats.false_neg,
        "timeouts": stats.timeouts,
        "answers_per_s": len(cases) / stats.total_s,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "max_ms": 1000 * ordered[-1],
        "int_per_s": by_class["integer"] / class_time["integer"] if class_time["integer"] else 0.0,
        "frac_per_s": by_class["fraction"] / class_time["fraction"] if class_time["fraction"] else 0.0,
        "errors": errors,
    }


def print_table(results: list[dict], cases: list[Case], part: str) -> None:
    from rich.console import Console
    from rich.table import Table

    labels = Counter(c.label for c in cases)
    classes = Counter(c.gold_class for c in cases)
    table = Table(title=f"{part}: {len(cases)} cases ({labels[True]} equivalent, {labels[False]} not); "
                  f"integer {classes['integer']}, fraction {classes['fraction']}")
    table.add_column("metric")
    for result in results:
        table.add_column(result["name"], justify="right")
    rows = [("accuracy", "{:.4f}"), ("false_pos", "{}"), ("false_neg", "{}"), ("timeouts", "{}"),
            ("answers_per_s", "{:.0f}"), ("p50_ms", "{:.3f}"), ("p99_ms", "{:.2f}"), ("max_ms", "{:.1f}"),
            ("int_per_s", "{:.0f}"), ("frac_per_s", "{:.0f}")]
    for key, fmt in rows:
        table.add_row(key, *(fmt.format(r[key]) for r in results))
    base, mine = results[1], results[0]
    table.add_row("speed-up int / frac", f"{mine['int_per_s'] / max(base['int_per_s'], 1e-9):.1f}x / "
                  f"{mine['frac_per_s'] / max(base['frac_per_s'], 1e-9):.1f}x", "1x")
    if part.startswith("independent"):
        table.caption = ("integer/fraction golds here are mostly answered in forms that need the symbolic grader "
                         "(i^4, b_{max} = 4, 2 3/4): the throughput criterion is the rewrites part's")
    Console().print(table)


def print_by_kind(results: list[dict], cases: list[Case]) -> None:
    """Accuracy per answer class (the independent part's ``class`` column)."""
    from rich.console import Console
    from rich.table import Table

    totals = Counter(c.kind for c in cases)
    table = Table(title="independent part: accuracy by class")
    table.add_column("class")
    table.add_column("cases", justify="right")
    for result in results:
        table.add_column(result["name"], justify="right")
    wrong = [Counter(case.kind for case, _, _ in result["errors"]) for result in results]
    for kind, total in sorted(totals.items()):
        table.add_row(kind, str(total), *(f"{1 - w[kind] / total:.2f}" for w in wrong))
    Console().print(table)


def print_errors(result: dict, limit: int) -> None:
    kinds = Counter((c.label, c.kind) for c, _, _ in result["errors"])
    print(f"\n{result['name']} errors by (label, rewrite): {dict(kinds.most_common())}")
    for case, pred, got in result["errors"][:limit]:
        truth = gold_strings(case.gold)
        print(f"  [{'FN' if case.label else 'FP'} {case.kind}] gold={truth!r} pred={pred!r} -> {got}")


def evaluate(part: str, cases: list[Case], args: argparse.Namespace) -> list[dict]:
    """Both verifiers on one part's cases; the table (and per-class table for the independent part)."""
    results = [run("deepscaler_grpo", ours, cases)]
    if not args.skip_math_verify:
        results.append(run("math-verify", math_verify_baseline, cases))
        print_table(results, cases, part)
        if part.startswith("independent"):
            print_by_kind(results, cases)
    for result in results:
        print_errors(result, args.show_errors)
    return results


ADVERSARIAL_GOLDS = ["1", "x^2+1", "(1, 3]", "40 \\text{ apples}, 60 \\text{ pears}", "\\frac{\\sqrt{3}}{2}"]


def print_adversarial(size: int) -> None:
    """The worst in-process (CPU) time of one answer over ``reward.adversarial``'s responses of ``size`` chars."""
    from rich.console import Console
    from rich.table import Table

    times = sorted(((in_process_seconds(text, gold, policy=POLICY), name, len(text), gold)
                    for name, text in adversarial_responses(size) for gold in ADVERSARIAL_GOLDS), reverse=True)
    table = Table(title=f"adversarial responses: {len(times)} (response x gold), up to {size:,} characters; "
                  "in-process CPU time per answer (target: <= 50 ms per MB, worst <= 0.1 s)")
    for column in ("response", "chars", "gold", "in-process ms"):
        table.add_column(column, justify="right" if column in ("chars", "in-process ms") else "left")
    for seconds, name, chars, gold in times[:5]:
        table.add_row(name, f"{chars:,}", gold, f"{1000 * seconds:.2f}")
    table.caption = f"worst {1000 * times[0][0]:.2f} ms; median {1000 * times[len(times) // 2][0]:.3f} ms"
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    global POLICY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_dir = Path(__file__).resolve().parents[2] / "shared" / "data" / "deepscaler"
    parser.add_argument("--data-dir", type=Path, default=default_dir)
    parser.add_argument("--independent", type=Path, default=Path(__file__).with_name("verifier_independent.jsonl"),
                        help="hand-written labelled pairs (the independent part)")
    parser.add_argument("--part", choices=["rewrites", "independent", "both"], default="both")
    parser.add_argument("--max-golds", type=int, default=None, help="sample this many gold answers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show-errors", type=int, default=10, help="examples of each verifier's errors to print")
    parser.add_argument("--skip-math-verify", action="store_true")
    parser.add_argument("--decimal-digits", type=int, default=None,
                        help=f"VerifierPolicy.decimal_digits for this run (default {POLICY.decimal_digits})")
    parser.add_argument("--adversarial-size", type=int, default=1_000_000,
                        help="characters per adversarial response (0: skip that part)")
    args = parser.parse_args(argv)
    if args.decimal_digits is not None:
        POLICY = VerifierPolicy(decimal_digits=args.decimal_digits)
    get_pool().warm_up()  # worker start-up is not per-answer latency
    if args.part in ("rewrites", "both"):
        if not (args.data_dir / "test_math.json").exists():
            print(f"data not found in {args.data_dir}; pass --data-dir", file=sys.stderr)
            return 2
        rng = random.Random(args.seed)
        cases = build_cases(load_golds(args.data_dir, args.max_golds, rng), rng, POLICY.decimal_digits)
        random.Random(args.seed).shuffle(cases)
        evaluate("rewrites of the shared golds", cases, args)
    if args.part in ("independent", "both"):
        evaluate("independent hand-written pairs", load_independent(args.independent), args)
    if args.adversarial_size:
        print_adversarial(args.adversarial_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
