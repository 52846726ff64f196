"""The demo's own math problems in the DeepScaleR format, and the careless teacher of its warm start.

``deepscaler-grpo demo`` needs a task that a tiny model learns on two CPU cores in minutes and on which
GRPO visibly helps. Four families of one-step problems, with answers that are integers, negatives,
fractions and decimals:

* ``opposite``: "What is the opposite of -3/4?" -> ``3/4``
* ``larger``:   "Which is larger, -2.5 or 17/3?" -> ``17/3`` (one number negative, one positive)
* ``fraction``: "Write -5 divided by 12 as a fraction." -> ``-5/12``
* ``add_zero``: "What is 0 plus 41?" -> ``41``

The supervised warm start imitates a careless teacher (:func:`teacher_answer`): for the first three
families it often gives the classic mistake instead (forgets to flip the sign, picks the first number,
turns the fraction upside down). The warmed-up model therefore answers in the right format but is often
wrong, while the right answer is among its samples: exactly the situation where GRPO with a verifiable
reward improves accuracy. ``add_zero`` is always answered correctly and checks that GRPO keeps what works.

    python -m deepscaler_grpo.demo.problems OUT_DIR     # writes OUT_DIR/train.json and OUT_DIR/heldout.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

FAMILIES = ("opposite", "larger", "fraction", "add_zero")
ANSWER_TYPES = ("integer", "negative", "fraction", "decimal")


@dataclass(frozen=True)
class DemoProblem:
    """One problem: the DeepScaleR columns plus the family and the teacher's typical mistake."""

    problem: str
    answer: str
    solution: str
    family: str
    mistake: str  # what the careless teacher writes when it errs (equals ``answer`` when it cannot err)


def random_number(rng: random.Random) -> str:
    """A signed integer (up to 99: one token each, easy to copy), one-decimal number or fraction, as text."""
    sign = rng.choice(("", "-"))
    kind = rng.choice(("integer", "decimal", "fraction"))
    if kind == "integer":
        return f"{sign}{rng.randint(1, 99)}"
    if kind == "decimal":
        return f"{sign}{rng.randint(0, 99)}.{rng.randint(1, 9)}"
    numerator, denominator = coprime_pair(rng)
    return f"{sign}{numerator}/{denominator}"


def coprime_pair(rng: random.Random, top: int = 30) -> tuple[int, int]:
    """(a, b) with 1 <= a <= top, 2 <= b <= top and gcd 1, so a/b is already in lowest terms."""
    while True:
        a, b = rng.randint(1, top), rng.randint(2, top)
        if math.gcd(a, b) == 1:
            return a, b


def negate(number: str) -> str:
    """The opposite of a number written as text ("-3/4" <-> "3/4")."""
    return number[1:] if number.startswith("-") else f"-{number}"


def make_problem(rng: random.Random, family: str) -> DemoProblem:
    """A random problem of ``family`` (one of FAMILIES)."""
    if family == "opposite":
        x = random_number(rng)
        answer = negate(x)
        return DemoProblem(f"What is the opposite of {x}?", answer, f"The opposite of {x} is {answer}.", family, x)
    if family == "larger":  # one negative, one positive number: the sign decides
        positive, negative = random_number(rng).lstrip("-"), "-" + random_number(rng).lstrip("-")
        x, y = (positive, negative) if rng.random() < 0.5 else (negative, positive)
        problem = f"Which is larger, {x} or {y}?"
        return DemoProblem(problem, positive, f"{positive} is positive and {negative} is negative.", family, x)
    if family == "fraction":
        a, b = coprime_pair(rng)
        sign = rng.choice(("", "-"))
        answer = f"{sign}{a}/{b}"
        problem = f"Write {sign}{a} divided by {b} as a fraction."
        return DemoProblem(problem, answer, f"{sign}{a} over {b} is {answer}.", family, f"{sign}{b}/{a}")
    if family == "add_zero":
        x = random_number(rng)
        return DemoProblem(f"What is 0 plus {x}?", x, f"Adding 0 changes nothing: {x}.", family, x)
    raise ValueError(f"unknown problem family {family!r}; choose from {', '.join(FAMILIES)}")


def make_problem_set(
    num_train: int, num_heldout: int, seed: int = 0, families: Sequence[str] = FAMILIES
) -> tuple[list[DemoProblem], list[DemoProblem]]:
    """Disjoint train and held-out problems, families in equal turns; deterministic for a seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    problems: list[DemoProblem] = []
    total = num_train + num_heldout
    for index in range(total):
        family = families[index % len(families)]
        for _ in range(1000):  # the spaces hold thousands of problems; a bound keeps a bad request finite
            candidate = make_problem(rng, family)
            if candidate.problem not in seen:
                break
        else:
            raise ValueError(f"cannot draw {total} distinct problems; ask for fewer")
        seen.add(candidate.problem)
        problems.append(candidate)
    train, heldout = problems[:num_train], problems[num_train:]
    rng.shuffle(train)
    rng.shuffle(heldout)
    return train, heldout


def answer_kind(answer: str) -> str:
    """integer / negative / fraction / decimal (fractions and decimals of either sign)."""
    if "/" in answer:
        return "fraction"
    if "." in answer:
        return "decimal"
    return "negative" if answer.startswith("-") else "integer"


def answer_type_counts(problems: Iterable[DemoProblem]) -> dict[str, int]:
    """How many answers of each ANSWER_TYPES kind (all kinds listed, zeros included)."""
    counts = Counter(answer_kind(p.answer) for p in problems)
    return {kind: counts.get(kind, 0) for kind in ANSWER_TYPES}


def teacher_answer(problem: DemoProblem, rng: random.Random, mistake_rate: float) -> str:
    """The careless teacher: the typical mistake with probability ``mistake_rate``, else the answer."""
    return problem.mistake if rng.random() < mistake_rate else problem.answer


def format_completion(answer: str) -> str:
    """The assistant turn the warm start teaches (the format the reward's extractor reads)."""
    return f"<answer>{answer}</answer>"


def write_problems(problems: Sequence[DemoProblem], path: str | Path) -> Path:
    """DeepScaleR-format JSON (problem / answer / solution, plus family) written atomically."""
    from deepscaler_grpo.io import atomic_write_text

    rows = [{k: v for k, v in asdict(p).items() if k != "mistake"} for p in problems]
    return atomic_write_text(path, json.dumps(rows, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepscaler_grpo.demo.problems", description=__doc__.splitlines()[0])
    parser.add_argument("output_dir")
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--heldout", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train, heldout = make_problem_set(args.train, args.heldout, args.seed)
    for name, rows in (("train", train), ("heldout", heldout)):
        print(write_problems(rows, Path(args.output_dir) / f"{name}.json"), answer_type_counts(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
