"""What each ``VerifierPolicy.decimal_digits`` setting does: false positives against false negatives.

Rounded decimals are built for every exact non-terminating gold in ../shared/data/deepscaler (fractions such
as ``\\frac{2}{7}`` and irrational values such as ``2\\sqrt{3}``, evaluated from the trusted gold), at 2 to 8
significant digits, plain and in scientific notation, plus near misses (one unit off in the last place,
truncated instead of rounded). Labels never depend on the setting being measured:

- near misses are wrong;
- a correctly rounded decimal is wrong when the question asks for an exact form (``common fraction``,
  ``simplest radical form``, ``in terms of \\pi``, ``exact``): accepting it is a false positive a policy learns;
- for questions that say nothing, two readings are counted: *exact answers expected* (the competition
  convention of these datasets: any accepted decimal is a false positive) and *a correct value is correct*
  (a lenient judge: every rejected correctly rounded decimal is a false negative).

The third set is the hand-labelled ``decimal_policy`` class of ``verifier_independent.jsonl`` (its labels
were written for a lenient 3-digit reading).

    python benchmarks/decimal_policy.py --max-golds 300 --settings 0 3 4 5 6
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from deepscaler_grpo.reward import VerifierPolicy, check, extract_answer, get_pool, gold_strings
from deepscaler_grpo.reward.decimals import terminates

FILES = ["test_math.json", "test_olympiad_bench.json", "test_minerva.json", "test_amc.json", "test_aime.json",
         "train_math.json"]
EXACT_FORM_RE = re.compile(r"common fraction|radical form|in terms of|exact|simplest form|as a fraction|"
                           r"reduced fraction|mixed number", re.IGNORECASE)
APPROX_RE = re.compile(r"nearest|decimal|approximat|round|significant|estimate", re.IGNORECASE)


def exact_value(gold: str) -> Fraction | None:
    """A 40-digit value of an exact non-terminating numeric gold (fraction or irrational), else None."""
    from deepscaler_grpo.reward.latex import parse_latex_answer

    if re.search(r"\d\.\d|[a-zA-Z](?<!\\[a-z])", re.sub(r"\\(?:frac|sqrt|pi|dfrac|cdot|left|right)", "", gold)):
        return None  # decimals, variables, words
    try:
        parsed = parse_latex_answer(gold)
        value = parsed[0] if parsed else None
        if value is None or isinstance(value, str) or not value.is_number or not value.is_real or value == 0:
            return None
        if value.is_rational:
            exact = Fraction(int(value.p), int(value.q))
            return None if terminates(exact) else exact
        return Fraction(str(value.evalf(40)))
    except Exception:  # noqa: BLE001 - any gold sympy cannot read is skipped
        return None


def rounded(value: Fraction, digits: int) -> str:
    """``value`` rounded to ``digits`` significant digits, written as a plain decimal."""
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):.{digits}g}"
    return format(Decimal(text), "f")


def scientific(value: Fraction, digits: int) -> str:
    mantissa, exponent = f"{float(value):.{digits - 1}e}".split("e")
    return f"{mantissa}\\times10^{{{int(exponent)}}}"


def one_unit_up(decimal: str) -> str:
    value = Decimal(decimal)
    return str(value + Decimal((0, (1,), value.as_tuple().exponent)))


def truncated(value: Fraction, digits: int) -> str | None:
    text = rounded(value, digits + 3)
    cut = re.match(r"-?0\.0*\d{%d}|-?\d+\.\d*?(?=\d{3}$)" % digits, text)
    return cut.group(0) if cut and cut.group(0) != rounded(value, digits) and "." in cut.group(0) else None


def question_kind(problem: str) -> str:
    return "exact form asked" if EXACT_FORM_RE.search(problem) else "decimal asked" if APPROX_RE.search(
        problem) else "silent"


def build(data_dir: Path, max_golds: int, rng: random.Random) -> list[tuple[str, str, str, bool, str]]:
    """(gold, pred, question kind, correctly rounded, form) rows."""
    problems = [(r["problem"], gold_strings(r["answer"])[0]) for name in FILES
                for r in json.loads((data_dir / name).read_text()) if gold_strings(r.get("answer"))]
    rng.shuffle(problems)
    rows = []
    for problem, gold in problems:
        value = exact_value(gold)
        if value is None:
            continue
        kind = question_kind(problem)
        for digits in (2, 3, 4, 5, 6, 8):
            rows.append((gold, rounded(value, digits), kind, True, f"{digits} digits"))
        rows.append((gold, scientific(value, 5), kind, True, "scientific 5 digits"))
        rows.append((gold, one_unit_up(rounded(value, 4)), kind, False, "one unit off"))
        cut = truncated(value, 4)
        rows += [(gold, cut, kind, False, "truncated")] if cut else []
        if len({r[0] for r in rows}) >= max_golds:
            break
    return rows


def measure(rows: list, settings: list[int]) -> None:
    from rich.console import Console
    from rich.table import Table

    kinds = Counter((r[2], r[3]) for r in rows)
    table = Table(title=f"{len({r[0] for r in rows})} exact golds, {len(rows)} decimal answers: accepted per setting")
    table.add_column("answers", min_width=46)
    table.add_column("n", justify="right")
    for setting in settings:
        table.add_column(f"digits={setting}", justify="right")
    accepted = {s: Counter() for s in settings}
    for setting in settings:
        policy = VerifierPolicy(decimal_digits=setting)
        for gold, pred, kind, right, _form in rows:
            accepted[setting][(kind, right)] += check(pred, gold, policy=policy).correct
    for kind, right in sorted(kinds):
        label = f"{'correctly rounded' if right else 'near miss'}; question: {kind}"
        table.add_row(label, str(kinds[(kind, right)]), *(str(accepted[s][(kind, right)]) for s in settings))
    Console().print(table)


def independent(path: Path, settings: list[int]) -> None:
    cases = [json.loads(line) for line in path.read_text().splitlines() if '"decimal_policy"' in line]
    for setting in settings:
        policy = VerifierPolicy(decimal_digits=setting)
        verdicts = [(check(extract_answer(c["response"]), c["gold"], policy=policy).correct, c["label"]) for c in cases]
        fp = sum(v and not label for v, label in verdicts)
        fn = sum(label and not v for v, label in verdicts)
        print(f"hand-labelled decimal class ({len(cases)} cases, lenient labels): digits={setting}: FP {fp}, FN {fn}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
                        / "deepscaler")
    parser.add_argument("--max-golds", type=int, default=300)
    parser.add_argument("--settings", type=int, nargs="+", default=[0, 3, 4, 5, 6])
    args = parser.parse_args()
    get_pool().warm_up()
    measure(build(args.data_dir, args.max_golds, random.Random(0)), args.settings)
    independent(Path(__file__).with_name("verifier_independent.jsonl"), args.settings)


if __name__ == "__main__":
    main()
